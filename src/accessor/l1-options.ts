import type { InvalidationSource } from "../l1/invalidation-source.js";
import type { L1Values } from "../l1/l1.js";
import { integer, oneOf, optional, satisfies, withDefault, type Check } from "../validation/checks.js";
import { options, type ShapeOf } from "../validation/options-object.js";

/**
 * The in-process L1 tier (`l1` of an accessor's options; docs/l1.md):
 * decoded values held in front of Redis, dropped when Redis says their key
 * changed (server-assisted client-side caching on connections protocache
 * opens itself), bounded by entries and by bytes.
 */
export interface L1Options {
  /** Most entries held (W-TinyLFU evicts past it). Required: from 1 to 10 000 000. */
  readonly maxEntries: number;
  /** Most estimated heap bytes held, keys and values (docs/l1.md "Memory"). Required: from 1024 to 2^40. */
  readonly maxBytes: number;
  /** Longest a value is served from L1 without a read from Redis, in seconds: the bound on staleness if an invalidation were ever lost. Default 60; from 1 to 86400. */
  readonly ttlSeconds?: number;
  /** `"frozen"` (default): every caller gets the same deep-frozen object. `"copy"`: every hit returns a structuredClone the caller may change. */
  readonly values?: L1Values;
  /** Where invalidations come from; default the store's own (`store.tracking()`). A GlideStore needs one: `ioredisTracking(client)` or `nodeRedisTracking(client)`. */
  readonly tracking?: InvalidationSource;
}

/** {@link L1Options} checked, with defaults; the source is resolved against the store by the accessor. */
export interface ResolvedL1 {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly values: L1Values;
  readonly tracking: InvalidationSource | undefined;
}

export const sourceCheck = satisfies<InvalidationSource>(
  (v) => typeof v === "object" && v !== null && typeof (v as InvalidationSource).watch === "function",
  "an invalidation source (store.tracking(), ioredisTracking(client), nodeRedisTracking(client))",
);

const l1Spec = options(
  {
    maxEntries: integer(1, 10_000_000),
    maxBytes: integer(1024, 2 ** 40),
    ttlSeconds: withDefault(integer(1, 86_400), 60),
    values: withDefault(oneOf(["frozen", "copy"] as const), "frozen"),
    tracking: optional(sourceCheck),
  } satisfies ShapeOf<L1Options>,
  { expected: "an object like { maxEntries: 10000, maxBytes: 67108864 } or nothing" },
);

/** `l1` of the accessor's options, checked (undefined: no L1). */
export const l1Check: Check<ResolvedL1 | undefined> = (value, path) => {
  if (value === undefined) return undefined;
  const o = l1Spec(value, path);
  return { maxEntries: o.maxEntries, maxBytes: o.maxBytes, ttlMs: o.ttlSeconds * 1000, values: o.values, tracking: o.tracking };
};
