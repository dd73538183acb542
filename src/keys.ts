import { ConfigError } from "./errors.js";

/** Characters a key part may not contain raw: the separator, glob characters, hash-tag braces, and `%` itself. */
const special = /[%:*?[\]\\{}]/;
const specialAll = /[%:*?[\]\\{}]/g;
const escaped = /%(25|3A|2A|3F|5B|5D|5C|7B|7D)/g;

/**
 * Escapes one key part so it can contain no separator, glob character or
 * hash-tag brace: a SCAN pattern for one entity can never match another's
 * keys and no input can choose a Redis Cluster slot. Round-trips exactly
 * through {@link unescapeKeyPart}.
 */
export function escapeKeyPart(part: string): string {
  return special.test(part) ? part.replace(specialAll, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : part;
}

/** Reverses {@link escapeKeyPart}. */
export function unescapeKeyPart(part: string): string {
  return part.includes("%") ? part.replace(escaped, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : part;
}

/** Thrown by the key-part formatters; the accessor rethrows it as a KeyError naming the entity. */
export class KeyPartError extends Error {
  override readonly name = "KeyPartError";
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

/** Formats a string key field. */
export function keyString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new KeyPartError(field, `expected a string, got ${describe(value)}`);
  if (value === "") throw new KeyPartError(field, "is empty");
  return escapeKeyPart(value);
}

/** Formats a 32-bit integer or enum key field (signed or unsigned range). */
export function keyInt(value: unknown, field: string): string {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) {
    throw new KeyPartError(field, `expected a 32-bit integer, got ${describe(value)}`);
  }
  return String(value);
}

/** Formats a 64-bit integer key field (a bigint, as in the generated types). */
export function keyBigint(value: unknown, field: string): string {
  if (typeof value !== "bigint" || value < -(2n ** 63n) || value >= 2n ** 64n) {
    throw new KeyPartError(field, `expected a 64-bit bigint, got ${describe(value)}`);
  }
  return value.toString();
}

/** Formats a bool key field. */
export function keyBool(value: unknown, field: string): string {
  if (typeof value !== "boolean") throw new KeyPartError(field, `expected a boolean, got ${describe(value)}`);
  return value ? "true" : "false";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return value === "" ? "an empty string" : "a string";
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

const unsafePrefix = /[*?[\]\\{}]/;

/** Checks a user-chosen key prefix: glob characters and braces would break SCAN isolation and slot hashing. */
export function validatePrefix(prefix: string, option = "prefix"): string {
  if (unsafePrefix.test(prefix)) throw new ConfigError(option, `"${prefix}" may not contain * ? [ ] \\ { or }`);
  return prefix;
}

/** Start of every key of one entity, major and variant: `{prefix}{entity}:v{major}[:{variant}]:`. */
export function keyBase(prefix: string, entity: string, major: number, variant: string | undefined): string {
  return `${prefix}${entity}:v${major}${variant === undefined ? "" : `:${escapeKeyPart(variant)}`}:`;
}

/** SCAN pattern matching every key of one entity and major (all variants), and nothing else. */
export function scanPattern(prefix: string, entity: string, major: number): string {
  return `${prefix}${entity}:v${major}:*`;
}

/** Splits the part of a key after {@link keyBase} back into unescaped parts. */
export function splitKeyParts(rest: string): string[] {
  return rest.split(":").map(unescapeKeyPart);
}
