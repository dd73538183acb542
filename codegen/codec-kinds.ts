import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { symbol, type ImportSymbol } from "./printer.js";
import { unwrappedWellKnown, type UnwrappedWellKnown } from "./well-known.js";

const runtime = { kind: "runtime" } as const;

/** A runtime export generated code calls. */
export function runtimeSymbol(name: string, typeOnly = false): ImportSymbol {
  return symbol(name, runtime, typeOnly);
}

/** Wire types protocache writes (groups are only ever skipped). */
export const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Len = 2,
  Fixed32 = 5,
}

/** How one scalar type is written, read and validated. */
export interface ScalarInfo {
  readonly wire: Wire;
  /** Writer method. */
  readonly write: string;
  /** Reader method. */
  readonly read: string;
  /** The zero value, as TypeScript. */
  readonly zero: string;
  /** What the field accepts, for error messages. */
  readonly expected: string;
  /** Condition (TypeScript) that is true when `v` is not a valid value. */
  readonly invalid: (v: string) => string | readonly (string | ImportSymbol)[];
}

const int32Check = (v: string) => `(${v} | 0) !== ${v}`;
const uint32Check = (v: string) => `${v} >>> 0 !== ${v}`;
const int64Check = (v: string) => ["!", runtimeSymbol("isInt64"), `(${v})`];
const uint64Check = (v: string) => ["!", runtimeSymbol("isUint64"), `(${v})`];
const numberCheck = (v: string) => `typeof ${v} !== "number"`;

/** Every proto scalar type. */
export const scalars: Record<ScalarType, ScalarInfo> = {
  [ScalarType.DOUBLE]: { wire: Wire.Fixed64, write: "double", read: "double", zero: "0", expected: "double", invalid: numberCheck },
  [ScalarType.FLOAT]: { wire: Wire.Fixed32, write: "float", read: "float", zero: "0", expected: "float", invalid: (v) => ["!", runtimeSymbol("isFloat32"), `(${v})`] },
  [ScalarType.INT64]: { wire: Wire.Varint, write: "int64", read: "int64", zero: "0n", expected: "int64", invalid: int64Check },
  [ScalarType.UINT64]: { wire: Wire.Varint, write: "int64", read: "uint64", zero: "0n", expected: "uint64", invalid: uint64Check },
  [ScalarType.INT32]: { wire: Wire.Varint, write: "int32", read: "int32", zero: "0", expected: "int32", invalid: int32Check },
  [ScalarType.FIXED64]: { wire: Wire.Fixed64, write: "fixed64", read: "fixed64", zero: "0n", expected: "fixed64", invalid: uint64Check },
  [ScalarType.FIXED32]: { wire: Wire.Fixed32, write: "fixed32", read: "fixed32", zero: "0", expected: "fixed32", invalid: uint32Check },
  [ScalarType.BOOL]: { wire: Wire.Varint, write: "bool", read: "bool", zero: "false", expected: "bool", invalid: (v) => `typeof ${v} !== "boolean"` },
  [ScalarType.STRING]: { wire: Wire.Len, write: "string", read: "string", zero: '""', expected: "string", invalid: (v) => `typeof ${v} !== "string"` },
  [ScalarType.BYTES]: { wire: Wire.Len, write: "bytes", read: "bytes", zero: "new Uint8Array(0)", expected: "Uint8Array", invalid: (v) => `!(${v} instanceof Uint8Array)` },
  [ScalarType.UINT32]: { wire: Wire.Varint, write: "uint32", read: "uint32", zero: "0", expected: "uint32", invalid: uint32Check },
  [ScalarType.SFIXED32]: { wire: Wire.Fixed32, write: "sfixed32", read: "sfixed32", zero: "0", expected: "sfixed32", invalid: int32Check },
  [ScalarType.SFIXED64]: { wire: Wire.Fixed64, write: "fixed64", read: "sfixed64", zero: "0n", expected: "sfixed64", invalid: int64Check },
  [ScalarType.SINT32]: { wire: Wire.Varint, write: "sint32", read: "sint32", zero: "0", expected: "sint32", invalid: int32Check },
  [ScalarType.SINT64]: { wire: Wire.Varint, write: "sint64", read: "sint64", zero: "0n", expected: "sint64", invalid: int64Check },
};

/** Enums are open int32 values on the wire (proto3). */
export const enumInfo: ScalarInfo = { ...scalars[ScalarType.INT32], expected: "enum value (int32)" };

/** A field's value kind as the codec sees it: scalar (enums included), message, or a well-known type ts-proto unwraps. */
export type ValueKind =
  | { readonly kind: "scalar"; readonly scalar: ScalarInfo; readonly type: ScalarType | "enum" }
  | { readonly kind: "message"; readonly message: DescMessage }
  | { readonly kind: "wkt"; readonly wkt: UnwrappedWellKnown };

function messageKind(message: DescMessage): ValueKind {
  const wkt = unwrappedWellKnown(message.typeName);
  return wkt === undefined ? { kind: "message", message } : { kind: "wkt", wkt };
}

/** Kind of one value of the field (a list element, a map value). */
export function valueKind(field: DescField): ValueKind {
  switch (field.fieldKind) {
    case "scalar":
      return { kind: "scalar", scalar: scalars[field.scalar], type: field.scalar };
    case "enum":
      return { kind: "scalar", scalar: enumInfo, type: "enum" };
    case "message":
      return messageKind(field.message);
    case "list":
      if (field.listKind === "scalar") return { kind: "scalar", scalar: scalars[field.scalar], type: field.scalar };
      if (field.listKind === "enum") return { kind: "scalar", scalar: enumInfo, type: "enum" };
      return messageKind(field.message);
    case "map":
      if (field.mapKind === "scalar") return { kind: "scalar", scalar: scalars[field.scalar], type: field.scalar };
      if (field.mapKind === "enum") return { kind: "scalar", scalar: enumInfo, type: "enum" };
      return messageKind(field.message);
  }
}

/** Wire type of a value of this kind. */
export function wireOf(kind: ValueKind): Wire {
  return kind.kind === "scalar" ? kind.scalar.wire : Wire.Len;
}

/** field number << 3 | wire type. */
export function tagOf(number: number, wire: Wire): number {
  return number * 8 + wire;
}

/** The statement that writes a tag: one byte when it fits. */
export function writeTag(tag: number): string {
  return tag < 128 ? `w.byte(${tag});` : `w.uint32(${tag});`;
}

/** True when the kind can use packed encoding. */
export function isPackable(kind: ValueKind): boolean {
  return kind.kind === "scalar" && kind.scalar.wire !== Wire.Len;
}

/**
 * Condition under which an implicit-presence value `v` is written: not its
 * zero value (-0 in float and double fields is written: presence is decided
 * on the bit pattern). `bytes: "unchecked"` for writers that meet a bytes
 * field before its type is checked (the JSON writer): anything that is not a
 * Uint8Array is "present", so that the check that follows refuses it.
 */
export function presentCondition(kind: ValueKind, v: string, bytes: "checked" | "unchecked" = "checked"): string {
  if (kind.kind !== "scalar") return `${v} !== undefined`;
  switch (kind.scalar.write) {
    case "bytes":
      return bytes === "checked" ? `${v}.length !== 0` : `!(${v} instanceof Uint8Array) || ${v}.length !== 0`;
    case "bool":
      return `${v} !== false`;
    case "double":
    case "float":
      return `${v} !== 0 || 1 / ${v} < 0`;
    default:
      return `${v} !== ${kind.scalar.zero}`;
  }
}
