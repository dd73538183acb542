import { LRUCache } from "lru-cache";
import { describe, expect, it } from "vitest";
import { FrequencySketch, hashKey, MAX_COUNTERS } from "../../src/l1/frequency-sketch.js";
import { TinyLfuMap, type TinyLfuBounds } from "../../src/l1/tiny-lfu.js";
import { prng, zipf } from "../support/zipf.js";

/** Throws: for checks run on every call, where an expect each would dominate the run time. */
function fail(message: string): never {
  throw new Error(message);
}

describe("TinyLfuMap bounds", () => {
  const configurations: readonly TinyLfuBounds[] = [
    { maxEntries: 200, maxBytes: 100_000 },
    { maxEntries: 1, maxBytes: 10 },
    { maxEntries: 3, maxBytes: 5_000 },
    { maxEntries: 1_000, maxBytes: 1e9 },
  ];
  it.each(configurations)("after each of 100k seeded random calls (10× more keys than fit) size ≤ $maxEntries, bytes ≤ $maxBytes, and both equal a model's of the entries kept ($maxEntries entries, $maxBytes bytes)", (bounds) => {
    const random = prng(bounds.maxEntries * 31 + bounds.maxBytes);
    const model = new Map<string, { value: number; bytes: number }>();
    let modelBytes = 0;
    const forget = (key: string): void => {
      modelBytes -= model.get(key)?.bytes ?? 0;
      model.delete(key);
    };
    let evictCalls = 0;
    const map = new TinyLfuMap<number>(bounds, (key, value, bytes) => {
      evictCalls++;
      const kept = model.get(key);
      if (kept?.value !== value || kept.bytes !== bytes) fail(`onEvict(${key}, ${value}, ${bytes}) of an entry the model holds as ${JSON.stringify(kept)}`);
      forget(key);
    });
    const keys = Math.max(10, bounds.maxEntries * 10);
    const largest = Math.min(bounds.maxBytes * 1.2, 2_000);
    for (let op = 0; op < 100_000; op++) {
      const key = `k${Math.floor(random() * keys)}`;
      const r = random();
      if (r < 0.6) {
        const bytes = Math.floor(random() * (random() < 0.5 ? largest / 20 : largest));
        forget(key);
        if (map.set(key, op, bytes)) {
          model.set(key, { value: op, bytes });
          modelBytes += bytes;
        }
      } else if (r < 0.85) {
        if (map.get(key) !== model.get(key)?.value) fail(`get(${key}) at call ${op}`);
      } else if (r < 0.95) {
        if (map.peek(key) !== model.get(key)?.value) fail(`peek(${key}) at call ${op}`);
      } else if (r < 0.9999) {
        if (map.delete(key) !== model.has(key)) fail(`delete(${key}) at call ${op}`);
        forget(key);
      } else {
        map.clear();
        model.clear();
        modelBytes = 0;
      }
      if (map.size > bounds.maxEntries || map.bytes > bounds.maxBytes) fail(`over the bounds after call ${op}: ${map.size} entries, ${map.bytes} bytes`);
      if (map.size !== model.size || map.bytes !== modelBytes) fail(`after call ${op}: ${map.size} entries, ${map.bytes} bytes; the model has ${model.size}, ${modelBytes}`);
    }
    for (const [key, entry] of model) expect(map.peek(key)).toBe(entry.value);
    expect(map.evictions).toBe(evictCalls);
    expect(map.evictions).toBeGreaterThan(0);
  });

  it("rejects an entry larger than maxBytes (set returns false) and removes the key's previous value, without calling onEvict", () => {
    const evicted: string[] = [];
    const map = new TinyLfuMap<string>({ maxEntries: 10, maxBytes: 100 }, (key) => evicted.push(key));
    expect(map.set("a", "small", 100)).toBe(true);
    expect(map.set("b", "huge", 101)).toBe(false);
    expect(map.peek("b")).toBeUndefined();
    expect(map.set("a", "huge", 101)).toBe(false);
    expect(map.peek("a")).toBeUndefined();
    expect([map.size, map.bytes, map.evictions, evicted.length]).toEqual([0, 0, 0, 0]);
  });

  it("throws a RangeError for bounds that are not whole numbers ≥ 1 and for entry sizes that are not whole numbers ≥ 0", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new TinyLfuMap({ maxEntries: bad, maxBytes: 10 })).toThrow(RangeError);
      expect(() => new TinyLfuMap({ maxEntries: 10, maxBytes: bad })).toThrow(RangeError);
    }
    const map = new TinyLfuMap<number>({ maxEntries: 10, maxBytes: 10 });
    for (const bad of [-1, 0.5, Number.NaN]) expect(() => map.set("a", 1, bad)).toThrow(RangeError);
    expect(map.set("a", 1, 0)).toBe(true);
  });
});

describe("TinyLfuMap operations", () => {
  it("set of a held key replaces its value and bytes without an eviction; get of a missing key returns undefined", () => {
    const map = new TinyLfuMap<string>({ maxEntries: 10, maxBytes: 1_000 });
    map.set("a", "one", 10);
    map.set("a", "two", 25);
    expect([map.get("a"), map.size, map.bytes, map.evictions]).toEqual(["two", 1, 25, 0]);
    expect(map.get("missing")).toBeUndefined();
  });

  it("delete removes the key and returns whether it was held, and clear empties the map, neither calling onEvict nor counting an eviction", () => {
    const evicted: string[] = [];
    const map = new TinyLfuMap<number>({ maxEntries: 100, maxBytes: 10_000 }, (key) => evicted.push(key));
    for (let i = 0; i < 50; i++) map.set(`k${i}`, i, 10);
    expect(map.delete("k3")).toBe(true);
    expect(map.delete("k3")).toBe(false);
    expect([map.peek("k3"), map.size, map.bytes]).toEqual([undefined, 49, 490]);
    map.clear();
    expect([map.size, map.bytes, map.peek("k4"), map.evictions, evicted.length]).toEqual([0, 0, undefined, 0, 0]);
    expect(map.set("k4", 4, 10)).toBe(true);
    expect(map.get("k4")).toBe(4);
  });

  it("peek records no access: two maps given the same calls, one with a peek of every key after each set, evict the same keys in the same order", () => {
    const orders: string[][] = [[], []];
    const maps = orders.map((order) => new TinyLfuMap<number>({ maxEntries: 50, maxBytes: 1e6 }, (key) => order.push(key)));
    const random = prng(7);
    const draw = zipf(1_000, 0.99, random);
    for (let i = 0; i < 20_000; i++) {
      const key = `k${draw()}`;
      const read = random() < 0.5;
      for (const [m, map] of maps.entries()) {
        if (read) map.get(key);
        else map.set(key, i, 1);
        if (m === 1) for (let k = 0; k < 1_000; k += 37) map.peek(`k${k}`);
      }
    }
    expect(orders[0]?.length).toBeGreaterThan(1_000);
    expect(orders[1]).toEqual(orders[0]);
  });

  it("calls onEvict once per entry removed to make room, with its key, value and bytes, so the call count equals evictions", () => {
    const calls: [string, number, number][] = [];
    const map = new TinyLfuMap<number>({ maxEntries: 10, maxBytes: 1_000 }, (key, value, bytes) => calls.push([key, value, bytes]));
    for (let i = 0; i < 100; i++) map.set(`k${i}`, i, 50 + i);
    expect(calls.length).toBe(map.evictions);
    expect(calls.length).toBeGreaterThanOrEqual(90);
    for (const [key, value, bytes] of calls) expect([key, bytes]).toEqual([`k${value}`, 50 + value]);
  });

  it("set returns false, without calling onEvict or counting an eviction, when the entry it stores is itself evicted to make room", () => {
    const evicted: string[] = [];
    // 2 entries: a window of 1, a main space of 1 (probation only: protected's 80% rounds down to 0 entries).
    const map = new TinyLfuMap<number>({ maxEntries: 2, maxBytes: 100 }, (key) => evicted.push(key));
    expect(map.set("a", 1, 50)).toBe(true);
    expect(map.set("b", 2, 50)).toBe(true);
    // "a" is main's only entry, hence its victim when growing it puts the bytes over the bound.
    expect(map.set("a", 3, 60)).toBe(false);
    expect([map.peek("a"), map.peek("b"), map.size, map.bytes, map.evictions, evicted]).toEqual([undefined, 2, 1, 50, 0, []]);
  });

  it("lets onEvict call back into the map: it runs after the set's evictions, with the bounds already holding", () => {
    const map: TinyLfuMap<number> = new TinyLfuMap<number>({ maxEntries: 5, maxBytes: 1_000 }, () => {
      expect(map.size).toBeLessThanOrEqual(5);
      map.delete("k0");
    });
    for (let i = 0; i < 20; i++) map.set(`k${i}`, i, 10);
    expect(map.size).toBeLessThanOrEqual(5);
    expect(map.bytes).toBe(map.size * 10);
  });
});

describe("TinyLfuMap eviction policy", () => {
  it("keeps a key read every 150 calls through a scan of 10 000 one-time keys at maxEntries 100 (every read hits), where an LRU of 100 entries misses every read", () => {
    const map = new TinyLfuMap<number>({ maxEntries: 100, maxBytes: 1e6 });
    const lru = new LRUCache<string, number>({ max: 100 });
    map.set("hot", 0, 1);
    lru.set("hot", 0);
    for (let i = 0; i < 5; i++) map.get("hot");
    let reads = 0;
    let tinyHits = 0;
    let lruHits = 0;
    for (let i = 1; i <= 10_000; i++) {
      map.set(`scan${i}`, i, 1);
      lru.set(`scan${i}`, i);
      if (i % 150 === 0) {
        reads++;
        if (map.get("hot") === undefined) map.set("hot", 0, 1);
        else tinyHits++;
        if (lru.get("hot") === undefined) lru.set("hot", 0);
        else lruHits++;
      }
    }
    expect(reads).toBe(66);
    expect(tinyHits).toBe(reads);
    expect(lruHits).toBe(0);
  });

  it("has a hit rate at least lru-cache's at the same capacity (1000 entries) on a seeded Zipf(0.99) stream of 300k reads over 100k keys", () => {
    const map = new TinyLfuMap<number>({ maxEntries: 1_000, maxBytes: 1e9 });
    const lru = new LRUCache<number, number>({ max: 1_000 });
    const draw = zipf(100_000, 0.99, prng(42));
    let tinyHits = 0;
    let lruHits = 0;
    const reads = 300_000;
    for (let i = 0; i < reads; i++) {
      const k = draw();
      const key = String(k);
      if (map.get(key) === undefined) map.set(key, k, 1);
      else tinyHits++;
      if (lru.get(k) === undefined) lru.set(k, k);
      else lruHits++;
    }
    console.info(`Zipf(0.99), 100k keys, capacity 1000: TinyLfuMap ${((tinyHits / reads) * 100).toFixed(2)}% vs LRU ${((lruHits / reads) * 100).toFixed(2)}%`);
    expect(tinyHits).toBeGreaterThanOrEqual(lruHits);
  });
});

describe("FrequencySketch", () => {
  it("counts up to 15, halves every counter after 10 samples per entry of capacity, and stays within 2^22 counters whatever capacity is asked", () => {
    const sketch = new FrequencySketch(16);
    const h = hashKey("x");
    for (let i = 0; i < 20; i++) sketch.increment(h);
    expect(sketch.frequency(h)).toBe(15);
    const others = Array.from({ length: sketch.capacity * 10 }, (_, i) => hashKey(`o${i}`));
    for (const o of others) sketch.increment(o);
    expect(sketch.frequency(h)).toBeLessThanOrEqual(8);
    const huge = new FrequencySketch(1 << 30);
    expect(huge.capacity * 16).toBe(MAX_COUNTERS);
    expect(huge.canGrow).toBe(false);
  });

  it("keeps the estimates of the hashes it is told to keep when it grows", () => {
    const sketch = new FrequencySketch(16);
    const kept = [hashKey("a"), hashKey("b")];
    for (let i = 0; i < 9; i++) for (const h of kept) sketch.increment(h);
    sketch.ensureCapacity(1_000, kept.map((hash) => ({ hash })));
    expect(sketch.capacity).toBeGreaterThanOrEqual(1_000);
    for (const h of kept) expect(sketch.frequency(h)).toBe(9);
  });
});
