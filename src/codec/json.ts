/**
 * Primitives of the proto3 JSON mapping, for the generated `toJsonX` and
 * `fromJsonX` functions (docs/codegen.md, "JSON"): scalars (int64 as decimal
 * strings, bytes as base64, NaN and ±Infinity as strings, enums by name),
 * map keys, and the well-known types with a JSON form of their own
 * (Timestamp, Duration, FieldMask, Struct, Value, ListValue). Every reader
 * checks its input completely and throws a {@link JsonError} naming the
 * field path: a value `fromJsonX` returns always encodes to what the JSON
 * said. Nothing here runs unless a JSON codec is called.
 */

import { JsonError } from "../errors.js";
import { isWellFormed, loneSurrogateAt } from "../unicode.js";
import { isFloat32, isInt64, isUint64 } from "./field-checks.js";
import { Reader } from "./reader.js";
import {
  decodeBoolValue,
  decodeBytesValue,
  decodeDoubleValue,
  decodeFieldMask,
  decodeFloatValue,
  decodeInt32Value,
  decodeInt64Value,
  decodeListValue,
  decodeStringValue,
  decodeStruct,
  decodeUInt32Value,
  decodeUInt64Value,
  decodeValue,
  encodeBoolValue,
  encodeBytesValue,
  encodeDoubleValue,
  encodeFieldMask,
  encodeFloatValue,
  encodeInt32Value,
  encodeInt64Value,
  encodeListValue,
  encodeStringValue,
  encodeStruct,
  encodeUInt32Value,
  encodeUInt64Value,
  encodeValue,
} from "./well-known.js";
import { Writer } from "./writer.js";

/** Options of the generated `toJsonX` functions (the names protobuf implementations use). */
export interface ToJsonOptions {
  /** Also write fields at their zero value (implicit-presence scalars, empty lists and maps); default false. */
  readonly emitDefaultValues?: boolean;
  /** Write enum values as numbers instead of names; default false. */
  readonly enumAsInteger?: boolean;
  /** Write the `.proto` field names (`display_name`) instead of lowerCamelCase JSON names (`displayName`); default false. */
  readonly useProtoFieldName?: boolean;
}

/** Options of the generated `fromJsonX` functions. */
export interface FromJsonOptions {
  /** Skip object keys that name no field, and enum names the schema lacks (the field stays unset); default false: both throw. */
  readonly ignoreUnknownFields?: boolean;
}

/** A JSON value as `JSON.parse` returns it and `JSON.stringify` accepts it. */
export type Json = null | boolean | number | string | Json[] | JsonObject;

/** A JSON object: what the generated `toJsonX` functions return for messages. */
export type JsonObject = { [key: string]: Json };

/** An object key or list index step of a JSON path. */
type Step = string | number;

/** `at` + one step: `a.b`, `a[2]`, `a["k"]` (a step starting with `[` is appended as is; "" is no step). */
export function jsonPath(at: string, step: Step): string {
  if (step === "") return at;
  if (typeof step === "number") return `${at}[${step}]`;
  if (step.startsWith("[")) return at + step;
  return at === "" ? step : `${at}.${step}`;
}

/** The path step of a map key. */
export function jsonKeyStep(key: string | number | bigint | boolean): string {
  // Numbers, bigints and booleans print nothing JSON.stringify would escape.
  const t = typeof key;
  return t === "number" || t === "bigint" || t === "boolean" ? `["${key}"]` : `[${JSON.stringify(String(key))}]`;
}

function describe(v: unknown): string {
  if (v === undefined) return "undefined";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return v instanceof Uint8Array ? "a Uint8Array" : "an object";
  if (typeof v === "function") return "a function";
  return String(v);
}

/** A JSON error at `at` + `step`. */
export function jsonError(at: string, step: Step, expected: string, value: unknown, direction: "fromJson" | "toJson" = "fromJson"): JsonError {
  return new JsonError(direction, jsonPath(at, step), `expected ${expected}, got ${describe(value)}`);
}

/** An error of a generated `toJsonX`: the value does not fit its field. */
export function toJsonError(at: string, step: Step, expected: string, value: unknown): JsonError {
  return jsonError(at, step, expected, value, "toJson");
}

// ---------------------------------------------------------------- objects

/** A JSON object (not null, not an array), or throws. */
export function jsonObject(v: unknown, at: string, step: Step, what = "a JSON object"): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw jsonError(at, step, what, v);
  return v as Record<string, unknown>;
}

/** A JSON array, or throws. */
export function jsonArray(v: unknown, at: string, step: Step): unknown[] {
  if (!Array.isArray(v)) throw jsonError(at, step, "a JSON array", v);
  return v;
}

/** Thrown for an object key that names no field (unless `ignoreUnknownFields`). */
export function unknownJsonField(at: string, key: string, message: string): JsonError {
  return new JsonError("fromJson", jsonPath(at, key), `no field ${JSON.stringify(key)} in ${message}`);
}

/** Thrown for a field given twice (by both its names) or a second member of a oneof. */
export function duplicateJsonField(at: string, key: string, other: string): JsonError {
  return new JsonError("fromJson", jsonPath(at, key), `${other} is already set`);
}

/** A JSON list element or map value that is `null` where the type has no null. */
export function nullJsonValue(at: string, step: Step): JsonError {
  return new JsonError("fromJson", jsonPath(at, step), "null is not a value of this field");
}

// ---------------------------------------------------------------- numbers

const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;

/** An integral JSON number or numeric string as bigint (exact for strings), or undefined. */
function integerOf(v: unknown): bigint | undefined {
  // Above 2^53 this is the double JSON.parse made of the numeral (exact when the numeral is a double, as in
  // the conformance suite's int64 limits); toJson writes 64-bit integers as strings, which are always exact.
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v !== "string") return undefined;
  if (INTEGER.test(v)) return BigInt(v);
  if (!NUMBER.test(v)) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) return undefined;
  // Exponent forms ("1e5", "1.5e3"): exact below 2^53 only.
  return Number.isSafeInteger(n) ? BigInt(n) : undefined;
}

/** int32, sint32, sfixed32 and enum numbers: a JSON number or numeric string, integral and in range. */
export function jsonInt32(v: unknown, at: string, step: Step): number {
  const n = integerOf(v);
  if (n === undefined || n < -2147483648n || n > 2147483647n) throw jsonError(at, step, "an int32 (JSON number or numeric string)", v);
  return Number(n);
}

/** uint32 and fixed32. */
export function jsonUint32(v: unknown, at: string, step: Step): number {
  const n = integerOf(v);
  if (n === undefined || n < 0n || n > 4294967295n) throw jsonError(at, step, "a uint32 (JSON number or numeric string)", v);
  return Number(n);
}

/** int64, sint64 and sfixed64 (decimal strings on output; numbers are exact up to 2^53). */
export function jsonInt64(v: unknown, at: string, step: Step): bigint {
  const n = integerOf(v);
  if (n === undefined || !isInt64(n)) throw jsonError(at, step, "an int64 (decimal string or JSON number)", v);
  return n;
}

/** uint64 and fixed64. */
export function jsonUint64(v: unknown, at: string, step: Step): bigint {
  const n = integerOf(v);
  if (n === undefined || !isUint64(n)) throw jsonError(at, step, "a uint64 (decimal string or JSON number)", v);
  return n;
}

function floatOf(v: unknown): number | undefined {
  // A JSON number is finite: JSON.parse turns a numeral beyond double range into ±Infinity, which it did not say.
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string") return undefined;
  if (v === "NaN") return NaN;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  if (!NUMBER.test(v)) return undefined;
  return Number(v);
}

/** double: a JSON number, a numeric string, or "NaN", "Infinity", "-Infinity". */
export function jsonDouble(v: unknown, at: string, step: Step): number {
  const n = floatOf(v);
  // A finite numeral beyond double range parses as ±Infinity: not what it said.
  if (n === undefined || (typeof v === "string" && !Number.isFinite(n) && NUMBER.test(v))) throw jsonError(at, step, 'a double (JSON number, numeric string, "NaN", "Infinity" or "-Infinity")', v);
  return n;
}

/** float: as double, within float32 range. */
export function jsonFloat(v: unknown, at: string, step: Step): number {
  const n = floatOf(v);
  if (n === undefined || !isFloat32(n) || (typeof v === "string" && !Number.isFinite(n) && NUMBER.test(v))) throw jsonError(at, step, 'a float (JSON number within float32 range, numeric string, "NaN", "Infinity" or "-Infinity")', v);
  return n;
}

/** A double or float for output: NaN and ±Infinity as strings. */
export function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

/** bool: JSON true or false. */
export function jsonBool(v: unknown, at: string, step: Step): boolean {
  if (typeof v !== "boolean") throw jsonError(at, step, "true or false", v);
  return v;
}

/** string: a JSON string with no lone surrogate (it would have no UTF-8 form). */
export function jsonString(v: unknown, at: string, step: Step): string {
  if (typeof v !== "string") throw jsonError(at, step, "a JSON string", v);
  if (!isWellFormed(v)) throw jsonError(at, step, `a well-formed Unicode string (lone surrogate at index ${loneSurrogateAt(v)})`, v);
  return v;
}

// ---------------------------------------------------------------- scalars for output (validated like the binary encoders)

/** An int32, sint32 or sfixed32 for output. */
export function int32Json(v: unknown, at: string, step: Step): number {
  if (((v as number) | 0) !== v) throw toJsonError(at, step, "int32", v);
  return v;
}

/** A uint32 or fixed32 for output. */
export function uint32Json(v: unknown, at: string, step: Step): number {
  if ((v as number) >>> 0 !== v) throw toJsonError(at, step, "uint32", v);
  return v;
}

/** An int64, sint64 or sfixed64 for output: a decimal string. */
export function int64Json(v: unknown, at: string, step: Step): string {
  if (!isInt64(v)) throw toJsonError(at, step, "int64 (bigint)", v);
  return String(v);
}

/** A uint64 or fixed64 for output: a decimal string. */
export function uint64Json(v: unknown, at: string, step: Step): string {
  if (!isUint64(v)) throw toJsonError(at, step, "uint64 (bigint)", v);
  return String(v);
}

/** A double for output: NaN and ±Infinity as strings. */
export function doubleJson(v: unknown, at: string, step: Step): number | string {
  if (typeof v !== "number") throw toJsonError(at, step, "double", v);
  return jsonNumber(v);
}

/** A float for output: NaN and ±Infinity as strings. */
export function floatJson(v: unknown, at: string, step: Step): number | string {
  if (!isFloat32(v)) throw toJsonError(at, step, "float", v);
  return jsonNumber(v as number);
}

/** A bool for output. */
export function boolJson(v: unknown, at: string, step: Step): boolean {
  if (typeof v !== "boolean") throw toJsonError(at, step, "bool", v);
  return v;
}

/** A string for output: lone surrogates have no UTF-8 form. */
export function stringJson(v: unknown, at: string, step: Step): string {
  if (typeof v !== "string" || !isWellFormed(v)) throw toJsonError(at, step, "a well-formed Unicode string", v);
  return v;
}

/** True for a string {@link stringJson} writes as is (no lone surrogate): the inline check generated map loops make before calling it. */
export function isJsonString(v: unknown): v is string {
  return typeof v === "string" && isWellFormed(v);
}

/** bytes for output: standard base64 with padding. */
export function bytesJson(v: unknown, at: string, step: Step): string {
  if (!(v instanceof Uint8Array)) throw toJsonError(at, step, "Uint8Array", v);
  return Buffer.from(v.buffer, v.byteOffset, v.length).toString("base64");
}

/** An enum value for output: its first name, or the number when the schema has no name for it or with `asInteger`. */
export function enumJson(v: unknown, at: string, step: Step, names: ReadonlyMap<number, string>, asInteger: boolean | undefined): string | number {
  if (((v as number) | 0) !== v) throw toJsonError(at, step, "enum value (int32)", v);
  return asInteger === true ? (v as number) : (names.get(v as number) ?? (v as number));
}

/** Messages a value may nest, the root included: the binary codecs' limit (a deeper value could not be stored). */
const MAX_MESSAGES = 100;

/** The holder of the fields being written is an object at most 100 messages deep (a cyclic value stops there), or throws. */
export function checkJsonMessage(m: unknown, at: string, message: string, depth: number): void {
  if (typeof m !== "object" || m === null) throw toJsonError(at, "", `${message} object`, m);
  if (depth >= MAX_MESSAGES) throw new JsonError("toJson", at, `more than ${MAX_MESSAGES} nested messages (is the value cyclic?)`);
}

/** The JSON object of a message at most 100 messages deep, or throws. */
export function jsonMessage(v: unknown, at: string, depth: number): Record<string, unknown> {
  if (depth >= MAX_MESSAGES) throw new JsonError("fromJson", at, `more than ${MAX_MESSAGES} nested messages`);
  return jsonObject(v, at, "");
}

// ---------------------------------------------------------------- bytes

const BASE64 = /^[A-Za-z0-9+/\-_]*={0,2}$/;

/** bytes: standard or URL-safe base64, padded or not. */
export function jsonBytes(v: unknown, at: string, step: Step): Uint8Array {
  if (typeof v !== "string" || !BASE64.test(v)) throw jsonError(at, step, "base64 (standard or URL-safe)", v);
  const body = v.replace(/=+$/, "");
  const padded = v.length !== body.length;
  if (body.length % 4 === 1 || (padded && v.length % 4 !== 0)) throw jsonError(at, step, "base64 (standard or URL-safe)", v);
  const bytes = Buffer.from(body.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

// ---------------------------------------------------------------- enums

/**
 * An enum value from JSON: a name of `names` (every alias), or an int32
 * number (an open enum keeps unknown numbers). An unknown name throws,
 * or returns undefined with `ignoreUnknown` (the field stays unset).
 */
export function jsonEnum(v: unknown, at: string, step: Step, names: ReadonlyMap<string, number>, ignoreUnknown: boolean | undefined): number | undefined {
  if (typeof v === "string") {
    const n = names.get(v);
    if (n !== undefined) return n;
    if (ignoreUnknown === true) return undefined;
    throw jsonError(at, step, `one of ${[...names.keys()].join(", ")}`, v);
  }
  if (typeof v === "number") return jsonInt32(v, at, step);
  throw jsonError(at, step, "an enum name or number", v);
}


/** `google.protobuf.NullValue` for output: JSON null. */
export function nullValueJson(v: unknown, at: string, step: Step): null {
  if (((v as number) | 0) !== v) throw toJsonError(at, step, "enum value (int32)", v);
  return null;
}

/** The one name of `google.protobuf.NullValue` (its JSON form is null). */
export const nullValueNames: ReadonlyMap<string, number> = /*@__PURE__*/ new Map([["NULL_VALUE", 0]]);

// ---------------------------------------------------------------- map keys

/** A map key of type bool: "true" or "false". */
export function jsonKeyBool(k: string, at: string): boolean {
  if (k === "true") return true;
  if (k === "false") return false;
  throw jsonError(at, jsonKeyStep(k), 'a bool map key ("true" or "false")', k);
}

// ---------------------------------------------------------------- Timestamp and Duration

const TIMESTAMP = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})$/;
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;
const MIN_SECONDS_N = Number(MIN_SECONDS);
const MAX_SECONDS_N = Number(MAX_SECONDS);

/** Days from 1970-01-01 to the given proleptic Gregorian date. */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/** 0, 3, 6 or 9 fraction digits, as the proto3 JSON mapping writes them. */
function fraction(nanos: number): string {
  if (nanos === 0) return "";
  const nine = String(nanos).padStart(9, "0");
  return `.${nine.endsWith("000000") ? nine.slice(0, 3) : nine.endsWith("000") ? nine.slice(0, 6) : nine}`;
}

/** `google.protobuf.Timestamp` from RFC 3339 (`1972-01-01T10:00:20.021Z`, any offset, years 1 to 9999). */
export function jsonTimestamp(v: unknown, at: string, step: Step): { seconds: bigint; nanos: number } {
  const expected = 'an RFC 3339 timestamp ("1972-01-01T10:00:20.021Z") of years 1 to 9999';
  const m = typeof v === "string" ? TIMESTAMP.exec(v) : null;
  if (m === null) throw jsonError(at, step, expected, v);
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if ((y as number) < 1 || (mo as number) < 1 || (mo as number) > 12 || (d as number) < 1 || (d as number) > daysInMonth(y as number, mo as number) || (h as number) > 23 || (mi as number) > 59 || (s as number) > 59) {
    throw jsonError(at, step, expected, v);
  }
  const zone = m[8] as string;
  let offset = 0;
  if (zone !== "Z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) throw jsonError(at, step, expected, v);
    offset = (zone[0] === "-" ? -1 : 1) * (oh * 3600 + om * 60);
  }
  const seconds = BigInt(daysFromCivil(y as number, mo as number, d as number)) * 86400n + BigInt((h as number) * 3600 + (mi as number) * 60 + (s as number) - offset);
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw jsonError(at, step, expected, v);
  return { seconds, nanos: m[7] === undefined ? 0 : Number(m[7].padEnd(9, "0")) };
}

/** A Timestamp for output, in UTC with 0, 3, 6 or 9 fraction digits. */
export function timestampJson(m: { readonly seconds: bigint; readonly nanos: number }, at: string): string {
  // Seconds of years 1 to 9999 are exact as a number (and a bigint beyond them stays beyond them as one): the range
  // check and the arithmetic below need no bigint operation.
  const seconds = typeof m.seconds === "bigint" ? Number(m.seconds) : NaN;
  if (!(seconds >= MIN_SECONDS_N && seconds <= MAX_SECONDS_N)) throw toJsonError(at, "seconds", "seconds of 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z", m.seconds);
  if (!Number.isInteger(m.nanos) || m.nanos < 0 || m.nanos > 999_999_999) throw toJsonError(at, "nanos", "nanos from 0 to 999999999", m.nanos);
  const days = Math.floor(seconds / 86400);
  const rest = seconds - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const year = y < 1000 ? String(y).padStart(4, "0") : String(y);
  return `${year}-${two(mo)}-${two(d)}T${two(Math.floor(rest / 3600))}:${two(Math.floor(rest / 60) % 60)}:${two(rest % 60)}${fraction(m.nanos)}Z`;
}

/** 0 to 99 with two digits. */
function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const DURATION = /^(-)?([0-9]+)(?:\.([0-9]{1,9}))?s$/;
const MAX_DURATION = 315_576_000_000n;
const MAX_DURATION_N = Number(MAX_DURATION);

/** `google.protobuf.Duration` from `"1.5s"`, `"-0.000001s"` (up to ±315576000000 seconds). */
export function jsonDuration(v: unknown, at: string, step: Step): { seconds: bigint; nanos: number } {
  const m = typeof v === "string" ? DURATION.exec(v) : null;
  const expected = 'a duration in seconds ("1.5s") within ±315576000000s';
  if (m === null) throw jsonError(at, step, expected, v);
  const sign = m[1] === "-" ? -1 : 1;
  const seconds = BigInt(m[2] as string);
  if (seconds > MAX_DURATION) throw jsonError(at, step, expected, v);
  const nanos = m[3] === undefined ? 0 : Number(m[3].padEnd(9, "0"));
  return { seconds: sign < 0 ? -seconds : seconds, nanos: sign < 0 && nanos !== 0 ? -nanos : nanos };
}

/** A Duration for output. */
export function durationJson(m: { readonly seconds: bigint; readonly nanos: number }, at: string): string {
  const { nanos } = m;
  // ±315576000000 seconds are exact as a number (as for Timestamp): no bigint operation.
  const seconds = typeof m.seconds === "bigint" ? Number(m.seconds) : NaN;
  if (!(seconds >= -MAX_DURATION_N && seconds <= MAX_DURATION_N)) throw toJsonError(at, "seconds", "seconds within ±315576000000", m.seconds);
  if (!Number.isInteger(nanos) || nanos < -999_999_999 || nanos > 999_999_999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    throw toJsonError(at, "nanos", "nanos within ±999999999, of the sign of seconds", nanos);
  }
  return `${seconds < 0 || nanos < 0 ? "-" : ""}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

// ---------------------------------------------------------------- FieldMask

/** `google.protobuf.FieldMask` from `"fooBar,baz.quxQuux"` (paths in lowerCamelCase). */
export function jsonFieldMask(v: unknown, at: string, step: Step): string[] {
  if (typeof v !== "string") throw jsonError(at, step, 'a field mask ("fooBar,baz")', v);
  if (v === "") return [];
  return v.split(",").map((path) => {
    if (path.includes("_") || !/^[A-Za-z0-9.]*$/.test(path)) throw jsonError(at, step, "lowerCamelCase paths separated by commas", v);
    return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  });
}

/** A FieldMask for output; a path that would not read back the same (`foo_3_bar`, `fooBar`) throws. */
export function fieldMaskJson(paths: unknown, at: string, step: Step): string {
  if (!Array.isArray(paths)) throw toJsonError(at, step, "an array of paths", paths);
  return paths
    .map((path: unknown) => {
      if (typeof path !== "string" || !/^[a-z0-9._]*$/.test(path) || /_(?![a-z])/.test(path)) throw toJsonError(at, step, "field mask paths of lower_snake_case words that each start with a letter", path);
      return path.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    })
    .join(",");
}

// ---------------------------------------------------------------- Struct, Value, ListValue

const MAX_DEPTH = 100;

function valueFrom(v: unknown, at: string, step: Step, depth: number): Json {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw jsonError(at, step, "a finite number (google.protobuf.Value)", v);
    return v;
  }
  if (typeof v === "string") return jsonString(v, at, step);
  if (depth >= MAX_DEPTH) throw new JsonError("fromJson", jsonPath(at, step), `nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(v)) {
    const path = jsonPath(at, step);
    return v.map((e, i) => valueFrom(e, path, i, depth + 1));
  }
  return structFrom(v, at, step, depth);
}

function structFrom(v: unknown, at: string, step: Step, depth: number): { [key: string]: Json } {
  const o = jsonObject(v, at, step);
  const path = jsonPath(at, step);
  const out: { [key: string]: Json } = {};
  for (const k of Object.keys(o)) {
    const value = valueFrom(o[k], path, jsonKeyStep(jsonString(k, path, jsonKeyStep(k))), depth + 1);
    // defineProperty: a key "__proto__" stays an own property.
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** `google.protobuf.Value` from any JSON value (a copy). */
export function jsonValue(v: unknown, at: string, step: Step): Json {
  return valueFrom(v, at, step, 0);
}

/** `google.protobuf.Struct` from a JSON object (a copy). */
export function jsonStruct(v: unknown, at: string, step: Step): { [key: string]: Json } {
  return structFrom(v, at, step, 0);
}

/** `google.protobuf.ListValue` from a JSON array (a copy). */
export function jsonListValue(v: unknown, at: string, step: Step): Json[] {
  const list = jsonArray(v, at, step);
  const path = jsonPath(at, step);
  return list.map((e, i) => valueFrom(e, path, i, 1));
}

function valueOut(v: unknown, at: string, step: Step, depth: number): Json {
  if (v === null || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw toJsonError(at, step, "a finite number (google.protobuf.Value has no NaN or Infinity in JSON)", v);
    return v;
  }
  if (typeof v === "string") return stringJson(v, at, step);
  if (depth >= MAX_DEPTH) throw new JsonError("toJson", jsonPath(at, step), `nested deeper than ${MAX_DEPTH} levels`);
  const path = jsonPath(at, step);
  if (Array.isArray(v)) return v.map((e, i) => valueOut(e, path, i, depth + 1));
  if (typeof v === "object" && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const out: { [key: string]: Json } = {};
    for (const k of Object.keys(v)) {
      const e = (v as Record<string, unknown>)[k];
      if (e === undefined) continue;
      Object.defineProperty(out, k, { value: valueOut(e, path, jsonKeyStep(stringJson(k, path, jsonKeyStep(k))), depth + 1), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  throw toJsonError(at, step, "null, a boolean, a number, a string, an array or a plain object (google.protobuf.Value)", v);
}

/** A `google.protobuf.Value` for output (a copy); `undefined` (a Value with no kind) throws: JSON has no form for it. */
export function valueJson(v: unknown, at: string, step: Step): Json {
  if (v === undefined) throw toJsonError(at, step, "a JSON value (a google.protobuf.Value with no kind has no JSON form)", v);
  return valueOut(v, at, step, 0);
}

/** A `google.protobuf.Struct` for output (a copy). */
export function structJson(v: unknown, at: string, step: Step): { [key: string]: Json } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw toJsonError(at, step, "a plain object (google.protobuf.Struct)", v);
  return valueOut(v, at, step, 0) as { [key: string]: Json };
}

/** A `google.protobuf.ListValue` for output (a copy). */
export function listValueJson(v: unknown, at: string, step: Step): Json[] {
  if (!Array.isArray(v)) throw toJsonError(at, step, "an array (google.protobuf.ListValue)", v);
  return valueOut(v, at, step, 0) as Json[];
}

/** Sets `key` of a JSON object being built as an own property (a map key `__proto__` included). */
export function jsonSet(o: { [key: string]: Json }, key: string, value: Json): void {
  if (key === "__proto__") Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

// ---------------------------------------------------------------- Any

/** How `google.protobuf.Any` reaches the JSON codecs of the type it packs (generated per project, in `any.cache.ts`). */
export interface AnyJsonType {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly encode: (w: Writer, m: any) => void;
  readonly decode: (r: Reader, end: number) => unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly toJson: (m: any, o: ToJsonOptions | undefined, at: string, depth: number) => Json;
  readonly fromJson: (j: unknown, o: FromJsonOptions | undefined, at: string, depth: number) => unknown;
  /** True for types with a JSON form of their own (well-known types): written as `{"@type", "value"}`. */
  readonly wrapped: boolean;
}

function typeNameOf(url: string): string {
  return url.slice(url.lastIndexOf("/") + 1);
}

/** `google.protobuf.Any` for output: `{"@type": url, ...fields}` or `{"@type": url, "value": json}`; a type not in `types` throws. */
export function anyJson(m: { readonly typeUrl: string; readonly value: Uint8Array }, types: ReadonlyMap<string, AnyJsonType>, o: ToJsonOptions | undefined, at: string, depth: number): JsonObject {
  if (typeof m.typeUrl !== "string") throw toJsonError(at, "typeUrl", "string", m.typeUrl);
  if (!(m.value instanceof Uint8Array)) throw toJsonError(at, "value", "Uint8Array", m.value);
  if (m.typeUrl === "" && m.value.length === 0) return {};
  const type = types.get(typeNameOf(m.typeUrl));
  if (type === undefined) throw toJsonError(at, "typeUrl", "the type URL of a message this project generates or a well-known type", m.typeUrl);
  let decoded: unknown;
  try {
    const bytes = Buffer.from(m.value.buffer, m.value.byteOffset, m.value.length);
    decoded = type.decode(new Reader(bytes), bytes.length);
  } catch (error) {
    throw new JsonError("toJson", jsonPath(at, "value"), `not a valid ${typeNameOf(m.typeUrl)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const json = type.toJson(decoded, o, jsonPath(at, "value"), depth + 1);
  if (type.wrapped) return { "@type": m.typeUrl, value: json };
  const out: JsonObject = { "@type": m.typeUrl };
  for (const [k, v] of Object.entries(json as JsonObject)) jsonSet(out, k, v);
  return out;
}

/** `google.protobuf.Any` from JSON: `"@type"` names a message this project generates or a well-known type. */
export function jsonAny(j: unknown, types: ReadonlyMap<string, AnyJsonType>, o: FromJsonOptions | undefined, at: string, depth: number): { typeUrl: string; value: Uint8Array } {
  const obj = jsonMessage(j, at, depth);
  const keys = Object.keys(obj);
  if (keys.length === 0) return { typeUrl: "", value: new Uint8Array(0) };
  const url = obj["@type"];
  if (typeof url !== "string" || url.indexOf("/") < 0) throw jsonError(at, "@type", "a type URL (\"type.googleapis.com/acme.user.v1.User\")", url);
  const type = types.get(typeNameOf(url));
  if (type === undefined) throw jsonError(at, "@type", "the type URL of a message this project generates or a well-known type", url);
  let value: unknown;
  if (type.wrapped) {
    for (const k of keys) if (k !== "@type" && k !== "value" && o?.ignoreUnknownFields !== true) throw unknownJsonField(at, k, "google.protobuf.Any");
    if (!("value" in obj)) throw new JsonError("fromJson", jsonPath(at, "value"), "missing");
    value = type.fromJson(obj["value"], o, jsonPath(at, "value"), depth + 1);
  } else {
    const fields: Record<string, unknown> = {};
    for (const k of keys) if (k !== "@type") Object.defineProperty(fields, k, { value: obj[k], enumerable: true, writable: true, configurable: true });
    value = type.fromJson(fields, o, at, depth + 1);
  }
  const w = new Writer(64);
  try {
    type.encode(w, value);
  } catch (error) {
    throw new JsonError("fromJson", at, `cannot pack the value: ${error instanceof Error ? error.message : String(error)}`);
  }
  const bytes = w.copy();
  return { typeUrl: url, value: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length) };
}

function unwrapped<T>(encode: (w: Writer, v: T, holder: object, field: string) => void, decode: (r: Reader, end: number) => T, write: (v: unknown, at: string, step: Step) => Json, read: (v: unknown, at: string, step: Step) => unknown): AnyJsonType {
  const holder = {};
  return {
    encode: (w, v) => encode(w, v as T, holder, "value"),
    decode,
    toJson: (m, _o, at) => write(m, at, ""),
    fromJson: (j, _o, at) => read(j, at, ""),
    wrapped: true,
  };
}

/** The well-known types ts-proto unwraps, for Any (the generated registry adds the project's messages, Timestamp, Duration, Any). */
export function wellKnownAnyTypes(): [string, AnyJsonType][] {
  return [
    ["google.protobuf.DoubleValue", unwrapped(encodeDoubleValue, decodeDoubleValue, doubleJson, jsonDouble)],
    ["google.protobuf.FloatValue", unwrapped(encodeFloatValue, decodeFloatValue, floatJson, jsonFloat)],
    ["google.protobuf.Int64Value", unwrapped(encodeInt64Value, decodeInt64Value, int64Json, jsonInt64)],
    ["google.protobuf.UInt64Value", unwrapped(encodeUInt64Value, decodeUInt64Value, uint64Json, jsonUint64)],
    ["google.protobuf.Int32Value", unwrapped(encodeInt32Value, decodeInt32Value, int32Json, jsonInt32)],
    ["google.protobuf.UInt32Value", unwrapped(encodeUInt32Value, decodeUInt32Value, uint32Json, jsonUint32)],
    ["google.protobuf.BoolValue", unwrapped(encodeBoolValue, decodeBoolValue, boolJson, jsonBool)],
    ["google.protobuf.StringValue", unwrapped(encodeStringValue, decodeStringValue, stringJson, jsonString)],
    ["google.protobuf.BytesValue", unwrapped(encodeBytesValue, decodeBytesValue, bytesJson, jsonBytes)],
    ["google.protobuf.Struct", unwrapped(encodeStruct, decodeStruct, structJson, jsonStruct)],
    ["google.protobuf.Value", unwrapped(encodeValue, decodeValue, valueJson, jsonValue)],
    ["google.protobuf.ListValue", unwrapped(encodeListValue, decodeListValue, listValueJson, jsonListValue)],
    ["google.protobuf.FieldMask", unwrapped(encodeFieldMask, decodeFieldMask, (v, at, step) => fieldMaskJson(v, at, step), jsonFieldMask)],
  ];
}
