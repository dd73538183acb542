import { describeValue } from "./describe-value.js";
import { ConfigError } from "./errors.js";
import { isWellFormed, loneSurrogateAt } from "./unicode.js";

export { loneSurrogateAt } from "./unicode.js";

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
  return needsEscape(part) ? part.replace(specialAll, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : part;
}

/** The characters of {@link special}, by code unit. */
const SPECIAL = new Uint8Array(128);
for (const c of "%:*?[]\\{}") SPECIAL[c.charCodeAt(0)] = 1;

/** Whether `part` holds a character {@link escapeKeyPart} escapes: a loop for a short part (an id, on every read), the regex for a long one. */
function needsEscape(part: string): boolean {
  if (part.length > 32) return special.test(part);
  for (let i = 0; i < part.length; i++) if (SPECIAL[part.charCodeAt(i)] === 1) return true;
  return false;
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

/**
 * Formats a string key field. Lone surrogates are rejected: clients send
 * them as U+FFFD, so `"a\uD800"` and `"a\uDC00"` would share one Redis key
 * (and a client would compute a slot the server disagrees with).
 */
export function keyString(value: unknown, field: string): string {
  if (typeof value !== "string") throw new KeyPartError(field, `expected a string, got ${describeValue(value)}`);
  if (value === "") throw new KeyPartError(field, "is empty");
  if (!isWellFormed(value)) throw new KeyPartError(field, `is not well-formed Unicode (lone surrogate at index ${loneSurrogateAt(value)})`);
  return escapeKeyPart(value);
}

/** Formats a 32-bit integer or enum key field (signed or unsigned range). */
export function keyInt(value: unknown, field: string): string {
  if (typeof value !== "number" || !Number.isInteger(value) || value < -0x8000_0000 || value > 0xffff_ffff) {
    throw new KeyPartError(field, `expected a 32-bit integer, got ${describeValue(value)}`);
  }
  return String(value);
}

/** Formats a 64-bit integer key field (a bigint, as in the generated types). */
export function keyBigint(value: unknown, field: string): string {
  if (typeof value !== "bigint" || value < -(2n ** 63n) || value >= 2n ** 64n) {
    throw new KeyPartError(field, `expected a 64-bit bigint, got ${describeValue(value)}`);
  }
  return value.toString();
}

/** Formats a bool key field. */
export function keyBool(value: unknown, field: string): string {
  if (typeof value !== "boolean") throw new KeyPartError(field, `expected a boolean, got ${describeValue(value)}`);
  return value ? "true" : "false";
}

const unsafePrefix = /[*?[\]\\{}]/;
const majorSegment = /^v[0-9]+$/;

/**
 * Checks a user-chosen key prefix. Glob characters and braces would break
 * SCAN isolation and slot hashing; lone surrogates would alias other
 * prefixes' bytes. A prefix is empty or `:`-terminated segments none of
 * which looks like a major (`v` + digits): then the first `v<digits>`
 * segment of any key is its major, so no prefix can make one entity's keys
 * equal another's (`"session:v1:"` on User would otherwise equal Session
 * with variant `"user"`). See docs/policies.md.
 */
export function validatePrefix(prefix: string, option = "prefix"): string {
  if (prefix === "") return prefix;
  if (unsafePrefix.test(prefix)) throw new ConfigError(option, `"${prefix}" may not contain * ? [ ] \\ { or }`);
  checkWellFormed(prefix, option);
  if (!prefix.endsWith(":")) throw new ConfigError(option, `"${prefix}" must end with ":" (e.g. "${prefix}:"), so it cannot run into the entity name`);
  const segment = prefix.slice(0, -1).split(":").find((s) => majorSegment.test(s));
  if (segment !== undefined) {
    throw new ConfigError(option, `"${prefix}" may not contain the segment "${segment}": segments of the form v<digits> mark an entity's major, so this prefix could equal another entity's keys (use e.g. "${segment.slice(1)}" or "app-${segment}")`);
  }
  return prefix;
}

/** Rejects lone surrogates in an option: two such strings can encode to the same UTF-8 bytes. */
export function checkWellFormed(text: string, option: string): string {
  if (!isWellFormed(text)) throw new ConfigError(option, `is not well-formed Unicode (lone surrogate at index ${loneSurrogateAt(text)})`);
  return text;
}

/** Rejects entity names a key could confuse with a major segment (`v` + digits). */
export function validateEntityName(entity: string, typeName: string): string {
  if (majorSegment.test(entity)) throw new ConfigError("entity", `${typeName}: the entity name "${entity}" looks like a major segment (v<digits>); keys would be ambiguous`);
  return entity;
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
