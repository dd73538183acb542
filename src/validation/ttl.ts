import { integer, type Check } from "./checks.js";

/**
 * The longest TTL any option takes, in seconds: 10 years (of 365.25 days).
 * Every TTL option (`ttlSeconds` of an accessor and of a write or load,
 * `loading.graceSeconds`, `loading.absentTtlSeconds`, an entity's
 * `ttl_seconds`) is bounded by it: a cache entry meant to outlive a decade
 * is not cached data (0 is "no expiry"), and every TTL protocache computes
 * (fresh TTL + grace, at most 20 years; in milliseconds; added to the
 * clock) stays an exact integer in a JavaScript number and far inside what
 * Redis holds (an expiry in milliseconds since the epoch, signed 64-bit).
 * docs/policies.md, "TTLs", says why this bound.
 */
export const MAX_TTL_SECONDS = 315_576_000;

/** A TTL option: whole seconds from 0 to {@link MAX_TTL_SECONDS}; `zero` says what 0 means (`no expiry`). */
export function ttlSeconds(zero?: string): Check<number> {
  return integer(0, MAX_TTL_SECONDS, `whole seconds from 0 to ${MAX_TTL_SECONDS} (10 years${zero === undefined ? "" : `; 0: ${zero}`})`);
}
