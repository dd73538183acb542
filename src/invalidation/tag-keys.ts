import { escapeKeyPart } from "../keys.js";

/**
 * Where invalidation state lives in Redis (docs/invalidation.md): one small
 * key per tag, `{prefix}tag:{tag}` (the tag escaped like a key part, so it
 * holds no `:`, glob character or brace), and one per key space cleared,
 * `{prefix}tag:{entity}:v{major}[:{variant}]:` (always with `:`, so it can
 * equal no tag's key). Both hold the epoch milliseconds of the last
 * invalidation, as decimal text. Every one of them starts with
 * {@link statePrefix}, the prefix tracking watches.
 */
export function statePrefix(prefix: string): string {
  return `${prefix}tag:`;
}

/** The state key of one tag. */
export function tagKeyOf(prefix: string, tag: string): string {
  return `${prefix}tag:${escapeKeyPart(tag)}`;
}

/** The state key of one key space (`base` is its keys' start, `{prefix}{entity}:v{major}[:{variant}]:`), what `clear()` sets. */
export function scopeKeyOf(prefix: string, base: string): string {
  return `${prefix}tag:${base.slice(prefix.length)}`;
}

/** Longest state value read (decimal milliseconds are 13 to 16 characters): a longer one is damage. */
const MAX_STATE_BYTES = 20;

/**
 * A state key's value: the epoch milliseconds of the last invalidation,
 * `-Infinity` for a key that does not exist (never invalidated), or
 * undefined for a value that is not such a number (damage: the caller
 * treats every entry it covers as invalidated and reports it).
 */
export function parseState(bytes: Buffer | null): number | undefined {
  if (bytes === null) return -Infinity;
  if (bytes.length === 0 || bytes.length > MAX_STATE_BYTES) return undefined;
  const text = bytes.toString("latin1");
  if (!/^[0-9]+$/.test(text)) return undefined;
  const ms = Number(text);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The bytes of a list of tags in an envelope (validated by `tagList`): a count byte, then each tag as a length byte and UTF-8. */
export function encodeTags(tags: readonly string[]): Buffer {
  const parts = tags.map((t) => Buffer.from(t, "utf8"));
  const out = Buffer.allocUnsafe(1 + parts.reduce((n, p) => n + 1 + p.length, 0));
  out[0] = parts.length;
  let p = 1;
  for (const part of parts) {
    out[p++] = part.length;
    part.copy(out, p);
    p += part.length;
  }
  return out;
}
