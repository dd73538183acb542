/**
 * Freshness and TTLs of the loading cache (docs/loading.md, docs/envelope.md
 * "Freshness"): an entry's age is read from its envelope's written-at, its
 * fresh TTL is the reader's (the accessor's or the call's) less a per-key
 * jitter, and its Redis TTL covers the fresh TTL plus grace.
 */

/**
 * A number in [0, 1) from `key` (32-bit FNV-1a over its UTF-16 code units,
 * then MurmurHash3's finalizer so that keys differing only in their last
 * characters still spread over the whole range): the same on every
 * instance, spread evenly over keys.
 */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 0x1_0000_0000;
}

/** Milliseconds `key` stays fresh: `ttlSeconds` less up to `jitter` of it (by the key's hash); Infinity for no expiry. */
export function freshMsOf(key: string, ttlSeconds: number, jitter: number): number {
  if (ttlSeconds === 0) return Infinity;
  const ms = ttlSeconds * 1000;
  return jitter === 0 ? ms : ms * (1 - jitter * keyHash(key));
}

/**
 * The Redis TTL, in whole seconds, of a write of `key`: its jittered fresh
 * TTL plus `graceSeconds`, rounded up (never below 1 s); 0 (no expiry) when
 * `ttlSeconds` is 0.
 */
export function storedTtlOf(key: string, ttlSeconds: number, jitter: number, graceSeconds: number): number {
  if (ttlSeconds === 0) return 0;
  if (jitter === 0) return ttlSeconds + graceSeconds;
  return Math.max(1, Math.ceil(freshMsOf(key, ttlSeconds, jitter) / 1000)) + graceSeconds;
}

/** What a read of a value found, by age: fresh, fresh and due for an eager refresh, stale (within grace), or past grace. */
export type Freshness = "fresh" | "eager" | "stale" | "expired";

/**
 * The freshness of an entry written at `writtenAt` (ms since the epoch;
 * undefined when the envelope has none, or for a value from another key
 * space: then fresh). A writer's clock ahead of the reader's makes a
 * negative age, read as 0 (fresh).
 */
export function freshnessOf(writtenAt: number | undefined, now: number, freshMs: number, graceSeconds: number, eagerRefresh: number | undefined): Freshness {
  if (writtenAt === undefined || freshMs === Infinity) return "fresh";
  const age = now - writtenAt;
  if (age < freshMs) return eagerRefresh !== undefined && age >= freshMs * eagerRefresh ? "eager" : "fresh";
  return age < freshMs + graceSeconds * 1000 ? "stale" : "expired";
}
