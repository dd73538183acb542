import { describe, expect, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { freshMsOf, freshnessOf, keyHash, storedTtlOf } from "../../src/accessor/freshness.js";
import { ConfigError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

describe("freshness and TTLs", () => {
  it("keyHash is in [0, 1), the same for the same key, and spreads 10 000 keys over all ten tenths", () => {
    const tenths = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const h = keyHash(`user:v1:${i}`);
      expect(h).toBeGreaterThanOrEqual(0);
      expect(h).toBeLessThan(1);
      tenths[Math.floor(h * 10)] = (tenths[Math.floor(h * 10)] ?? 0) + 1;
    }
    expect(keyHash("user:v1:42")).toBe(keyHash("user:v1:42"));
    for (const n of tenths) expect(n).toBeGreaterThan(800);
  });

  it("keyHash spreads 50 keys that differ only in their last characters over more than 30 of 100 buckets, under any prefix", () => {
    for (const prefix of ["{t1}user:v1:", "pc:abc:user:v1:", "x:", ""]) {
      const buckets = new Set<number>();
      for (let i = 0; i < 50; i++) buckets.add(Math.floor(keyHash(`${prefix}j${i}`) * 100));
      expect(buckets.size).toBeGreaterThan(30);
    }
  });

  it("the fresh TTL loses at most `jitter` of itself; the Redis TTL adds grace, rounds up, and is 0 (no expiry) for a TTL of 0", () => {
    for (let i = 0; i < 1000; i++) {
      const key = `k${i}`;
      const ms = freshMsOf(key, 100, 0.1);
      expect(ms).toBeGreaterThan(90_000);
      expect(ms).toBeLessThanOrEqual(100_000);
      expect(storedTtlOf(key, 100, 0.1, 30)).toBe(Math.ceil(ms / 1000) + 30);
    }
    expect(storedTtlOf("k", 100, 0, 30)).toBe(130);
    expect(storedTtlOf("k", 0, 0.1, 30)).toBe(0);
    expect(freshMsOf("k", 0, 0.1)).toBe(Infinity);
    expect(storedTtlOf("k", 1, 0.5, 0)).toBeGreaterThanOrEqual(1);
  });

  it("an entry is fresh, due for an eager refresh, stale within grace, then expired; no written-at, or a writer clock ahead, reads as fresh", () => {
    const now = 1_000_000;
    expect(freshnessOf(now - 5_000, now, 10_000, 60, undefined)).toBe("fresh");
    expect(freshnessOf(now - 9_000, now, 10_000, 60, 0.8)).toBe("eager");
    expect(freshnessOf(now - 7_000, now, 10_000, 60, 0.8)).toBe("fresh");
    expect(freshnessOf(now - 10_000, now, 10_000, 60, undefined)).toBe("stale");
    expect(freshnessOf(now - 69_999, now, 10_000, 60, undefined)).toBe("stale");
    expect(freshnessOf(now - 70_000, now, 10_000, 60, undefined)).toBe("expired");
    expect(freshnessOf(now - 10_000, now, 10_000, 0, undefined)).toBe("expired");
    expect(freshnessOf(undefined, now, 10_000, 60, undefined)).toBe("fresh");
    expect(freshnessOf(now + 50_000, now, 10_000, 60, undefined)).toBe("fresh");
    expect(freshnessOf(now - 1e12, now, Infinity, 0, undefined)).toBe("fresh");
  });
});

describe("loading options", () => {
  const store = new MemoryStore();
  const make = (loading: unknown, extra: Record<string, unknown> = {}) => () => userCache(store, { loading, ...extra } as never);

  it("refuses a misspelt, mistyped or out-of-range loading option with a ConfigError naming it", () => {
    expect(make({ graceSecond: 10 })).toThrow(/loading\.graceSecond.*did you mean graceSeconds/);
    expect(make({ jitter: 0.9 })).toThrow(ConfigError);
    expect(make({ jitter: "0.1" })).toThrow(/loading\.jitter/);
    expect(make({ eagerRefresh: 1 })).toThrow(/loading\.eagerRefresh/);
    expect(make({ lease: { ttlMs: 0 } })).toThrow(/loading\.lease\.ttlMs/);
    expect(make({ lease: { waitMS: 10 } })).toThrow(/did you mean waitMs/);
    expect(make({ lease: true })).toThrow(/loading\.lease/);
    expect(make({ softTimeoutMs: 100, hardTimeoutMs: 100 })).toThrow(/softTimeoutMs.*not below hardTimeoutMs/);
    expect(make({ graceSeconds: 10 }, { writtenAt: false })).toThrow(/graceSeconds.*writtenAt/);
  });

  it("refuses misspelt per-call options and a loader that is not a function before any I/O", async () => {
    const users = userCache(store);
    await expect(users.getOrSet({ id: "a" }, () => undefined, { ttlSecond: 5 } as never)).rejects.toThrow(/ttlSecond.*did you mean ttlSeconds/);
    await expect(users.getOrSet({ id: "a" }, "load" as never)).rejects.toThrow(/invalid option loader/);
    await expect(users.getManyOrSet([{ id: "a" }], undefined as never)).rejects.toThrow(/invalid option loader/);
    await expect(users.getOrSet({ id: "a" }, () => 42 as never)).rejects.toThrow(/returned number/);
    expect(users.stats().loads.loaded).toBe(0);
  });

  it("accepts every option at its documented range", () => {
    expect(make({ graceSeconds: 3600, jitter: 0, absentTtlSeconds: 0, staleWhileRevalidate: false, softTimeoutMs: 10, hardTimeoutMs: 20, eagerRefresh: 0.9, failSafeBackoffMs: 0, lease: false })).not.toThrow();
    expect(make({ lease: { ttlMs: 100, waitMs: 0 }, jitter: 0.5 })).not.toThrow();
  });
});
