import { Redis } from "ioredis";
import { createEntityCache, type EntityCache } from "../../src/accessor/entity-cache.js";
import { internalsOf } from "../../src/accessor/internals.js";
import type { L1Options } from "../../src/accessor/l1-options.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { Fixture } from "../fixtures.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";
import { atLeast, ratioRow, withKey, type ThroughputOptions } from "./accessor.js";

/**
 * Tags and clear() (docs/invalidation.md) measured side by side: hits of
 * entries with 2 tags against untagged ones, from the L1 and from Redis,
 * on the same connection; a getOrSet hit with the `invalidation` option
 * against one without it; and `invalidateTags` / `clear()` over 1 000 000
 * entries against the same over 10.
 */
const keysPerCaller = 16;
type Op = (caller: number, i: number) => Promise<unknown>;
type AnyCache = EntityCache<unknown, never>;
const reported: Goal = { kind: "reported" };

async function ready(cache: AnyCache): Promise<void> {
  const internals = internalsOf<unknown, never>(cache);
  if (internals?.l1 !== undefined && !(await internals.l1.ready(10_000))) throw new Error("tags bench: L1 tracking not live within 10 s");
  if (!(await (internals?.invalidationReady(10_000) ?? Promise.resolve(false)))) throw new Error("tags bench: tag-state tracking not live within 10 s");
}

/** L1 and Redis hits of tagged (2 tags) and untagged entries, and getOrSet with the option against without it; 64 callers over 16 keys each. */
export async function tagHitCases(url: string, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  const store = new RedisStore(redis);
  try {
    for (const fx of list) {
      const base = `bench:tags:${fx.entity.entity}:`;
      const l1: L1Options = { maxEntries: 100_000, maxBytes: 256 << 20, ttlSeconds: 3600 };
      const made = (prefix: string, more: object): AnyCache => createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, invalidation: true, ...more });
      const untagged = { redis: made(`${base}u:`, {}), l1: made(`${base}u:`, { l1 }) };
      const tagged = { redis: made(`${base}t:`, {}), l1: made(`${base}t:`, { l1 }) };
      const plain = createEntityCache(fx.entity, store, { prefix: `${base}u:`, ttlSeconds: 3600 }) as AnyCache;
      for (const c of [untagged.redis, untagged.l1, tagged.redis, tagged.l1]) await ready(c);
      const fieldsOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
      const all: unknown[] = [];
      for (let k = 0; k < options.concurrency; k++) for (let i = 0; i < keysPerCaller; i++) all.push(fieldsOf(k, i));
      await untagged.redis.setMany(all as never[]);
      await tagged.redis.setMany(all as never[], { tags: [`shop:${fx.entity.entity}`, "catalog"] });
      // Invalidations of these writes reach the L1s' tracking asynchronously: read until every key is held.
      for (let round = 0; round < 50; round++) {
        for (const f of all) {
          await untagged.l1.get(f as never);
          await tagged.l1.get(f as never);
          await tagged.redis.get(f as never);
        }
        if (untagged.l1.stats().l1.entries === all.length && tagged.l1.stats().l1.entries === all.length) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const loader = (fields: unknown): unknown => ({ ...(fx.value as object), ...(fields as object) });
      const contenders: Record<string, Op> = {
        "L1 hit, untagged": (k, i) => untagged.l1.get(fieldsOf(k, i) as never),
        "L1 hit, 2 tags": (k, i) => tagged.l1.get(fieldsOf(k, i) as never),
        "Redis hit, untagged": (k, i) => untagged.redis.get(fieldsOf(k, i) as never),
        "Redis hit, 2 tags": (k, i) => tagged.redis.get(fieldsOf(k, i) as never),
        "getOrSet hit, invalidation option": (k, i) => untagged.redis.getOrSet(fieldsOf(k, i) as never, loader as never),
        "getOrSet hit, no invalidation option": (k, i) => plain.getOrSet(fieldsOf(k, i) as never, loader as never),
      };
      const before = { u: untagged.l1.stats().l1.miss, t: tagged.l1.stats().l1.miss, inv: tagged.redis.stats().invalidation.invalidated };
      const results = await compareThroughput(contenders, { ...options, yieldBetween: true });
      if (untagged.l1.stats().l1.miss !== before.u || tagged.l1.stats().l1.miss !== before.t) throw new Error("tags bench: an L1 missed in the timed part");
      if (tagged.redis.stats().invalidation.invalidated !== before.inv) throw new Error("tags bench: a tagged entry was refused in the timed part");
      rows.push(ratioRow(results, "L1 hit, 2 tags", "L1 hit, untagged", "L1 hit of an entry with 2 tags vs an untagged one (invalidation option on both, 64 callers)", fx.name, atLeast(0.8)));
      rows.push(ratioRow(results, "Redis hit, 2 tags", "Redis hit, untagged", "Redis hit (no L1) of an entry with 2 tags vs an untagged one, same ioredis connection", fx.name, atLeast(0.8)));
      rows.push(ratioRow(results, "getOrSet hit, invalidation option", "getOrSet hit, no invalidation option", "getOrSet hit from Redis, untagged: with the invalidation option vs without (the read path before tags)", fx.name, reported));
      await Promise.all([untagged.redis.close(), untagged.l1.close(), tagged.redis.close(), tagged.l1.close(), plain.close()]);
    }
  } finally {
    redis.disconnect();
  }
  return rows;
}

/** Median milliseconds of `runs` calls of `op`, one at a time. */
async function timeEach(op: () => Promise<unknown>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await op();
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * `invalidateTags` of a tag carried by `big` entries, and `clear()` of a key
 * space of `big` entries, against the same over 10 entries: the work must
 * not grow with the entries (one write per tag or key space). Then checks
 * that every entry really became a miss (a sample of 1000).
 */
export async function invalidationScaleCases(url: string, fx: Fixture<unknown>, big: number, runs: number): Promise<BenchRow[]> {
  const redis = new Redis(url);
  const store = new RedisStore(redis);
  const rows: BenchRow[] = [];
  try {
    const spaces = { small: createEntityCache(fx.entity, store, { prefix: "bench:scale:small:", ttlSeconds: 3600, invalidation: true }) as AnyCache, big: createEntityCache(fx.entity, store, { prefix: "bench:scale:big:", ttlSeconds: 3600, invalidation: true }) as AnyCache };
    for (const [name, cache, n] of [["small", spaces.small, 10], ["big", spaces.big, big]] as const) {
      for (let i = 0; i < n; i += 1000) {
        const values = Array.from({ length: Math.min(1000, n - i) }, (_, j) => withKey(fx, `${name}-${i + j}`));
        await cache.setMany(values as never[], { tags: [`t:${name}`] });
      }
    }
    const tagTimes = { small: await timeEach(() => spaces.small.invalidateTags(["t:small"]), runs), big: await timeEach(() => spaces.big.invalidateTags(["t:big"]), runs) };
    const sample = Array.from({ length: 1000 }, (_, j) => withKey(fx, `big-${Math.floor((j * big) / 1000)}`));
    const stillServed = (await spaces.big.getMany(sample as never[])).filter((v) => v !== undefined).length;
    if (stillServed > 0) throw new Error(`tags bench: ${stillServed} of 1000 sampled entries still served after invalidateTags`);
    const goal: Goal = { kind: "time-at-most", target: 2 };
    const ratio = tagTimes.big / tagTimes.small;
    rows.push({ case: `invalidateTags of a tag on ${big.toLocaleString("en")} entries vs on 10 (median of ${runs}; then 1000 sampled entries all misses)`, entity: fx.name, subject: "big", baseline: "small", goal, ratio, pass: passes(goal, ratio), detail: `${tagTimes.big.toFixed(3)} vs ${tagTimes.small.toFixed(3)} ms` });
    const clearTimes = { small: await timeEach(() => spaces.small.clear(), runs), big: await timeEach(() => spaces.big.clear(), runs) };
    const clearRatio = clearTimes.big / clearTimes.small;
    rows.push({ case: `clear() of ${big.toLocaleString("en")} entries vs of 10 (median of ${runs})`, entity: fx.name, subject: "big", baseline: "small", goal, ratio: clearRatio, pass: passes(goal, clearRatio), detail: `${clearTimes.big.toFixed(3)} vs ${clearTimes.small.toFixed(3)} ms` });
    await Promise.all([spaces.small.close(), spaces.big.close()]);
    rows.push({ case: "state keys written per invalidateTags / clear() call", entity: fx.name, subject: "tags", baseline: "–", goal: reported, ratio: 1, pass: true, detail: "one SET per tag or key space, whatever the number of entries" });
  } finally {
    redis.disconnect();
  }
  return rows;
}
