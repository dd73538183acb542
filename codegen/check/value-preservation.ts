import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { closureOf } from "../closure.js";
import type { SourceLocation } from "../errors.js";
import type { Finding } from "./finding.js";

/**
 * protocache's value-preservation rule, beside buf's `WIRE` rules: inside a
 * major, a field's type may change only if every value the old type can
 * hold reads back equal under the new type. buf accepts any change that
 * still *parses* (`int64 → int32`, `int32 → uint32`, `optional` ↔ implicit);
 * a cache must also keep what the bytes *mean*, because a changed value is
 * read as a hit (no error, no miss) and write-back stores it over the
 * original.
 *
 * The verdicts are derived from a model of the wire encoding (which bits a
 * writer of the old type puts on the wire, which value a reader of the new
 * type takes from them), not listed: a type change keeps every value when
 * both types share an encoding and the old type's values are a subset of
 * the new type's. `test/ci-gate/value-oracle.test.ts` proves the model
 * against the generated codecs, pair by pair.
 */

/** How a type's values are put on the wire. */
type Encoding =
  | "varint" // two's complement, 64 bits: int32, int64, uint32, uint64, bool, enum
  | "zigzag" // sint32, sint64
  | "fixed32" // fixed32, sfixed32 (integers)
  | "fixed64" // fixed64, sfixed64 (integers)
  | "float" // float: 4 bytes, IEEE 754
  | "double" // double: 8 bytes, IEEE 754
  | "string"
  | "bytes"
  | "message";

/** One field value's type as the rule sees it. */
export interface ValueType {
  /** As buf and `.proto` spell it: `int64`, `enum acme.Kind`, `message acme.Line`. */
  readonly name: string;
  readonly encoding: Encoding;
  /** Integer types: the inclusive range of values a writer can put in the field. */
  readonly min?: bigint;
  readonly max?: bigint;
}

const i32: [bigint, bigint] = [-(2n ** 31n), 2n ** 31n - 1n];
const i64: [bigint, bigint] = [-(2n ** 63n), 2n ** 63n - 1n];
const u32: [bigint, bigint] = [0n, 2n ** 32n - 1n];
const u64: [bigint, bigint] = [0n, 2n ** 64n - 1n];

function integer(name: string, encoding: Encoding, [min, max]: [bigint, bigint]): ValueType {
  return { name, encoding, min, max };
}

const scalarTypes: Record<ScalarType, ValueType> = {
  [ScalarType.INT32]: integer("int32", "varint", i32),
  [ScalarType.INT64]: integer("int64", "varint", i64),
  [ScalarType.UINT32]: integer("uint32", "varint", u32),
  [ScalarType.UINT64]: integer("uint64", "varint", u64),
  [ScalarType.BOOL]: integer("bool", "varint", [0n, 1n]),
  [ScalarType.SINT32]: integer("sint32", "zigzag", i32),
  [ScalarType.SINT64]: integer("sint64", "zigzag", i64),
  [ScalarType.FIXED32]: integer("fixed32", "fixed32", u32),
  [ScalarType.SFIXED32]: integer("sfixed32", "fixed32", i32),
  [ScalarType.FIXED64]: integer("fixed64", "fixed64", u64),
  [ScalarType.SFIXED64]: integer("sfixed64", "fixed64", i64),
  [ScalarType.FLOAT]: { name: "float", encoding: "float" },
  [ScalarType.DOUBLE]: { name: "double", encoding: "double" },
  [ScalarType.STRING]: { name: "string", encoding: "string" },
  [ScalarType.BYTES]: { name: "bytes", encoding: "bytes" },
};

/** The type of a scalar. */
export function scalarValueType(scalar: ScalarType): ValueType {
  return scalarTypes[scalar];
}

/** An open (proto3) enum field holds any int32 number, named or not, and writes it like an int32. */
export function enumValueType(typeName: string): ValueType {
  return integer(`enum ${typeName}`, "varint", i32);
}

/** A message-typed value. */
export function messageValueType(typeName: string): ValueType {
  return { name: `message ${typeName}`, encoding: "message" };
}

/** What a type change does to the values already cached. */
export type ValueVerdict =
  | { readonly kind: "kept" }
  /** `example` is a sentence about one cached value, e.g. "a cached 5000000000 reads as 705032704". */
  | { readonly kind: "changed"; readonly example: string }
  /** Not decided here: buf's rules refuse the change (another message type, another wire type). */
  | { readonly kind: "buf" };

const kept: ValueVerdict = { kind: "kept" };

/** Whether every value of `from` reads back equal as `to`, and if not, a cached value that does not. */
export function compareValueTypes(from: ValueType, to: ValueType): ValueVerdict {
  if (from.name === to.name) return kept;
  if (wireType(from) !== wireType(to)) return { kind: "buf" };
  if (from.min !== undefined && to.min !== undefined) {
    if (from.encoding === to.encoding && from.min >= to.min && (from.max as bigint) <= (to.max as bigint)) return kept;
    return { kind: "changed", example: integerExample(from, to) };
  }
  switch (`${from.encoding} ${to.encoding}`) {
    case "string bytes": // the bytes read are the string's UTF-8
    case "message bytes": // the bytes read are the message's encoding
      return kept;
    case "message message":
      return { kind: "buf" }; // another message type: buf's FIELD_WIRE_COMPATIBLE_TYPE
    case "bytes string":
      return { kind: "changed", example: "a cached value whose bytes are not UTF-8 (0xff) no longer reads: every read of the entry is a corrupt miss" };
    case "message string":
      return { kind: "changed", example: "a cached message whose encoding is not UTF-8 no longer reads: every read of the entry is a corrupt miss" };
    case "string message":
      return { kind: "changed", example: 'a cached "a" is not a valid message: every read of the entry is a corrupt miss' };
    case "bytes message":
      return { kind: "changed", example: "cached bytes 0xff are not a valid message: every read of the entry is a corrupt miss" };
  }
  // Integers, floats and doubles sharing 4 or 8 bytes: the bits are reinterpreted.
  return { kind: "changed", example: bitsExample(from, to) };
}

function wireType(t: ValueType): number {
  switch (t.encoding) {
    case "varint":
    case "zigzag":
      return 0;
    case "fixed64":
    case "double":
      return 1;
    case "fixed32":
    case "float":
      return 5;
    default:
      return 2;
  }
}

/** Values tried, in order, for an example of a changed integer: the first one the old type holds and the new one does not read back. */
const candidates = [5_000_000_000n, -1n, 2n, 2n ** 32n - 1n, 2n ** 64n - 1n];

function integerExample(from: ValueType, to: ValueType): string {
  for (const v of candidates) {
    if (v < (from.min as bigint) || v > (from.max as bigint)) continue;
    const read = readAs(to, writtenAs(from, v));
    if (read !== v) return `a cached ${show(from, v)} reads as ${show(to, read)}`;
  }
  const v = (from.min as bigint) < (to.min as bigint) ? (from.min as bigint) : (from.max as bigint);
  return `a cached ${show(from, v)} reads as ${show(to, readAs(to, writtenAs(from, v)))}`;
}

/** The unsigned wire value (varint or fixed-size bits) a writer of `t` puts on the wire for `v`. */
export function writtenAs(t: ValueType, v: bigint): bigint {
  switch (t.encoding) {
    case "zigzag":
      return v >= 0n ? 2n * v : -2n * v - 1n;
    case "fixed32":
      return BigInt.asUintN(32, v);
    default:
      return BigInt.asUintN(64, v);
  }
}

/** The value a reader of integer type `t` takes from the unsigned wire value `x` (what the runtime's Reader does). */
export function readAs(t: ValueType, x: bigint): bigint {
  const bits = t.encoding === "fixed32" || (t.max as bigint) <= u32[1] ? 32 : 64;
  const signed = (t.min as bigint) < 0n;
  if (t.name === "bool") return x === 0n ? 0n : 1n;
  if (t.encoding === "zigzag") {
    const y = BigInt.asUintN(bits, x);
    return (y >> 1n) ^ -(y & 1n);
  }
  return signed ? BigInt.asIntN(bits, x) : BigInt.asUintN(bits, x);
}

function show(t: ValueType, v: bigint): string {
  return t.name === "bool" ? String(v !== 0n) : String(v);
}

function bitsExample(from: ValueType, to: ValueType): string {
  const size = from.encoding === "fixed32" || from.encoding === "float" ? 4 : 8;
  const bytes = new DataView(new ArrayBuffer(8));
  let shown: string;
  if (from.encoding === "float" || from.encoding === "double") {
    shown = "1.5";
    if (size === 4) bytes.setFloat32(0, 1.5, true);
    else bytes.setFloat64(0, 1.5, true);
  } else {
    shown = "1";
    if (size === 4) bytes.setUint32(0, 1, true);
    else bytes.setBigUint64(0, 1n, true);
  }
  let read: string;
  if (to.encoding === "float") read = String(bytes.getFloat32(0, true));
  else if (to.encoding === "double") read = String(bytes.getFloat64(0, true));
  else {
    const x = size === 4 ? BigInt(bytes.getUint32(0, true)) : bytes.getBigUint64(0, true);
    read = String(readAs(to, x));
  }
  return `a cached ${shown} reads as ${read}`;
}

/** The zero value of a type as a cached value shows it. */
function zeroOf(t: ValueType): string {
  if (t.name === "bool") return "false";
  if (t.encoding === "string") return '""';
  if (t.encoding === "bytes") return "empty bytes";
  return "0";
}

/** How one field carries its values, as far as the rule compares them. */
type Shape =
  | { readonly kind: "singular"; readonly presence: "implicit" | "optional" | "oneof" | "message"; readonly value: ValueType }
  | { readonly kind: "list"; readonly value: ValueType }
  | { readonly kind: "map"; readonly key: ValueType; readonly value: ValueType };

function valueTypeOf(field: DescField): ValueType {
  switch (field.fieldKind) {
    case "scalar":
      return scalarValueType(field.scalar);
    case "enum":
      return enumValueType(field.enum.typeName);
    case "message":
      return messageValueType(field.message.typeName);
    case "list":
      return field.listKind === "scalar" ? scalarValueType(field.scalar) : field.listKind === "enum" ? enumValueType(field.enum.typeName) : messageValueType(field.message.typeName);
    case "map":
      return field.mapKind === "scalar" ? scalarValueType(field.scalar) : field.mapKind === "enum" ? enumValueType(field.enum.typeName) : messageValueType(field.message.typeName);
  }
}

function shapeOf(field: DescField): Shape {
  if (field.fieldKind === "list") return { kind: "list", value: valueTypeOf(field) };
  if (field.fieldKind === "map") return { kind: "map", key: scalarValueType(field.mapKey), value: valueTypeOf(field) };
  const presence = field.fieldKind === "message" ? "message" : field.proto.proto3Optional ? "optional" : field.oneof !== undefined ? "oneof" : "implicit";
  return { kind: "singular", presence, value: valueTypeOf(field) };
}

/** One field whose cached values a change would alter. */
export interface ValueChange {
  /** The field as it is now. */
  readonly field: DescField;
  /** The same number as it was. */
  readonly before: DescField;
  /** What changed, e.g. `changed type from "int64" to "int32"`. */
  readonly change: string;
  /** What happens to one cached value. */
  readonly example: string;
  /** The type or label the fix keeps, e.g. `int64` or `optional`. */
  readonly keep: string;
}

/** What a change of one field does to its cached values: kept, changed (how), or left to buf's rules. */
export type FieldVerdict = { readonly kind: "kept" } | { readonly kind: "buf" } | { readonly kind: "changed"; readonly change: ValueChange };

/**
 * The verdict for one field number seen in two revisions. `buf` when buf's
 * rules decide the change (another wire type, another message type,
 * singular ↔ repeated or map, a oneof member moved): the gate refuses those
 * anyway.
 */
export function fieldVerdict(before: DescField, after: DescField): FieldVerdict {
  const was = shapeOf(before);
  const now = shapeOf(after);
  if (was.kind === "list" && now.kind === "list") return typeChange(before, after, "element type", was.value, now.value, "element ");
  if (was.kind === "map" && now.kind === "map") {
    const key = typeChange(before, after, "map key type", was.key, now.key, "key ");
    return key.kind !== "kept" ? key : typeChange(before, after, "map value type", was.value, now.value, "map value ");
  }
  if (was.kind !== "singular" || now.kind !== "singular") return { kind: "buf" }; // FIELD_WIRE_COMPATIBLE_CARDINALITY
  const typed = typeChange(before, after, "type", was.value, now.value, "");
  if (typed.kind !== "kept") return typed;
  const changed = (change: string, example: string, keep: string): FieldVerdict => ({ kind: "changed", change: { field: after, before, change, example, keep } });
  if (was.presence === "implicit" && now.presence === "optional") {
    return changed("changed from implicit presence to `optional`", `a cached ${zeroOf(now.value)} reads as unset (undefined): an implicit field does not write its zero value`, "implicit presence (no `optional`)");
  }
  if (was.presence === "optional" && now.presence === "implicit") {
    return changed("changed from `optional` to implicit presence", `a cached unset value reads as ${zeroOf(now.value)}: set and unset can no longer be told apart`, "`optional`");
  }
  if ((was.presence === "oneof") !== (now.presence === "oneof")) return { kind: "buf" }; // FIELD_SAME_ONEOF
  return { kind: "kept" };
}

/** The change of one field that would alter cached values, if any (see {@link fieldVerdict}). */
export function fieldValueChange(before: DescField, after: DescField): ValueChange | undefined {
  const verdict = fieldVerdict(before, after);
  return verdict.kind === "changed" ? verdict.change : undefined;
}

function typeChange(before: DescField, after: DescField, what: string, from: ValueType, to: ValueType, valueWord: string): FieldVerdict {
  const verdict = compareValueTypes(from, to);
  if (verdict.kind !== "changed") return verdict;
  const example = valueWord === "" ? verdict.example : verdict.example.replace(/^a cached /, `a cached ${valueWord}`).replace(/^cached /, `cached ${valueWord}`);
  const collision = what === "map key type" ? " (two cached keys can become one, losing an entry)" : "";
  return { kind: "changed", change: { field: after, before, change: `changed ${what} from "${from.name}" to "${to.name}"`, example: example + collision, keep: `\`${from.name}\`` } };
}

/**
 * Every field of `after`'s closure whose cached values would change if
 * entries written as `before` were read as `after`: fields are matched by
 * number inside messages of the same full name (`rename` maps a full name of
 * `before`'s closure to `after`'s, for a renamed entity).
 */
export function valueChanges(before: DescMessage, after: DescMessage, rename: (name: string) => string = (n) => n): ValueChange[] {
  const old = new Map(closureOf(before).messages.map((m) => [rename(m.typeName), m]));
  const changes: ValueChange[] = [];
  for (const message of closureOf(after).messages) {
    if (message.proto.options?.mapEntry === true) continue; // map fields compare keys and values themselves
    const was = old.get(message.typeName);
    if (was === undefined) continue;
    for (const field of message.fields) {
      const prior = was.fields.find((f) => f.number === field.number);
      if (prior === undefined) continue;
      const change = fieldValueChange(prior, field);
      if (change !== undefined) changes.push(change);
    }
  }
  return changes;
}

/** What {@link valueFinding} needs to know about the project. */
export interface ValueFindingContext {
  readonly locate: (field: DescField) => SourceLocation;
  /** The package the fix names for a new major, e.g. `acme.shop.v2`. */
  readonly nextMajor: string;
}

/** A change as `gen` and `check` report it, in the words of a cache. */
export function valueFinding(change: ValueChange, context: ValueFindingContext): Finding {
  const { field } = change;
  return {
    rule: "field-value-changed",
    location: context.locate(field),
    message: `Field "${field.number}" with name "${field.name}" on message "${field.parent.name}" ${change.change}: ${change.example}.`,
    breaks:
      "entries already in Redis were written under the old declaration: readers would get a different value than was written, silently (a hit, not a miss), and write-back would store the changed value over the original",
    fix: `keep ${change.keep}; to change it, add a new field with a new number (and \`reserved ${field.number};\` if this one goes), or make the change in a new major: \`${context.nextMajor}\` with \`migrates_from\``,
  };
}
