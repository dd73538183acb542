/**
 * Histograms of ages in milliseconds with fixed bounds (docs/served-age.md):
 * how old the values an accessor serves are, by where they came from, and
 * how old the entries a staleness audit found different from the source
 * were. Recording is a binary search over 26 bounds and a few writes into
 * one preallocated Float64Array: no allocation, no clock read.
 */

/** Where a served value came from (docs/served-age.md). */
export type ServedAgeSource =
  /** An L1 hit (`get`, `getMany`, and a fresh `getOrSet`/`getManyOrSet` hit held in the process). */
  | "l1"
  /** A value read from Redis and served as it is (`get`, `getMany`, and a fresh `getOrSet`/`getManyOrSet` hit). */
  | "redis"
  /** A stale entry (past its fresh TTL, within grace) served at once by `getOrSet`/`getManyOrSet` while it refreshes (`loads.stale_grace`). */
  | "stale"
  /** A stale entry served because the loader failed or passed `softTimeoutMs` (`loads.stale_fail_safe`). */
  | "fail_safe";

/** The sources, in the order of their series (index = series). */
export const SERVED_AGE_SOURCES: readonly ServedAgeSource[] = Object.freeze(["l1", "redis", "stale", "fail_safe"] as const);

/**
 * The inclusive upper bounds, in milliseconds, of the age histograms'
 * buckets (the same for every histogram, in `stats()` and in the
 * OpenTelemetry adapter, where they are given in seconds): roughly
 * logarithmic (steps of 2 to 5), with a bound at each usual TTL (1 min,
 * 5 min, 1 h, 1 d). Bucket `i` counts ages in
 * (`AGE_BOUNDS_MS[i - 1]`, `AGE_BOUNDS_MS[i]`] (bucket 0: up to 1 ms,
 * including 0); the last bucket counts every age above 30 days.
 */
export const AGE_BOUNDS_MS: readonly number[] = Object.freeze([
  1, 5, 10, 50, 100, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
  43_200_000, 86_400_000, 172_800_000, 604_800_000, 2_592_000_000,
]);

/** One age histogram as `stats()` shows it. */
export interface AgeHistogram {
  /** Ages recorded (entries with a written-at); `noWrittenAt` are not among them. */
  readonly count: number;
  /** Sum of the ages recorded, in ms (negative ages counted as 0): `sumMs / count` is the mean age. */
  readonly sumMs: number;
  /** Largest age recorded, in ms (0 when none). */
  readonly maxMs: number;
  /** Counts per bucket, `AGE_BOUNDS_MS.length + 1` of them: `buckets[i]` counts ages in (`AGE_BOUNDS_MS[i - 1]`, `AGE_BOUNDS_MS[i]`], the last one ages above the last bound. */
  readonly buckets: readonly number[];
  /** Ages that were negative (the writer's clock ahead of this process's): recorded as 0, and counted here too. */
  readonly clockSkew: number;
  /** Entries without a written-at (written with `writtenAt: false`, or legacy values): they have no age, and are counted here only. */
  readonly noWrittenAt: number;
}

const BOUNDS = Float64Array.from(AGE_BOUNDS_MS);
const NB = BOUNDS.length + 1;
/** Cells of one series: the buckets, then sum, max, clock skew, no written-at. */
const SUM = NB;
const MAX = NB + 1;
const SKEW = NB + 2;
const NONE = NB + 3;
const STRIDE = NB + 4;

/**
 * The first bucket whose bound is at least 2^k, for each k from 0 to 31:
 * where the search for an age of `ms` in [2^k, 2^(k+1)) starts. No octave
 * holds more than two bounds, so at most two more comparisons follow.
 */
const START = Uint8Array.from({ length: 32 }, (_, k) => {
  let i = 0;
  while (i < BOUNDS.length && (BOUNDS[i] as number) < 2 ** k) i++;
  return i;
});

/** The bucket of an age of `ms` (≥ 0): the first bound at or above it, or the last bucket. */
export function ageBucketOf(ms: number): number {
  if (ms <= 1) return 0;
  let i: number;
  if (ms < 0x8000_0000) {
    // floor(log2(ms)) from the leading zeros of its integer part.
    i = START[31 - Math.clz32(ms)] as number;
  } else i = START[31] as number;
  while (i < NB - 1 && ms > (BOUNDS[i] as number)) i++;
  return i;
}

/**
 * `series` age histograms in one Float64Array (exact counts up to 2^53,
 * where 32-bit counters would wrap after days of hits). Not exported from
 * the package: `stats()` shows {@link AgeHistogram} snapshots.
 */
export class AgeHistograms {
  private readonly cells: Float64Array;

  constructor(readonly series: number) {
    this.cells = new Float64Array(series * STRIDE);
  }

  /** One age in series `s`: `ms` since its written-at (negative: clock skew, recorded as 0 and counted), undefined for an entry without a written-at. */
  record(s: number, ms: number | undefined): void {
    const c = this.cells;
    const base = s * STRIDE;
    if (ms === undefined) {
      c[base + NONE] = (c[base + NONE] as number) + 1;
      return;
    }
    if (ms < 0) {
      c[base + SKEW] = (c[base + SKEW] as number) + 1;
      ms = 0;
    }
    const b = base + ageBucketOf(ms);
    c[b] = (c[b] as number) + 1;
    c[base + SUM] = (c[base + SUM] as number) + ms;
    if (ms > (c[base + MAX] as number)) c[base + MAX] = ms;
  }

  /** Series `s` as `stats()` shows it. */
  snapshot(s: number): AgeHistogram {
    const c = this.cells;
    const base = s * STRIDE;
    const buckets = Array.from(c.subarray(base, base + NB));
    let count = 0;
    for (const n of buckets) count += n;
    return { count, sumMs: c[base + SUM] as number, maxMs: c[base + MAX] as number, buckets, clockSkew: c[base + SKEW] as number, noWrittenAt: c[base + NONE] as number };
  }
}

/**
 * An estimate of the `q` quantile (0 to 1) of a histogram's ages, in ms:
 * linear within the bucket where it falls (the last bucket ends at
 * `maxMs`), never above `maxMs`; undefined when nothing was recorded.
 * Accurate to the bucket's width: `ageQuantile(stats().servedAge.l1, 0.99)`.
 *
 * @example
 * ```ts
 * const { redis } = users.stats().servedAge;
 * console.log(`p50 ${ageQuantile(redis, 0.5)} ms, p99 ${ageQuantile(redis, 0.99)} ms, mean ${redis.sumMs / redis.count} ms`);
 * ```
 */
export function ageQuantile(histogram: AgeHistogram, q: number): number | undefined {
  if (histogram.count === 0 || !(q >= 0 && q <= 1)) return undefined;
  const rank = q * histogram.count;
  let seen = 0;
  for (let i = 0; i < histogram.buckets.length; i++) {
    const n = histogram.buckets[i] as number;
    if (n === 0 || seen + n < rank) {
      seen += n;
      continue;
    }
    const lower = i === 0 ? 0 : (AGE_BOUNDS_MS[i - 1] as number);
    const upper = Math.min(i < AGE_BOUNDS_MS.length ? (AGE_BOUNDS_MS[i] as number) : histogram.maxMs, histogram.maxMs);
    if (upper <= lower) return upper;
    return Math.min(histogram.maxMs, lower + ((upper - lower) * (rank - seen)) / n);
  }
  return histogram.maxMs;
}
