import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import fc from "fast-check";
import { oneofPropertyName, propertyName } from "../../codegen/naming.js";
import { text } from "./arbitraries.js";

/**
 * Arbitrary values of any message, in ts-proto's shapes for protocache's
 * options (bigint, Map, oneof unions, unwrapped well-known types), built
 * from its descriptor: what the differential tests feed every codec.
 * Values every codec writes the same way only: no -0 (ts-proto drops it from
 * implicit-presence fields), no undefined Struct values or map values (ts-proto
 * leaves those out), no `__proto__` Struct key (ts-proto would set a prototype).
 */
export function messageArbitrary(message: DescMessage, maxDepth = 2): fc.Arbitrary<Record<string, unknown>> {
  return messageAt(message, 0, maxDepth);
}

const noNegativeZero = (d: number): number => (Object.is(d, -0) ? 0 : d);

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.DOUBLE:
      return fc.double().map(noNegativeZero);
    case ScalarType.FLOAT:
      return fc.float().map(noNegativeZero);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt(0n, 2n ** 64n - 1n);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.STRING:
      return text(20);
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 20 });
  }
}

const structKey = text(8).filter((k) => k !== "__proto__");

/** JSON values as ts-proto types `google.protobuf.Value` (undefined only where the caller allows it). */
const json = fc.letrec<{ value: unknown; element: unknown; object: Record<string, unknown> }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double().map(noNegativeZero),
    text(10),
    fc.array(tie("element"), { maxLength: 3 }),
    tie("object"),
  ),
  element: fc.oneof({ depthSize: "small" }, fc.constant(undefined), tie("value")),
  object: fc.dictionary(structKey, tie("value"), { maxKeys: 3 }),
}));

/** Values of the well-known types ts-proto unwraps, or undefined for other messages. */
function wellKnown(typeName: string): fc.Arbitrary<unknown> | undefined {
  const wrapped: Record<string, ScalarType> = {
    "google.protobuf.DoubleValue": ScalarType.DOUBLE,
    "google.protobuf.FloatValue": ScalarType.FLOAT,
    "google.protobuf.Int64Value": ScalarType.INT64,
    "google.protobuf.UInt64Value": ScalarType.UINT64,
    "google.protobuf.Int32Value": ScalarType.INT32,
    "google.protobuf.UInt32Value": ScalarType.UINT32,
    "google.protobuf.BoolValue": ScalarType.BOOL,
    "google.protobuf.StringValue": ScalarType.STRING,
    "google.protobuf.BytesValue": ScalarType.BYTES,
  };
  const inner = wrapped[typeName];
  if (inner !== undefined) return scalar(inner);
  switch (typeName) {
    case "google.protobuf.Struct":
      return json.object;
    case "google.protobuf.Value":
      return json.value;
    case "google.protobuf.ListValue":
      return fc.array(json.element, { maxLength: 3 });
    case "google.protobuf.FieldMask":
      return fc.array(text(10), { maxLength: 3 });
    default:
      return undefined;
  }
}

/** Timestamps and Durations within the ranges their definitions give (encoders refuse others). */
function ranged(typeName: string): fc.Arbitrary<unknown> | undefined {
  const nanos = fc.integer({ min: 0, max: 999_999_999 });
  if (typeName === "google.protobuf.Timestamp") return fc.record({ seconds: fc.bigInt(-62_135_596_800n, 253_402_300_799n), nanos });
  if (typeName !== "google.protobuf.Duration") return undefined;
  return fc.record({ seconds: fc.bigInt(-315_576_000_000n, 315_576_000_000n), nanos }).map(({ seconds, nanos: n }) => ({ seconds, nanos: seconds < 0n && n !== 0 ? -n : n }));
}

/** One value of the field's element type; undefined when nesting is too deep for another message. */
function element(field: DescField, depth: number, maxDepth: number): fc.Arbitrary<unknown> | undefined {
  const kind = field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
  if (kind === "scalar") return scalar((field as { scalar: ScalarType }).scalar);
  if (kind === "enum") {
    const values = (field as DescField & { enum: { values: { number: number }[] } }).enum.values.map((v) => v.number);
    return fc.oneof(fc.constantFrom(...values), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
  }
  const message = (field as { message: DescMessage }).message;
  return wellKnown(message.typeName) ?? ranged(message.typeName) ?? (depth < maxDepth ? messageAt(message, depth + 1, maxDepth) : undefined);
}

function fieldValue(field: DescField, depth: number, maxDepth: number): fc.Arbitrary<unknown> {
  const one = element(field, depth, maxDepth);
  if (field.fieldKind === "list") return one === undefined ? fc.constant([]) : fc.array(one, { maxLength: 3 });
  if (field.fieldKind === "map") {
    if (one === undefined) return fc.constant(new Map());
    const key = scalar(field.mapKey);
    return fc.array(fc.tuple(key, one.filter((v) => v !== undefined)), { maxLength: 3 }).map((pairs) => new Map(pairs));
  }
  if (one === undefined) return fc.constant(undefined);
  if (field.fieldKind === "message" || field.proto.proto3Optional) return fc.option(one, { nil: undefined });
  return one;
}

function messageAt(message: DescMessage, depth: number, maxDepth: number): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of message.members) {
    if (member.kind === "field") {
      shape[propertyName(member)] = fieldValue(member, depth, maxDepth);
      continue;
    }
    const cases = member.fields.flatMap((field) => {
      // A selected oneof member always has a value (ts-proto cannot write an undefined wrapper).
      const one = element(field, depth, maxDepth)?.filter((v) => v !== undefined);
      const name = propertyName(field);
      return one === undefined ? [] : [one.map((v) => ({ $case: name, [name]: v }))];
    });
    shape[oneofPropertyName(member)] = cases.length === 0 ? fc.constant(undefined) : fc.option(fc.oneof(...cases), { nil: undefined });
  }
  return fc.record(shape);
}
