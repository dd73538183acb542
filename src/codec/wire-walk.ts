import type { Reader } from "./reader.js";
import { Work } from "./work.js";

/**
 * A message as {@link walkWire} sees it: the weight of its object and its
 * fields by number. Tools that decode with another library (protobufjs in
 * `SchemaDecoder`, protobuf-es in the CLI's operations) describe their
 * schema this way, so their reads are charged like generated decoders'.
 */
export interface WireShape {
  /** Work units of a new object of this message (`objectWeight`). */
  readonly weight: number;
  /** The field with this number; undefined for a field this schema does not know. */
  field(number: number): WireField | undefined;
}

/** One field of a {@link WireShape}: what its values are on the wire. */
export type WireField =
  /** Varint (0), fixed64 (1) or fixed32 (5) values; repeated ones may also come packed. */
  | { readonly kind: "scalar"; readonly wire: 0 | 1 | 5; readonly packable: boolean }
  | { readonly kind: "string" }
  | { readonly kind: "bytes" }
  | { readonly kind: "message"; readonly shape: () => WireShape }
  | { readonly kind: "map"; readonly key: WireField; readonly value: WireField };

/**
 * Walks a payload of `shape` from `r.pos` to `end` without building
 * anything, charging `r`'s work budget what the generated decoder of the
 * same message would (fields, packed elements, map entries, objects,
 * string and bytes lengths, kept unknown fields; the well-known Struct,
 * Value and ListValue, which runtime codecs decode, approximately) and
 * checking what it checks (lengths, UTF-8, nesting, groups). Throws `WorkBudgetError` past the budget and
 * `WireError` on malformed bytes; a caller that then decodes with another
 * library knows the value is within its budget. Leaves `r.pos` at `end`.
 */
export function walkWire(r: Reader, end: number, shape: WireShape): void {
  r.enter(shape.weight);
  let unknown = false;
  while (r.pos < end) {
    const tag = r.tag();
    const field = shape.field(tag >>> 3);
    if (field === undefined || !walkValue(r, tag, field)) {
      r.skipField(tag);
      unknown = true;
    }
  }
  // A generated decoder keeps a message's unknown fields in a Uint8Array of its own, charged as a bytes value.
  if (unknown) r.charge(Work.bytesValue);
  r.leave(end);
}

/** One value of `field` with this tag; false when the wire type is not the field's (the value is then skipped as unknown). */
function walkValue(r: Reader, tag: number, field: WireField): boolean {
  const wire = tag & 7;
  switch (field.kind) {
    case "scalar":
      if (wire === field.wire) {
        r.skipField(tag);
        return true;
      }
      if (wire !== 2 || !field.packable) return false;
      r.pos = r.packed(field.wire === 0 ? 0 : field.wire === 1 ? 8 : 4);
      return true;
    case "string":
      if (wire !== 2) return false;
      r.string();
      return true;
    case "bytes": {
      if (wire !== 2) return false;
      const e = r.end();
      r.charge(Work.bytesValue + Math.floor((e - r.pos) / Work.copiedBytesPerUnit));
      r.pos = e;
      return true;
    }
    case "message":
      if (wire !== 2) return false;
      walkWire(r, r.end(), field.shape());
      return true;
    case "map": {
      if (wire !== 2) return false;
      const e = r.entry(Work.mapEntry);
      let value = false;
      while (r.pos < e) {
        const t = r.tag();
        const n = t >>> 3;
        const inner = n === 1 ? field.key : n === 2 ? field.value : undefined;
        if (inner === undefined || !walkValue(r, t, inner)) r.skipField(t);
        else if (n === 2) value = true;
      }
      r.check(e);
      // An entry without its message value gets a new object, as generated decoders charge it.
      if (!value && field.value.kind === "message") r.charge(field.value.shape().weight);
      return true;
    }
  }
}
