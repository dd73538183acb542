import { expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { ageBucketOf } from "../../src/metrics/age-histogram.js";
import type { AgeHistogram } from "../../src/metrics/age-histogram.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { envelopeOf, heardAll, l1Cache, listen, user } from "../support/l1-harness.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * Served age and the staleness audit (docs/served-age.md) over every
 * backend. Entries are planted with a written-at 200 s in the past, in the
 * middle of the bucket (120 s, 300 s]: a test would have to take 100 s for
 * an age to leave it. Nothing waits for a time: waits are for counters
 * (expect.poll) or for invalidations; the rate limit is checked by counting
 * loader calls.
 */
const AGE = 200_000;
const slack = { deadlineMs: 5_000 } as const;
const failing = async (): Promise<User> => {
  throw new Error("the database is down");
};

/** Only `source` has recorded anything, `n` ages in the bucket of AGE. */
function onlyAged(servedAge: Readonly<Record<string, AgeHistogram>>, source: string, n: number): void {
  for (const [s, h] of Object.entries(servedAge)) {
    if (s !== source) {
      expect(h.count + h.noWrittenAt, `${s}`).toBe(0);
      continue;
    }
    expect(h.count).toBe(n);
    expect(h.buckets[ageBucketOf(AGE)]).toBe(n);
    expect(h.maxMs).toBeGreaterThanOrEqual(AGE);
    expect(h.sumMs).toBeGreaterThanOrEqual(n * AGE);
  }
}

/** A deferred value: what a test releases when it chooses. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describeEveryBackend("served age and the staleness audit", (backend: () => Backend) => {
  const users = (prefix: string, options: AccessorOptions<User> = {}) => userCache(backend().store, { ...slack, prefix, ...options });

  it("a value read from Redis is served from source redis, then held and served from l1, each with its age since written-at (get, getMany, getOrSet)", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    expect(await heard.ready()).toBe(true);
    const key = users(prefix).keyOf({ id: "a" });
    await backend().raw.set(key, envelopeOf(user("a"), AGE));
    await heardAll(heard, [key]);
    const cache = await l1Cache(backend().store, backend().tracking, prefix);
    expect(await cache.get({ id: "a" })).toEqual(user("a"));
    onlyAged(cache.stats().servedAge, "redis", 1);
    expect(await cache.get({ id: "a" })).toEqual(user("a"));
    expect(await cache.getMany([{ id: "a" }])).toEqual([user("a")]);
    expect(await cache.getOrSet({ id: "a" }, failing)).toEqual(user("a"));
    expect(cache.stats().l1.hit).toBe(3);
    const { l1, redis } = cache.stats().servedAge;
    expect(redis.count).toBe(1);
    expect(l1.count).toBe(3);
    expect(l1.buckets[ageBucketOf(AGE)]).toBe(3);
    await cache.close();
    heard.close();
  });

  it("without an L1, get, getMany, getOrSet and getManyOrSet hits are source redis; values written without a written-at are counted apart", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 3_600 });
    await backend().raw.set(cache.keyOf({ id: "a" }), envelopeOf(user("a"), AGE));
    await users(prefix, { writtenAt: false }).set(user("b"));
    await cache.get({ id: "a" });
    await cache.getMany([{ id: "a" }, { id: "b" }, { id: "none" }]);
    expect(await cache.getOrSet({ id: "a" }, failing)).toEqual(user("a"));
    expect(await cache.getManyOrSet([{ id: "a" }, { id: "b" }], async () => [])).toEqual([user("a"), user("b")]);
    const { redis } = cache.stats().servedAge;
    expect(redis.count).toBe(4);
    expect(redis.noWrittenAt).toBe(2);
    onlyAged({ redis: { ...redis, noWrittenAt: 0 } }, "redis", 4);
    await cache.close();
  });

  it("a stale entry served in grace is source stale; one served because the loader failed is source fail_safe (getOrSet and getManyOrSet)", async () => {
    const prefix = uniquePrefix();
    const planted = async (id: string) => backend().raw.set(users(prefix).keyOf({ id }), envelopeOf(user(id, "stale"), AGE));
    await planted("g");
    await planted("f");
    await planted("m");
    const grace = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 3_600 } });
    let loads = 0;
    expect((await grace.getOrSet({ id: "g" }, async ({ id }) => (loads++, user(id, "fresh"))))?.name).toBe("stale");
    onlyAged(grace.stats().servedAge, "stale", 1);
    await grace.close(); // the refresh has written
    expect(loads).toBe(1);
    const failSafe = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 3_600, staleWhileRevalidate: false } });
    expect((await failSafe.getOrSet({ id: "f" }, failing))?.name).toBe("stale");
    expect((await failSafe.getManyOrSet([{ id: "m" }], async () => Promise.reject(new Error("down"))))[0]?.name).toBe("stale");
    expect(failSafe.stats().loads.stale_fail_safe).toBe(2);
    onlyAged(failSafe.stats().servedAge, "fail_safe", 2);
    await failSafe.close();
  });

  it("stale and fail_safe are recorded for an entry held in L1 as well, and the fresh L1 hit of getOrSet as l1", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    expect(await heard.ready()).toBe(true);
    const key = users(prefix).keyOf({ id: "s" });
    await backend().raw.set(key, envelopeOf(user("s", "stale"), AGE));
    await heardAll(heard, [key]);
    for (const staleWhileRevalidate of [true, false]) {
      const cache = await l1Cache(backend().store, backend().tracking, prefix, { ttlSeconds: 60, loading: { graceSeconds: 3_600, staleWhileRevalidate } });
      await cache.get({ id: "s" }); // from Redis, now held
      expect((await cache.getOrSet({ id: "s" }, failing))?.name).toBe("stale");
      expect(cache.stats().l1.hit).toBe(1);
      const { redis, stale, fail_safe } = cache.stats().servedAge;
      expect(redis.count).toBe(1);
      expect((staleWhileRevalidate ? stale : fail_safe).buckets[ageBucketOf(AGE)]).toBe(1);
      expect((staleWhileRevalidate ? fail_safe : stale).count).toBe(0);
      await cache.close();
    }
    // A fresh held entry: getOrSet's L1 fast path.
    const fresh = await l1Cache(backend().store, backend().tracking, prefix, { ttlSeconds: 3_600 });
    await fresh.get({ id: "s" });
    await fresh.getOrSet({ id: "s" }, failing);
    expect(fresh.stats().servedAge.l1.buckets[ageBucketOf(AGE)]).toBe(1);
    await fresh.close();
    heard.close();
  });

  it("the audit finds a value the source changed and the cache did not: counted divergent with its age, the caller gets the cached value, the cache is not written", async () => {
    const prefix = uniquePrefix();
    const key = users(prefix).keyOf({ id: "d" });
    await backend().raw.set(key, envelopeOf(user("d", "cached"), AGE));
    await backend().raw.set(users(prefix).keyOf({ id: "same" }), envelopeOf(user("same"), AGE));
    const before = await backend().raw.get(key);
    const cache = users(prefix, { ttlSeconds: 3_600, audit: { sampleRate: 1 } });
    const source = new Map([["d", user("d", "changed in the source")], ["same", user("same")]]);
    let calls = 0;
    const loader = async ({ id }: { id: string }): Promise<User | undefined> => (calls++, source.get(id));
    const got = await cache.getOrSet({ id: "d" }, loader);
    expect(got).toEqual(user("d", "cached"));
    expect(await cache.getOrSet({ id: "same" }, loader)).toEqual(user("same"));
    await expect.poll(() => cache.stats().audit.audited).toBe(2);
    const audit = cache.stats().audit;
    expect(audit).toMatchObject({ sampled: 2, loader_call: 2, divergent: 1, loader_error: 0, rate_limited: 0 });
    expect(audit.divergentAge.count).toBe(1);
    expect(audit.divergentAge.buckets[ageBucketOf(AGE)]).toBe(1);
    expect(calls).toBe(2);
    expect(got).toEqual(user("d", "cached")); // what the caller got is unchanged after the audit
    expect(await backend().raw.get(key)).toEqual(before); // nothing written
    expect(cache.stats().writes.written).toBe(0);
    expect(cache.stats().loads.loaded).toBe(0);
    await cache.close();
  });

  it("the audit of getManyOrSet calls the batch loader with the one sampled key; a loader error is counted, never thrown", async () => {
    const prefix = uniquePrefix();
    await backend().raw.set(users(prefix).keyOf({ id: "m" }), envelopeOf(user("m", "cached"), AGE));
    await backend().raw.set(users(prefix).keyOf({ id: "e" }), envelopeOf(user("e"), AGE));
    const cache = users(prefix, { ttlSeconds: 3_600, audit: { sampleRate: 1 } });
    const asked: string[][] = [];
    expect(await cache.getManyOrSet([{ id: "m" }], async (fields) => (asked.push(fields.map((f) => f.id)), [user("m", "new")]))).toEqual([user("m", "cached")]);
    await expect.poll(() => cache.stats().audit.divergent).toBe(1);
    expect(asked).toEqual([["m"]]);
    expect(await cache.getOrSet({ id: "e" }, failing)).toEqual(user("e"));
    await expect.poll(() => cache.stats().audit.loader_error).toBe(1);
    expect(cache.stats().audit).toMatchObject({ audited: 1, divergent: 1, loader_call: 2 });
    await cache.close();
  });

  it("audits of one key share one loader call, and an audit joins the loading cache's own refresh rather than calling the loader", async () => {
    const prefix = uniquePrefix();
    await backend().raw.set(users(prefix).keyOf({ id: "k" }), envelopeOf(user("k"), AGE));
    const cache = users(prefix, { ttlSeconds: 3_600, audit: { sampleRate: 1 } });
    const gate = deferred<User>();
    let calls = 0;
    const slow = async (): Promise<User> => (calls++, gate.promise);
    const got = await Promise.all(Array.from({ length: 5 }, () => cache.getOrSet({ id: "k" }, slow)));
    expect(got.every((u) => u?.name === "nk")).toBe(true);
    expect(cache.stats().audit).toMatchObject({ sampled: 5, loader_call: 1, joined: 4 });
    gate.resolve(user("k"));
    await expect.poll(() => cache.stats().audit.audited).toBe(5);
    expect(cache.stats().audit.divergent).toBe(0);
    expect(calls).toBe(1);
    await cache.close();

    // A stale read in grace starts a refresh: the audit compares with it.
    const key = users(prefix).keyOf({ id: "r" });
    await backend().raw.set(key, envelopeOf(user("r", "stale"), AGE));
    const grace = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 3_600 }, audit: { sampleRate: 1 } });
    let loads = 0;
    expect((await grace.getOrSet({ id: "r" }, async ({ id }) => (loads++, user(id, "fresh"))))?.name).toBe("stale");
    await expect.poll(() => grace.stats().audit.audited).toBe(1);
    expect(grace.stats().audit).toMatchObject({ joined: 1, loader_call: 0, divergent: 1 });
    expect(loads).toBe(1);
    await grace.close();
  });

  it("the audit makes at most maxPerSecond loader calls a second (counted by loader calls): sampled hits past it are rate_limited", async () => {
    const prefix = uniquePrefix();
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const writer = users(prefix, { ttlSeconds: 3_600 });
    await writer.setMany(ids.map((id) => user(id)));
    const cache = users(prefix, { ttlSeconds: 3_600, audit: { sampleRate: 1, maxPerSecond: 2 } });
    let calls = 0;
    const loader = async ({ id }: { id: string }): Promise<User> => (calls++, user(id));
    const started = Date.now();
    for (const id of ids) await cache.getOrSet({ id }, loader);
    const seconds = (Date.now() - started) / 1000;
    await cache.close();
    const audit = cache.stats().audit;
    // A bucket of 2 calls, refilled at 2 a second: however slow the machine, never more than that.
    expect(calls).toBeLessThanOrEqual(2 + Math.ceil(seconds * 2));
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(audit.loader_call).toBe(calls);
    expect(audit.sampled).toBe(ids.length);
    expect(audit.rate_limited).toBe(ids.length - calls);
    expect(audit.audited).toBe(calls);
    expect(audit.divergent).toBe(0);
  });
});
