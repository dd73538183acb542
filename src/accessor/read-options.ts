import { boolean, options, withDefault, type ShapeOf } from "../validation/index.js";

/**
 * Per-call options of `get`, `getMany` and `has`.
 *
 * @example
 * ```ts
 * const user = await users.get({ id }, { allowStale: false }); // undefined once the entry is past its fresh TTL
 * ```
 */
export interface ReadOptions {
  /**
   * `false`: a value past its fresh TTL (the accessor's `ttlSeconds`, less
   * jitter, from the envelope's written-at; within grace, or after
   * `expire()`) is a miss for this call: `get` resolves undefined, `has`
   * false. Nothing is deleted or refreshed (`getOrSet` refreshes). Default
   * `true`: `get` returns whatever entry Redis still holds, as it always
   * did (docs/loading.md, "Reading without loading").
   */
  readonly allowStale?: boolean;
}

const readSpec = options({ allowStale: withDefault(boolean(), true) } satisfies ShapeOf<ReadOptions>, {
  name: "read options",
  expected: "an object like { allowStale: false } or nothing",
});

/** True when a read with these options (checked: a misspelt one is a ConfigError) refuses values past their fresh TTL. */
export function freshOnly(options: ReadOptions | undefined): boolean {
  if (options === undefined) return false; // the hot path
  return !readSpec(options, "read options").allowStale;
}
