// Heap bytes per L1 entry (the l1 suite, in a process of its own with --expose-gc: bench/suites/l1-heap.ts).
import { createEntityCache } from "../../src/accessor/entity-cache.js";
import { internalsOf } from "../../src/accessor/internals.js";
import { deepFreeze } from "../../src/l1/l1.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { Redis } from "ioredis";
import type { Fixture } from "../fixtures.js";
import { median, type BenchRow } from "../harness.js";
import { reachableBytes, takeSnapshot } from "../heap-snapshot.js";
import { withKey } from "./accessor.js";
import { l1Ready, reported, writeAndHear, type AnyCache } from "./l1-support.js";

/** The holder of the values read without an L1, found by its name in a heap snapshot. */
class HeldValues {
  readonly values: unknown[] = [];
}

/**
 * Heap bytes per L1 entry (run with --expose-gc, by bench/suites/l1-heap.ts):
 * `entries` values written through an accessor without L1, their
 * invalidations heard, then read by getMany into an accessor's L1 (frozen),
 * `process.memoryUsage().heapUsed` taken after two `gc()` before and after
 * the fill, divided by the entries held; 4 fills in fresh accessors, the
 * first (JIT, lazily made structures) dropped, the median of the others.
 * Compared with the bytes of the envelope stored in Redis and with the L1's
 * own estimate (`stats().l1.bytes / entries`, what `maxBytes` bounds).
 */
export async function l1HeapCases(url: string, list: readonly Fixture<unknown>[], entries: number): Promise<BenchRow[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("l1 bench: the heap case needs node --expose-gc");
  const collect = (): NodeJS.MemoryUsage => {
    gc();
    gc();
    return process.memoryUsage();
  };
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  const store = new RedisStore(redis);
  try {
    for (const fx of list) {
      const prefix = `bench:l1:heap:${fx.entity.entity}:`;
      const plain: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600 });
      const values = Array.from({ length: entries }, (_, i) => withKey(fx, `heap-${String(i).padStart(6, "0")}`));
      const internals = internalsOf<unknown, never>(plain);
      if (internals === undefined) throw new Error("l1 bench: no accessor internals");
      let envelopeBytes = 0;
      for (const v of values) envelopeBytes += internals.encode(v, plain.keyOf(v as never)).length;
      await writeAndHear(plain, store.tracking(), prefix, values);
      // The decoded values' own heap: the same reads without an L1, the values held in an array. The first fill is a
      // warm-up (shapes and code made once), left out like the L1's below.
      const own: number[] = [];
      for (let fill = 0; fill < 4; fill++) {
        const before = collect();
        const kept: unknown[] = [];
        for (let i = 0; i < entries; i += 500) kept.push(...(await plain.getMany(values.slice(i, i + 500) as never[])));
        const after = collect();
        if (fill > 0) own.push((after.heapUsed - before.heapUsed) / kept.length);
        kept.length = 0; // not alive at the next round's first reading
      }
      const heap: number[] = [];
      const external: number[] = [];
      const estimate: number[] = [];
      for (let fill = 0; fill < 4; fill++) {
        const cache: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1: { maxEntries: entries * 2, maxBytes: 2 ** 32, ttlSeconds: 3600 } });
        await l1Ready(cache);
        const before = collect();
        for (let i = 0; i < entries; i += 500) await cache.getMany(values.slice(i, i + 500) as never[]);
        const after = collect();
        const held = cache.stats().l1;
        if (held.entries !== entries) throw new Error(`l1 bench: the L1 holds ${held.entries} entries after the fill, not ${entries}`);
        if (fill > 0) {
          heap.push((after.heapUsed - before.heapUsed) / held.entries);
          external.push((after.external - before.external) / held.entries);
          estimate.push(held.bytes / held.entries);
        }
        await cache.close();
      }
      // The same by a heap snapshot (5 000 entries): the bytes reachable from the L1's map beyond those reachable from the
      // same values, read without an L1 and frozen as the L1 freezes them, held in an array (the holder left out).
      const snapEntries = Math.min(entries, 5000);
      const snapCache: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1: { maxEntries: entries * 2, maxBytes: 2 ** 32, ttlSeconds: 3600 } });
      await l1Ready(snapCache);
      const holder = new HeldValues();
      for (let i = 0; i < snapEntries; i += 500) {
        const slice = values.slice(i, Math.min(i + 500, snapEntries)) as never[];
        await snapCache.getMany(slice);
        holder.values.push(...(await plain.getMany(slice)));
      }
      for (const v of holder.values) deepFreeze(v);
      if (snapCache.stats().l1.entries !== snapEntries) throw new Error(`l1 bench: the snapshot's L1 holds ${snapCache.stats().l1.entries} entries, not ${snapEntries}`);
      const snapshot = await takeSnapshot();
      const l1Reach = reachableBytes(snapshot, "TinyLfuMap") / snapEntries;
      const ownReach = reachableBytes(snapshot, "HeldValues", (path) => path === "" || path === "values" || path === "values.elements") / snapEntries;
      holder.values.length = 0;
      await snapCache.close();
      await plain.close();
      const heapPer = median(heap);
      const estimatePer = median(estimate);
      const envelopePer = envelopeBytes / entries;
      const ownPer = median(own);
      const b = (n: number): string => `${Math.round(n)} B`;
      const base = `${entries / 1000}k entries, median of 3 fills (${heap.map((h) => Math.round(h)).join(", ")} B)`;
      rows.push({
        case: "heap bytes per entry (heapUsed after gc(), before and after filling an L1) vs the envelope stored in Redis",
        entity: fx.name,
        subject: "heapUsed delta / entries",
        baseline: "envelope bytes per entry",
        goal: reported,
        ratio: heapPer / envelopePer,
        pass: true,
        detail: `${b(heapPer)} on the heap (external ${b(median(external))}) vs envelope ${b(envelopePer)}; the L1's estimate ${b(estimatePer)}; ${base}`,
      });
      rows.push({
        case: "heap per held entry beyond the decoded value's own (the L1's bookkeeping: map node and slot, held record, id, sketch) vs the value's own heap",
        entity: fx.name,
        subject: "heapUsed delta / entries − value's own",
        baseline: "the value's own heap (the same reads without an L1, values held in an array)",
        goal: reported,
        ratio: (heapPer - ownPer) / ownPer,
        pass: true,
        detail: `${b(heapPer - ownPer)} of bookkeeping beside the value's own ${b(ownPer)} (${own.map((h) => Math.round(h)).join(", ")} B)`,
      });
      rows.push({
        case: "heap per held entry beyond the decoded value's own, by heap snapshot (bytes reachable from the L1's map less those reachable from the same values in an array) vs the value's own",
        entity: fx.name,
        subject: "bytes reachable from the L1 / entries − the value's own",
        baseline: "bytes reachable from the same values held in an array / entries",
        goal: reported,
        ratio: (l1Reach - ownReach) / ownReach,
        pass: true,
        detail: `${b(l1Reach - ownReach)} of bookkeeping beside the value's own ${b(ownReach)}; ${snapEntries / 1000}k entries, one snapshot`,
      });
      rows.push({
        case: "the L1's byte estimate per entry (stats().l1.bytes / entries, what maxBytes bounds) vs the measured heap per entry",
        entity: fx.name,
        subject: "stats().l1.bytes / entries",
        baseline: "heapUsed delta / entries",
        goal: reported,
        ratio: estimatePer / heapPer,
        pass: true,
        detail: `estimate ${b(estimatePer)} vs measured ${b(heapPer)} per entry`,
      });
    }
  } finally {
    redis.disconnect();
  }
  return rows;
}

