import { createFileRegistry, fromBinary, ScalarType, toBinary, type DescField, type DescMessage, type FileRegistry, type Message } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { isInt64, objectWeight, type DeclaredDefault, type LockedEntity, type LockRevision } from "../../codegen/index.js";
import { walkWire, type WireField, type WireShape } from "../../src/codec/wire-walk.js";
import { defineEntity, keyBigint, keyBool, keyInt, keyString, SchemaRegistry, type Entity } from "../../src/runtime/index.js";
import type { RevisionInfo } from "../../src/tools/index.js";

/** A message value as protobuf-es decodes it from descriptors. */
export type DynamicValue = Message & Record<string, unknown>;

/**
 * The runtime entity of a locked entity, built from descriptors instead of
 * generated code, for the operations commands: protobuf-es decodes and
 * encodes with the message in proto/ now, and each older revision's
 * declared defaults are applied by the same rules as the generated
 * `fillXRn` functions (codegen/emit-defaults.ts; a test compares both on
 * the example entities). Typed upgrade hooks live in a service's code, so
 * the CLI applies declared defaults only. Each payload is walked first
 * within the reader's work budget, charged as the generated decoder would
 * (`walkWire`), so a costly entry is an `over_budget` miss before
 * protobuf-es builds anything.
 */
export function dynamicEntity(locked: LockedEntity, defaults: ReadonlyMap<DescField, DeclaredDefault>, lock: readonly LockRevision[]): Entity<DynamicValue, Record<string, unknown>> {
  const message = locked.model.message;
  const revision = (rev: LockRevision): RevisionInfo<DynamicValue> => {
    const written = registryOf(rev);
    const fill = (value: DynamicValue): void => fillDefaults(message, value, { defaults, written, visiting: new Set([message.typeName]) });
    return { schemaId: rev.id, revision: rev.revision, fill };
  };
  const keyFields = locked.model.keyFields;
  const shape = wireShape(message, new Map());
  return defineEntity<DynamicValue, Record<string, unknown>>({
    typeName: message.typeName,
    entity: locked.entity,
    major: locked.model.major,
    current: revision(locked.current),
    others: locked.revisions.filter((r) => r.id !== locked.current.id).map(revision),
    ttlSeconds: locked.model.ttlSeconds,
    keyFields: keyFields.map((f) => f.localName),
    key: (k) => keyFields.map((f) => keyPart(f, k[f.localName])).join(":"),
    encode: (w, value) => w.raw(toBinary(message, value)),
    decode: (r, end) => {
      const start = r.pos;
      walkWire(r, end, shape);
      const value = fromBinary(message, r.buf.subarray(start, end)) as DynamicValue;
      r.pos = end;
      return value;
    },
    registry: new SchemaRegistry(lock.map((e) => ({ id: e.id, message: e.message, major: e.major, revision: e.revision }))),
  });
}

/** How `walkWire` sees a message (each message made once, so recursive schemas are fine). */
function wireShape(message: DescMessage, made: Map<DescMessage, WireShape>): WireShape {
  const known = made.get(message);
  if (known !== undefined) return known;
  const byNumber = new Map<number, WireField>();
  const shape: WireShape = { weight: objectWeight(message), field: (n) => byNumber.get(n) };
  made.set(message, shape);
  const scalarField = (scalar: ScalarType): WireField => {
    if (scalar === ScalarType.STRING) return { kind: "string" };
    if (scalar === ScalarType.BYTES) return { kind: "bytes" };
    const fixed64 = scalar === ScalarType.DOUBLE || scalar === ScalarType.FIXED64 || scalar === ScalarType.SFIXED64;
    const fixed32 = scalar === ScalarType.FLOAT || scalar === ScalarType.FIXED32 || scalar === ScalarType.SFIXED32;
    return { kind: "scalar", wire: fixed64 ? 1 : fixed32 ? 5 : 0, packable: true };
  };
  const varint: WireField = { kind: "scalar", wire: 0, packable: true };
  for (const field of message.fields) {
    let value: WireField;
    switch (field.fieldKind) {
      case "scalar":
        value = scalarField(field.scalar);
        break;
      case "enum":
        value = varint;
        break;
      case "message": {
        const m = field.message;
        value = { kind: "message", shape: () => wireShape(m, made) };
        break;
      }
      case "list": {
        const m = field.listKind === "message" ? field.message : undefined;
        value = m !== undefined ? { kind: "message", shape: () => wireShape(m, made) } : field.listKind === "enum" ? varint : scalarField(field.scalar as ScalarType);
        break;
      }
      case "map": {
        const m = field.mapKind === "message" ? field.message : undefined;
        const v = m !== undefined ? ({ kind: "message", shape: () => wireShape(m, made) } as const) : field.mapKind === "enum" ? varint : scalarField(field.scalar as ScalarType);
        value = { kind: "map", key: scalarField(field.mapKey), value: v };
        break;
      }
    }
    byNumber.set(field.number, value);
  }
  return shape;
}

function registryOf(rev: LockRevision): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(rev.descriptor, "base64")));
}

function keyPart(field: DescField, value: unknown): string {
  const scalar = field.fieldKind === "scalar" ? field.scalar : undefined;
  if (scalar === ScalarType.STRING) return keyString(value, field.localName);
  if (scalar === ScalarType.BOOL) return keyBool(value, field.localName);
  if (scalar !== undefined && isInt64(scalar)) return keyBigint(value, field.localName);
  return keyInt(value, field.localName);
}

interface FillContext {
  readonly defaults: ReadonlyMap<DescField, DeclaredDefault>;
  readonly written: FileRegistry;
  readonly visiting: Set<string>;
}

/** Declared defaults for a value read from an entry of the `written` revision: the generated fill's rules, on a protobuf-es value. */
function fillDefaults(message: DescMessage, value: Record<string, unknown>, ctx: FillContext): void {
  const old = ctx.written.getMessage(message.typeName);
  for (const field of message.fields) {
    const declared = ctx.defaults.get(field);
    if (declared !== undefined && (field.oneof === undefined || field.proto.proto3Optional)) {
      const name = field.localName;
      if (field.proto.proto3Optional) {
        if (value[name] === undefined) value[name] = declared.value;
      } else if (!isZeroValue(declared) && (old === undefined || !old.fields.some((o) => o.number === field.number)) && isZero(value[name], declared)) {
        value[name] = declared.value;
      }
    }
    const nested = field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message") || (field.fieldKind === "map" && field.mapKind === "message") ? field.message : undefined;
    if (nested === undefined || ctx.visiting.has(nested.typeName)) continue;
    ctx.visiting.add(nested.typeName);
    for (const child of childrenOf(field, value)) fillDefaults(nested, child, ctx);
    ctx.visiting.delete(nested.typeName);
  }
}

function childrenOf(field: DescField, value: Record<string, unknown>): Record<string, unknown>[] {
  if (field.fieldKind === "list") return (value[field.localName] as Record<string, unknown>[] | undefined) ?? [];
  if (field.fieldKind === "map") return Object.values((value[field.localName] as Record<string, Record<string, unknown>> | undefined) ?? {});
  if (field.oneof !== undefined && !field.proto.proto3Optional) {
    const group = value[field.oneof.localName] as { case?: string; value?: Record<string, unknown> } | undefined;
    return group?.case === field.localName && group.value !== undefined ? [group.value] : [];
  }
  const child = value[field.localName] as Record<string, unknown> | undefined;
  return child === undefined ? [] : [child];
}

function isZeroValue(d: DeclaredDefault): boolean {
  switch (d.kind) {
    case "string":
      return d.value === "";
    case "bigint":
      return d.value === 0n;
    case "bool":
      return !d.value;
    case "bytes":
      return d.value.length === 0;
    case "number":
      return d.value === 0 && !Object.is(d.value, -0);
  }
}

function isZero(v: unknown, d: DeclaredDefault): boolean {
  switch (d.kind) {
    case "string":
      return v === "";
    case "bigint":
      return v === 0n;
    case "bool":
      return v === false;
    case "bytes":
      return v instanceof Uint8Array && v.length === 0;
    case "number":
      return v === 0;
  }
}
