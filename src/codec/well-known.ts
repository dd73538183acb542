import { invalidField, isFloat32, isInt64, isUint64 } from "./field-checks.js";
import type { Reader } from "./reader.js";
import { Work } from "./work.js";
import type { Writer } from "./writer.js";

/**
 * Codecs of the well-known types ts-proto represents as plain values:
 * wrappers (`google.protobuf.StringValue` → `string`), Struct (a plain
 * object), Value (any JSON value), ListValue (an array) and FieldMask (its
 * paths). Generated encoders write the field tag and length; these write the
 * message body and validate the value (the holder and field name say where a
 * bad value sits). Decoders take the value decoded so far for the same field
 * and merge into it, as the wire format requires. Unknown fields inside these
 * messages are skipped: ts-proto's shapes have nowhere to keep them.
 * Decoders charge the reader's work budget like generated ones: a Struct
 * entry as a map entry, each new object or array by its weight.
 */

/** A JSON-like value as ts-proto types `google.protobuf.Value`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonValue = any;

/** ts-proto's shape of `google.protobuf.Struct`. */
export type JsonObject = { [key: string]: JsonValue };

type Encode<T> = (w: Writer, value: T, holder: object, field: string | number) => void;
type Decode<T> = (r: Reader, end: number, previous?: T) => T;

/** Encoder and decoder of a wrapper message (one implicit-presence field, number 1). */
function wrapper<T>(name: string, tag: number, write: (w: Writer, v: T) => void, read: (r: Reader) => T, valid: (v: unknown) => boolean, present: (v: T) => boolean, zero: T): [Encode<T>, Decode<T>] {
  const encode: Encode<T> = (w, value, holder, field) => {
    if (!valid(value)) throw invalidField(holder, String(field), name, value);
    if (present(value)) {
      w.byte(tag);
      write(w, value);
    }
  };
  const decode: Decode<T> = (r, end, previous) => {
    let value = previous ?? zero;
    r.enter(1);
    while (r.pos < end) {
      const t = r.tag();
      if (t === tag) value = read(r);
      else r.skipField(t);
    }
    r.leave(end);
    return value;
  };
  return [encode, decode];
}

const isNumber = (v: unknown): boolean => typeof v === "number";
const nonZeroNumber = (v: number): boolean => v !== 0 || 1 / v < 0;

/** `google.protobuf.DoubleValue` as `number`. */
export const [encodeDoubleValue, decodeDoubleValue] = wrapper<number>("double", 9, (w, v) => w.double(v), (r) => r.double(), isNumber, nonZeroNumber, 0);
/** `google.protobuf.FloatValue` as `number`. */
export const [encodeFloatValue, decodeFloatValue] = wrapper<number>("float", 13, (w, v) => w.float(v), (r) => r.float(), isFloat32, nonZeroNumber, 0);
/** `google.protobuf.Int64Value` as `bigint`. */
export const [encodeInt64Value, decodeInt64Value] = wrapper<bigint>("int64", 8, (w, v) => w.int64(v), (r) => r.int64(), isInt64, (v) => v !== 0n, 0n);
/** `google.protobuf.UInt64Value` as `bigint`. */
export const [encodeUInt64Value, decodeUInt64Value] = wrapper<bigint>("uint64", 8, (w, v) => w.int64(v), (r) => r.uint64(), isUint64, (v) => v !== 0n, 0n);
/** `google.protobuf.Int32Value` as `number`. */
export const [encodeInt32Value, decodeInt32Value] = wrapper<number>("int32", 8, (w, v) => w.int32(v), (r) => r.int32(), (v) => ((v as number) | 0) === v, (v) => v !== 0, 0);
/** `google.protobuf.UInt32Value` as `number`. */
export const [encodeUInt32Value, decodeUInt32Value] = wrapper<number>("uint32", 8, (w, v) => w.uint32(v), (r) => r.uint32(), (v) => (v as number) >>> 0 === v, (v) => v !== 0, 0);
/** `google.protobuf.BoolValue` as `boolean`. */
export const [encodeBoolValue, decodeBoolValue] = wrapper<boolean>("bool", 8, (w, v) => w.bool(v), (r) => r.bool(), (v) => typeof v === "boolean", (v) => v, false);
/** `google.protobuf.StringValue` as `string`. */
export const [encodeStringValue, decodeStringValue] = wrapper<string>("string", 10, (w, v) => w.string(v), (r) => r.string(), (v) => typeof v === "string", (v) => v !== "", "");
/** `google.protobuf.BytesValue` as `Uint8Array`. */
export const [encodeBytesValue, decodeBytesValue] = wrapper<Uint8Array>("Uint8Array", 10, (w, v) => w.bytes(v), (r) => r.bytes(), (v) => v instanceof Uint8Array, (v) => v.length !== 0, new Uint8Array(0));

/** True for `{}`-style objects (any realm), not arrays, class instances, maps or dates. */
function isPlainObject(v: unknown): v is JsonObject {
  if (typeof v !== "object" || v === null) return false;
  const proto = Object.getPrototypeOf(v) as object | null;
  return proto === null || Object.getPrototypeOf(proto) === null;
}

const jsonValue = "a JSON value (null, boolean, number, string, array, plain object or undefined)";

/** `google.protobuf.Struct` as a plain object; keys whose value is undefined are left out (as ts-proto does). */
export function encodeStruct(w: Writer, value: JsonObject, holder: object, field: string | number): void {
  if (!isPlainObject(value)) throw invalidField(holder, String(field), "a plain object (google.protobuf.Struct)", value);
  w.enter(value);
  for (const key of Object.keys(value)) {
    const item = value[key] as JsonValue;
    if (item === undefined) continue;
    w.byte(10);
    const entry = w.fork();
    w.byte(10);
    w.string(key);
    w.byte(18);
    const at = w.fork();
    encodeValue(w, item, value, key);
    w.join(at);
    w.join(entry);
  }
  w.depth--;
}

/** `google.protobuf.Value` as a JSON value; undefined is a Value with no kind set. */
export function encodeValue(w: Writer, value: JsonValue, holder: object, field: string | number): void {
  w.enter(holder);
  if (value === null) {
    w.byte(8);
    w.byte(0);
  } else {
    switch (typeof value) {
      case "number":
        w.byte(17);
        w.double(value);
        break;
      case "string":
        w.byte(26);
        w.string(value);
        break;
      case "boolean":
        w.byte(32);
        w.bool(value);
        break;
      case "undefined":
        break;
      default: {
        const list = Array.isArray(value);
        if (!list && !isPlainObject(value)) throw invalidField(holder, String(field), jsonValue, value);
        w.byte(list ? 50 : 42);
        const at = w.fork();
        if (list) encodeListValue(w, value as JsonValue[], holder, field);
        else encodeStruct(w, value as JsonObject, holder, field);
        w.join(at);
      }
    }
  }
  w.depth--;
}

/** `google.protobuf.ListValue` as an array of JSON values (undefined elements are Values with no kind). */
export function encodeListValue(w: Writer, value: JsonValue[], holder: object, field: string | number): void {
  if (!Array.isArray(value)) throw invalidField(holder, String(field), "an array (google.protobuf.ListValue)", value);
  w.enter(value);
  for (let i = 0; i < value.length; i++) {
    w.byte(10);
    const at = w.fork();
    encodeValue(w, value[i] as JsonValue, value, i);
    w.join(at);
  }
  w.depth--;
}

/** `google.protobuf.FieldMask` as its paths. */
export function encodeFieldMask(w: Writer, value: string[], holder: object, field: string | number): void {
  if (!Array.isArray(value)) throw invalidField(holder, String(field), "an array of strings (google.protobuf.FieldMask)", value);
  w.enter(value);
  for (let i = 0; i < value.length; i++) {
    const path = value[i];
    if (typeof path !== "string") throw invalidField(value, String(i), "string", path);
    w.byte(10);
    w.string(path);
  }
  w.depth--;
}

/** Sets an own property, even `__proto__`, without touching any prototype. */
function setOwn(target: JsonObject, key: string, value: JsonValue): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** Reads a Struct into `previous` (a later entry replaces an earlier one with the same key); entries without a value are dropped, as ts-proto does. */
export function decodeStruct(r: Reader, end: number, previous?: JsonObject): JsonObject {
  const out: JsonObject = previous ?? {};
  r.enter(2);
  while (r.pos < end) {
    const t = r.tag();
    if (t !== 10) {
      r.skipField(t);
      continue;
    }
    const e = r.entry(Work.mapEntry);
    let key = "";
    let item: JsonValue = undefined;
    while (r.pos < e) {
      const et = r.tag();
      if (et === 10) key = r.string();
      else if (et === 18) item = decodeValue(r, r.end(), item);
      else r.skipField(et);
    }
    r.check(e);
    if (item !== undefined) setOwn(out, key, item);
  }
  r.leave(end);
  return out;
}

/** Reads a Value; a struct or list value merges into a previous one of the same kind. */
export function decodeValue(r: Reader, end: number, previous?: JsonValue): JsonValue {
  let value: JsonValue = previous;
  r.enter(1);
  while (r.pos < end) {
    const t = r.tag();
    switch (t) {
      case 8:
        r.uint32();
        value = null;
        break;
      case 17:
        value = r.double();
        break;
      case 26:
        value = r.string();
        break;
      case 32:
        value = r.bool();
        break;
      case 42:
        value = decodeStruct(r, r.end(), isPlainObject(value) ? value : undefined);
        break;
      case 50:
        value = decodeListValue(r, r.end(), Array.isArray(value) ? (value as JsonValue[]) : undefined);
        break;
      default:
        r.skipField(t);
    }
  }
  r.leave(end);
  return value;
}

/** Reads a ListValue, appending to `previous`. */
export function decodeListValue(r: Reader, end: number, previous?: JsonValue[]): JsonValue[] {
  const out = previous ?? [];
  r.enter(2);
  while (r.pos < end) {
    const t = r.tag();
    if (t === 10) out.push(decodeValue(r, r.end()));
    else r.skipField(t);
  }
  r.leave(end);
  return out;
}

/** Reads a FieldMask's paths, appending to `previous`. */
export function decodeFieldMask(r: Reader, end: number, previous?: string[]): string[] {
  const out = previous ?? [];
  r.enter(2);
  while (r.pos < end) {
    const t = r.tag();
    if (t === 10) out.push(r.string());
    else r.skipField(t);
  }
  r.leave(end);
  return out;
}
