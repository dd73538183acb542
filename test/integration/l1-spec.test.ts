import { spawnSync } from "node:child_process";
import { expect, inject, it } from "vitest";
import { newSession, sessionCache, type Session, type SessionKey } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { accessorInternals, type WithInternals } from "../../src/accessor/internals.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { cleanup } from "../../src/ops/cleanup.js";
import { migrate } from "../../src/ops/migrate.js";
import type { CacheStore } from "../../src/stores/store.js";
import { clusterNodes, describeEveryBackend, type Backend } from "../support/backends.js";
import { userR1Entry } from "../support/entries.js";
import { envelopeOf, heardAll, heldBack, l1, l1Cache, listen, user } from "../support/l1-harness.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * The L1 tier over every backend. Every assertion that L1 stopped serving a
 * value waits for the invalidation itself (a listener on the same source,
 * or the L1's counters), never for a time.
 */

/** Keys on different slots (and so on different masters of a cluster). */
const spread = ["a", "b", "c", "d", "e", "f", "g", "h"];

describeEveryBackend("L1 tier", (backend: () => Backend) => {
  const cached = (prefix: string, options: AccessorOptions<User> = {}, store: CacheStore = backend().store) => l1Cache(store, backend().tracking, prefix, options);

  it("a second get is served from L1 (counted as an L1 hit, not a Redis read); the value is deep-frozen", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix);
    await cache.set(user("1"));
    await heardAll(heard, [cache.keyOf({ id: "1" })]);
    expect(await cache.get({ id: "1" })).toEqual(user("1"));
    const again = await cache.get({ id: "1" });
    expect(again).toEqual(user("1"));
    expect(Object.isFrozen(again)).toBe(true);
    expect(cache.stats().reads.hit).toBe(1);
    expect(cache.stats().l1).toMatchObject({ hit: 1, entries: 1 });
    expect(cache.stats().l1.bytes).toBeGreaterThan(0);
    await cache.close();
  });

  it("50 concurrent gets of a key L1 does not hold share one Redis read, and all get the frozen value", async () => {
    const prefix = uniquePrefix();
    const cache = await cached(prefix);
    await userCache(backend().store, { prefix, deadlineMs: 5_000 }).set(user("cold"));
    const got = await Promise.all(Array.from({ length: 50 }, () => cache.get({ id: "cold" })));
    expect(got.every((u) => u?.name === "ncold" && Object.isFrozen(u))).toBe(true);
    expect(cache.stats().reads.hit).toBe(1);
    expect(cache.stats().l1.miss).toBe(50);
    await cache.close();
  });

  it('values: "copy" returns a copy per hit, and the reader that filled the L1 its own: changing one does not change the next', async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix, { l1: { ...l1, values: "copy" } });
    await cache.set(user("1"));
    await heardAll(heard, [cache.keyOf({ id: "1" })]);
    const filler = (await cache.get({ id: "1" })) as User;
    filler.name = "changed by the reader that filled the L1";
    const first = (await cache.get({ id: "1" })) as User;
    expect(Object.isFrozen(first)).toBe(false);
    first.name = "changed";
    expect(await cache.get({ id: "1" })).toEqual(user("1"));
    expect(cache.stats().l1.hit).toBe(2);
    await cache.close();
  });

  it("a write by another connection, on every server, stops L1 serving the old values once its invalidations arrived", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix);
    await cache.setMany(spread.map((id) => user(id)));
    await heardAll(heard, spread.map((id) => cache.keyOf({ id })));
    await cache.getMany(spread.map((id) => ({ id })));
    expect(await cache.getMany(spread.map((id) => ({ id })))).toEqual(spread.map((id) => user(id)));
    expect(cache.stats().l1.hit).toBe(spread.length);
    await backend().raw.setMany(spread.map((id) => ({ key: cache.keyOf({ id }), value: envelopeOf(user(id, "new")) })));
    await expect.poll(() => new Set(heard.keys).size).toBe(spread.length);
    expect(await cache.getMany(spread.map((id) => ({ id })))).toEqual(spread.map((id) => user(id, "new")));
    expect(cache.stats().l1.invalidation).toBe(spread.length);
    heard.close();
    await cache.close();
  });

  it("a DEL by redis-cli stops L1 serving the value once its invalidation arrived", async () => {
    const { raw, name, cluster } = backend();
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix);
    await cache.set(user("cli"));
    await heardAll(heard, [cache.keyOf({ id: "cli" })]);
    await cache.get({ id: "cli" });
    expect((await cache.get({ id: "cli" }))?.name).toBe("ncli");
    const key = cache.keyOf({ id: "cli" });
    if (name === "memory") await raw.del([key]);
    else {
      const url = new URL(name.startsWith("valkey ") ? ((inject("valkey") as { url?: string }).url ?? inject("redisUrl")) : inject("redisUrl"));
      const [host, port] = cluster ? ((n) => [n.host, String(n.port)])(clusterNodes(name.startsWith("valkey ") ? (inject("valkey") as { clusterNodes?: string }).clusterNodes : undefined)[0] as { host: string; port: number }) : [url.hostname, url.port || "6379"];
      const cli = spawnSync("redis-cli", ["-h", host as string, "-p", port as string, ...(cluster ? ["-c"] : []), "DEL", key], { encoding: "utf8" });
      expect(cli.stdout.trim()).toBe("1");
    }
    await expect.poll(() => heard.keys.includes(key)).toBe(true);
    expect(await cache.get({ id: "cli" })).toBeUndefined();
    heard.close();
    await cache.close();
  });

  it("an id whose key part is escaped (`a:b{c}%`) is held, served from L1, and dropped by another connection's write like any other", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix);
    const id = "a:b{c}%";
    await cache.set(user(id));
    const key = cache.keyOf({ id });
    expect(key.endsWith(":a%3Ab%7Bc%7D%25")).toBe(true);
    await heardAll(heard, [key]);
    await cache.get({ id });
    expect(await cache.get({ id })).toEqual(user(id));
    expect(cache.stats().l1).toMatchObject({ hit: 1, entries: 1 });
    await backend().raw.setMany([{ key, value: envelopeOf(user(id, "new")) }]);
    await expect.poll(() => heard.keys.includes(key)).toBe(true);
    await expect.poll(() => cache.stats().l1.invalidation).toBe(1);
    expect(await cache.get({ id })).toEqual(user(id, "new"));
    heard.close();
    await cache.close();
  });

  it("a key of two fields (Session: tenantId, sessionId; one escaped) is held, served from L1, and dropped by another accessor's write, and keys outside the key space drop nothing", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = sessionCache(backend().store, { prefix, deadlineMs: 5_000, l1: { ...l1, tracking: backend().tracking } });
    const internals = (cache as unknown as WithInternals<Session, SessionKey>)[accessorInternals]();
    expect(await internals.l1?.ready(30_000)).toBe(true);
    const writer = sessionCache(backend().store, { prefix, deadlineMs: 5_000 });
    const fields = { tenantId: "t:1", sessionId: "s-1" };
    const session = (userId: string): Session => ({ ...newSession(), ...fields, userId });
    await writer.set(session("first"));
    const key = cache.keyOf(fields);
    expect(key.endsWith(":t%3A1:s-1")).toBe(true);
    await heardAll(heard, [key]);
    await cache.get(fields);
    expect((await cache.get(fields))?.userId).toBe("first");
    expect(cache.stats().l1).toMatchObject({ hit: 1, entries: 1 });
    // Keys outside the key space drop nothing, even one as long as a key of it and ending in the same id.
    const id = "t%3A1:s-1";
    internals.l1?.invalidate(["x".repeat(key.length - id.length) + id, id]);
    expect(cache.stats().l1).toMatchObject({ entries: 1, invalidation: 0 });
    await writer.set(session("second"));
    await expect.poll(() => cache.stats().l1.invalidation).toBe(1);
    expect((await cache.get(fields))?.userId).toBe("second");
    heard.close();
    await Promise.all([cache.close(), writer.close()]);
  });

  it("migrate's rewrite of an older-revision entry and cleanup's delete stop L1 serving what they replaced", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    // writeBack off: only migrate rewrites the r1 entry.
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix, { writeBack: false });
    const key = cache.keyOf({ id: "old" });
    await raw.set(key, userR1Entry({ id: "old", name: "r1", email: "" }));
    await heardAll(heard, [key]);
    expect((await cache.get({ id: "old" }))?.name).toBe("r1");
    expect(cache.stats().reads.upgraded).toBe(1);
    await cache.get({ id: "old" });
    expect(cache.stats().l1.hit).toBe(1);
    const report = await migrate(userCache(store, { prefix }));
    expect(report.counts).toMatchObject({ migrated: 1 });
    await expect.poll(() => heard.keys.includes(key)).toBe(true);
    expect((await cache.get({ id: "old" }))?.name).toBe("r1");
    expect(cache.stats().reads).toMatchObject({ upgraded: 1, hit: 1 });
    heard.keys.length = 0;
    expect((await cleanup(userCache(store, { prefix }), { all: true, includeLive: true })).deleted).toBe(1);
    await expect.poll(() => heard.keys.includes(key)).toBe(true);
    expect(await cache.get({ id: "old" })).toBeUndefined();
    heard.close();
    await cache.close();
  });

  it("an invalidation that arrives while a read of its key is in flight keeps that read's older reply out of L1", async () => {
    const { store, raw } = backend();
    const prefix = uniquePrefix();
    // The store's reply to the first read is held back until the test lets it go: the read is in flight.
    const slow = heldBack(store);
    const writer = userCache(store, { prefix, deadlineMs: 5_000 });
    await writer.set(user("race", "old"));
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix, {}, slow.store);
    const held = slow.holdNext();
    const reading = cache.get({ id: "race" });
    await held.answered; // Redis answered "old"; the reply has not reached the L1 yet
    await raw.set(cache.keyOf({ id: "race" }), envelopeOf(user("race", "new")));
    await expect.poll(() => heard.keys.includes(cache.keyOf({ id: "race" }))).toBe(true);
    held.release();
    expect((await reading)?.name).toBe("old");
    expect(cache.stats().l1).toMatchObject({ race_skipped: 1, entries: 0 });
    expect((await cache.get({ id: "race" }))?.name).toBe("new");
    heard.close();
    await cache.close();
  });

  it("the process's own set, delete and getOrSet write change what L1 serves at once, without waiting for Redis", async () => {
    const cache = await cached(uniquePrefix());
    await cache.set(user("own", "v1"));
    await cache.get({ id: "own" });
    expect((await cache.get({ id: "own" }))?.name).toBe("v1");
    await cache.set(user("own", "v2"));
    expect((await cache.get({ id: "own" }))?.name).toBe("v2");
    await cache.get({ id: "own" });
    expect(await cache.delete({ id: "own" })).toBe(true);
    expect(await cache.get({ id: "own" })).toBeUndefined();
    await cache.close();
  });

  it("getOrSet looks in L1 first: a held key is returned without a Redis read or a load", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix);
    let loads = 0;
    const loader = async ({ id }: { id: string }): Promise<User> => {
      loads++;
      return user(id);
    };
    expect(await cache.getOrSet({ id: "g" }, loader)).toEqual(user("g"));
    await heardAll(heard, [cache.keyOf({ id: "g" })]); // Redis's invalidation of the load's own write
    expect(await cache.getOrSet({ id: "g" }, loader)).toEqual(user("g")); // from Redis, now kept
    const reads = cache.stats().reads.hit;
    expect(await cache.getOrSet({ id: "g" }, loader)).toEqual(user("g"));
    expect(loads).toBe(1);
    expect(cache.stats().reads.hit).toBe(reads);
    expect(cache.stats().l1.hit).toBeGreaterThanOrEqual(1);
    const many = await cache.getManyOrSet([{ id: "g" }, { id: "h" }], async (missing) => missing.map((f) => user(f.id)));
    expect(many).toEqual([user("g"), user("h")]);
    await cache.close();
  });

  it("grace and fail-safe apply to a held L1 entry: past its fresh TTL it is returned without a Redis read, while its refresh runs and when the loader fails", async () => {
    const { raw } = backend();
    const prefix = uniquePrefix();
    const key = userCache(backend().store, { prefix }).keyOf({ id: "s" });
    const heard = listen(backend().tracking, prefix);
    expect(await heard.ready()).toBe(true);
    await raw.set(key, envelopeOf(user("s", "stale"), 120_000));
    await heardAll(heard, [key]);
    const failing = async (): Promise<User> => {
      throw new Error("the database is down");
    };
    for (const staleWhileRevalidate of [true, false]) {
      const cache = await cached(prefix, { ttlSeconds: 60, loading: { graceSeconds: 3_600, staleWhileRevalidate } });
      await cache.get({ id: "s" }); // from Redis, now held
      const reads = cache.stats().reads.hit;
      expect((await cache.getOrSet({ id: "s" }, failing))?.name).toBe("stale");
      expect(cache.stats().reads.hit).toBe(reads);
      expect(cache.stats().l1.hit).toBe(1);
      expect(cache.stats().loads).toMatchObject(staleWhileRevalidate ? { stale_grace: 1 } : { stale_fail_safe: 1 });
      await cache.close();
    }
    heard.close();
  });

  it("holds at most maxEntries entries and maxBytes bytes with 10× more keys read than fit, evictions counted", async () => {
    const maxBytes = 64 * 1024;
    const cache = await cached(uniquePrefix(), { l1: { maxEntries: 100, maxBytes } });
    const ids = Array.from({ length: 1000 }, (_, i) => `k${i}`);
    await cache.setMany(ids.map((id) => user(id)));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < ids.length; i += 100) {
        await cache.getMany(ids.slice(i, i + 100).map((id) => ({ id })));
        const { entries, bytes } = cache.stats().l1;
        expect(entries).toBeLessThanOrEqual(100);
        expect(bytes).toBeLessThanOrEqual(maxBytes);
      }
    }
    expect(cache.stats().l1.eviction).toBeGreaterThan(0);
    await cache.close();
  });

  it("a killed tracking connection flushes L1 (counted), reads go to Redis, and L1 fills again once tracking is back", async () => {
    const { raw } = backend();
    if (raw.killTracking === undefined) {
      // MemoryStore has no connection: its tracking plays the loss.
      const memory = backend().tracking as unknown as { flush(reason: "disconnected", live: boolean): void; reconnect(): void };
      const cache = await cached(uniquePrefix());
      await cache.set(user("k"));
      await cache.get({ id: "k" });
      memory.flush("disconnected", false);
      expect(cache.stats().l1).toMatchObject({ flush_disconnected: 1, entries: 0 });
      await cache.get({ id: "k" });
      expect(cache.stats().l1.entries).toBe(0);
      memory.reconnect();
      await cache.get({ id: "k" });
      expect(cache.stats().l1.entries).toBe(1);
      await cache.close();
      return;
    }
    const cache = await cached(uniquePrefix());
    await cache.set(user("k"));
    await cache.get({ id: "k" });
    expect(cache.stats().l1.entries).toBe(1);
    expect(await raw.killTracking()).toBeGreaterThan(0);
    await expect.poll(() => cache.stats().l1.flush_disconnected).toBeGreaterThanOrEqual(1);
    expect(cache.stats().l1.entries).toBe(0);
    const reads = cache.stats().reads.hit;
    expect(await cache.get({ id: "k" })).toEqual(user("k"));
    expect(cache.stats().reads.hit).toBe(reads + 1);
    const internals = (cache as unknown as WithInternals<User, { id: string }>)[accessorInternals]();
    expect(await internals.l1?.ready(10_000)).toBe(true);
    await cache.get({ id: "k" });
    await cache.get({ id: "k" });
    expect(cache.stats().l1.entries).toBe(1);
    await cache.close();
  });
});
