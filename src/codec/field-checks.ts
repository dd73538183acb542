/**
 * Checks generated encoders apply to every field value before writing it
 * (the TypeScript types are not enforced at run time: a value built from
 * JSON or `any` must not be silently changed on the way to the cache).
 */

import { loneSurrogateAt } from "../unicode.js";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const FLOAT32_MAX = 3.4028234663852886e38;

/** True for a bigint that fits int64 / sint64 / sfixed64. */
export function isInt64(v: unknown): boolean {
  return typeof v === "bigint" && v >= INT64_MIN && v <= INT64_MAX;
}

/** True for a bigint that fits uint64 / fixed64. */
export function isUint64(v: unknown): boolean {
  return typeof v === "bigint" && v >= 0n && v <= UINT64_MAX;
}

/** True for a number a float field can hold: NaN, ±Infinity, or a finite value within float32 range. */
export function isFloat32(v: unknown): boolean {
  return typeof v === "number" && (!(v > FLOAT32_MAX || v < -FLOAT32_MAX) || !Number.isFinite(v));
}

/**
 * A field value does not fit its proto type. Encoders throw it with the
 * object holding the value; the caller turns it into an `EncodeError` whose
 * path starts at the value it was asked to encode ({@link FieldValueError.pathFrom}).
 */
export class FieldValueError extends Error {
  override readonly name = "FieldValueError";

  constructor(
    /** The message (or Struct object / list) that holds the bad value. */
    readonly holder: object,
    /** Property of `holder`; "" when `holder` itself is the problem. */
    readonly field: string,
    /** What the field accepts, e.g. `int32`. */
    readonly expected: string,
    readonly value: unknown,
  ) {
    super(`expected ${expected}, got ${describeValue(value)}`);
  }

  /** Path from `root` to the bad value, e.g. `client.ip` or `previousClients[5n].ip` (just the field when not found). */
  pathFrom(root: unknown): string {
    const base = pathTo(root, this.holder);
    if (this.field === "") return (base ?? "").replace(/^\./, "");
    const own = this.holder as Record<string, unknown>;
    let step = Array.isArray(this.holder) ? `[${this.field}]` : propertyStep(this.field);
    const inner = this.field in own ? own[this.field] : undefined;
    if (Array.isArray(inner) && inner !== this.value) {
      const i = inner.findIndex((x) => Object.is(x, this.value));
      if (i >= 0) step += `[${i}]`;
    } else if (inner instanceof Map) {
      for (const [k, v] of inner) {
        if (Object.is(k, this.value) || Object.is(v, this.value)) {
          step += `[${keyText(k)}]`;
          break;
        }
      }
    }
    const path = (base ?? "") + step;
    return path.startsWith(".") ? path.slice(1) : path;
  }
}

/**
 * A string field value (a map key, a list element, a Struct key…) with a
 * lone surrogate: it has no UTF-8 form, and writing it as U+FFFD (what
 * Node's encoder does) would store another value than the one given. The
 * writer throws it without knowing the field; {@link pathFrom} finds the
 * string in the value being encoded.
 */
export class IllFormedStringError extends FieldValueError {
  constructor(value: string) {
    super(unknownHolder, "", `a well-formed Unicode string (lone surrogate at index ${loneSurrogateAt(value)})`, value);
  }

  /** Path from `root` to the first place (breadth-first, in property order) that holds the string: a property, a list element, a map key or value, a Struct key. */
  override pathFrom(root: unknown): string {
    const path = pathTo(root, this.value) ?? "";
    return path.startsWith(".") ? path.slice(1) : path;
  }
}

/** The holder of an {@link IllFormedStringError}: the writer does not know it. */
const unknownHolder: object = Object.freeze({});

/** Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range google/protobuf/timestamp.proto allows. */
export const TIMESTAMP_SECONDS = [-62_135_596_800n, 253_402_300_799n] as const;
/** ±10 000 years in seconds: the range google/protobuf/duration.proto allows. */
export const DURATION_SECONDS = 315_576_000_000n;

/**
 * Checks a `google.protobuf.Timestamp` against the ranges its definition
 * gives (seconds within years 1 to 9999, nanos from 0 to 999 999 999);
 * generated encoders call it after the fields' own type checks, decoders on
 * the value read (a `corrupt` entry: what a read returns can be written
 * back). Throws {@link FieldValueError} naming the field.
 */
export function checkTimestamp(m: { readonly seconds: bigint; readonly nanos: number }): void {
  if (m.nanos < 0 || m.nanos > 999_999_999) throw new FieldValueError(m, "nanos", "nanos from 0 to 999999999 (google.protobuf.Timestamp)", m.nanos);
  if (m.seconds < TIMESTAMP_SECONDS[0] || m.seconds > TIMESTAMP_SECONDS[1]) {
    throw new FieldValueError(m, "seconds", "seconds of 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z (google.protobuf.Timestamp)", m.seconds);
  }
}

/**
 * Checks a `google.protobuf.Duration` against the ranges its definition
 * gives (seconds within ±10 000 years, nanos within ±999 999 999 and of the
 * same sign as non-zero seconds); generated encoders call it after the
 * fields' own type checks, decoders on the value read. Throws
 * {@link FieldValueError} naming the field.
 */
export function checkDuration(m: { readonly seconds: bigint; readonly nanos: number }): void {
  if (m.nanos < -999_999_999 || m.nanos > 999_999_999) throw new FieldValueError(m, "nanos", "nanos from -999999999 to 999999999 (google.protobuf.Duration)", m.nanos);
  if (m.seconds < -DURATION_SECONDS || m.seconds > DURATION_SECONDS) throw new FieldValueError(m, "seconds", "seconds within ±315576000000 (google.protobuf.Duration)", m.seconds);
  if ((m.seconds > 0n && m.nanos < 0) || (m.seconds < 0n && m.nanos > 0)) {
    throw new FieldValueError(m, "nanos", "nanos of the same sign as seconds (google.protobuf.Duration)", m.nanos);
  }
}

/** Creates the error an encoder throws for a bad value (a function, so generated code stays short). */
export function invalidField(holder: object, field: string, expected: string, value: unknown): FieldValueError {
  return new FieldValueError(holder, field, expected, value);
}

function describeValue(v: unknown): string {
  switch (typeof v) {
    case "string":
      return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
    case "bigint":
      return `bigint ${v}n`;
    case "number":
      return `number ${Object.is(v, -0) ? "-0" : String(v)}`;
    case "object":
      return v === null ? "null" : `${(v as object).constructor?.name ?? "object"}`;
    default:
      return String(typeof v === "symbol" ? v.toString() : v === undefined ? "undefined" : typeof v);
  }
}

function propertyStep(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function keyText(k: unknown): string {
  return typeof k === "bigint" ? `${k}n` : typeof k === "string" ? JSON.stringify(k) : String(k);
}

/**
 * Path from `root` to `target`, breadth-first (each object once, at most 256
 * levels): an object by identity, or a string (also as a map key or a
 * property name: a Struct key); undefined when not reachable.
 */
function pathTo(root: unknown, target: unknown): string | undefined {
  if (root === target) return "";
  const named = typeof target === "string";
  const seen = new Set<object>();
  let level: [object, string][] = typeof root === "object" && root !== null ? [[root, ""]] : [];
  for (let depth = 0; depth < 256 && level.length > 0; depth++) {
    const next: [object, string][] = [];
    for (const [node, path] of level) {
      if (seen.has(node)) continue;
      seen.add(node);
      if (named && node instanceof Map && node.has(target)) return `${path}[${keyText(target)}]`;
      if (named && !Array.isArray(node) && !ArrayBuffer.isView(node) && !(node instanceof Map) && Object.hasOwn(node, target)) return path + propertyStep(target);
      for (const [child, step] of children(node)) {
        if (child === target) return path + step;
        if (typeof child === "object" && child !== null) next.push([child, path + step]);
      }
    }
    level = next;
  }
  return undefined;
}

function children(node: object): [unknown, string][] {
  if (ArrayBuffer.isView(node)) return [];
  if (Array.isArray(node)) return node.map((v, i) => [v, `[${i}]`]);
  if (node instanceof Map) return [...node].map(([k, v]) => [v, `[${keyText(k)}]`]);
  return Object.keys(node).map((k) => [(node as Record<string, unknown>)[k], propertyStep(k)]);
}
