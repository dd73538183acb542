import { LRUCache } from "lru-cache";
import { TinyLfuMap } from "../../src/l1/tiny-lfu.js";
import { prng, zipf } from "../../test/support/zipf.js";
import { passes, type BenchRow, type Goal } from "../harness.js";

/** Options of {@link l1HitRateCases}. */
export interface HitRateOptions {
  /** Distinct keys in the stream (default 100 000). */
  readonly keys?: number;
  /** Reads per capacity (default 1 000 000). */
  readonly reads?: number;
  /** Byte budgets, as fractions of the bytes of every key (default 1% and 10%). */
  readonly capacities?: readonly number[];
  /** Seed of the key sizes and of the stream (default 1). */
  readonly seed?: number;
}

/** Smallest and largest entry size, in bytes. */
const MIN_BYTES = 100;
const MAX_BYTES = 2000;

/**
 * Hit rate of the L1's eviction policy (TinyLfuMap, W-TinyLFU) against
 * lru-cache's LRU given the same byte budget (lru-cache's `maxSize`, each
 * entry sized as it is for TinyLfuMap): each read of a Zipf(0.99) key stream
 * is a `get`, and a miss `set`s the key, as a read-through L1 does. Key sizes
 * are drawn once per key (100–2000 bytes, uniform, seeded); both caches see
 * the same stream from cold. No time is measured: the row is the ratio of the
 * hit rates (TinyLfuMap / lru-cache), both in the detail.
 */
export function l1HitRateCases(options: HitRateOptions = {}): BenchRow[] {
  const keys = options.keys ?? 100_000;
  const reads = options.reads ?? 1_000_000;
  const seed = options.seed ?? 1;
  const sizeOf = new Uint16Array(keys);
  const sizes = prng(seed);
  let allBytes = 0;
  for (let k = 0; k < keys; k++) allBytes += sizeOf[k] = MIN_BYTES + Math.floor(sizes() * (MAX_BYTES - MIN_BYTES + 1));
  const goal: Goal = { kind: "ratio-at-least", target: 1 };
  return (options.capacities ?? [0.01, 0.1]).map((fraction) => {
    const budget = Math.round(allBytes * fraction);
    const tiny = new TinyLfuMap<number>({ maxEntries: keys, maxBytes: budget });
    const lru = new LRUCache<number, number>({ maxSize: budget });
    const draw = zipf(keys, 0.99, prng(seed + 1));
    let tinyHits = 0;
    let lruHits = 0;
    for (let i = 0; i < reads; i++) {
      const k = draw();
      const bytes = sizeOf[k] as number;
      if (tiny.get(String(k)) === undefined) tiny.set(String(k), k, bytes);
      else tinyHits++;
      if (lru.get(k) === undefined) lru.set(k, k, { size: bytes });
      else lruHits++;
    }
    const ratio = lruHits === 0 ? (tinyHits === 0 ? 1 : Number.POSITIVE_INFINITY) : tinyHits / lruHits;
    const pct = (hits: number): string => `${((hits / reads) * 100).toFixed(2)}%`;
    const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
    return {
      case: `hit rate on a Zipf(0.99) key stream (${keys / 1000}k keys, ${reads >= 1e6 ? `${reads / 1e6}M` : `${reads / 1000}k`} reads), same bytes (${fraction * 100}% of all keys' bytes)`,
      entity: `entries of ${MIN_BYTES}–${MAX_BYTES} B`,
      subject: "TinyLfuMap (W-TinyLFU)",
      baseline: "lru-cache (maxSize by the same byte sizes)",
      goal,
      ratio,
      pass: passes(goal, ratio),
      detail: `hit rate ${pct(tinyHits)} vs ${pct(lruHits)}; budget ${mb(budget)}, held at the end ${tiny.size} vs ${lru.size} entries`,
    };
  });
}
