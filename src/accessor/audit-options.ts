import { options, satisfies, withDefault, type Check, type ShapeOf } from "../validation/index.js";

/**
 * The staleness audit (`audit` of an accessor's options;
 * docs/served-age.md): a sample of the hits `getOrSet` and `getManyOrSet`
 * serve also calls the loader, in the background, and compares what it
 * returns with what was served. The caller's value, the cache and the
 * loading cache are never changed by it: it only counts (`stats().audit`).
 * It costs the source `sampleRate` × the hit rate loader calls a second,
 * at most `maxPerSecond`.
 *
 * @example
 * ```ts
 * // 1% of hits re-loaded in the background, at most 5 loader calls a second per accessor.
 * const users = userCache(store, { loading: { graceSeconds: 300 }, audit: { sampleRate: 0.01, maxPerSecond: 5 } });
 * // … later: the share of served values the source had changed, and how old they were.
 * const { audited, divergent, divergentAge } = users.stats().audit;
 * console.log(`${divergent}/${audited} divergent, p90 age ${ageQuantile(divergentAge, 0.9)} ms`);
 * ```
 */
export interface AuditOptions {
  /** Fraction of hits audited: above 0, at most 1 (every hit). Required. */
  readonly sampleRate: number;
  /**
   * Most loader calls the audit makes a second (a token bucket of this
   * many, at least 1, refilled at this rate): a sampled hit past it is
   * counted `rate_limited` and not audited. Default 10; from 0.001 to
   * 1 000 000.
   */
  readonly maxPerSecond?: number;
}

/** {@link AuditOptions} checked, with defaults. */
export interface ResolvedAudit {
  readonly sampleRate: number;
  readonly maxPerSecond: number;
}

const auditSpec = options(
  {
    sampleRate: satisfies<number>((v) => typeof v === "number" && v > 0 && v <= 1, "a number above 0 and at most 1"),
    maxPerSecond: withDefault(satisfies<number>((v) => typeof v === "number" && v >= 0.001 && v <= 1_000_000, "a number from 0.001 to 1000000"), 10),
  } satisfies ShapeOf<AuditOptions>,
  { expected: "false, or an object like { sampleRate: 0.01, maxPerSecond: 10 }" },
);

/** `audit` of the accessor's options, checked (undefined: no audit). */
export const auditCheck: Check<ResolvedAudit | undefined> = (value, path) => {
  if (value === undefined || value === false) return undefined;
  const o = auditSpec(value, path);
  return { sampleRate: o.sampleRate, maxPerSecond: o.maxPerSecond };
};
