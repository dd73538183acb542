import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { encodeAbsentMarker } from "../../src/envelope/encode.js";
import type { CacheStore } from "../../src/stores/store.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { userR1Entry } from "../support/entries.js";
import { envelopeOf, heardAll, heldBack, l1Cache, listen, switchable, user, type Heard } from "../support/l1-harness.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * The two promises of docs/l1.md that need more than the L1's own
 * bookkeeping, over every backend:
 *
 * - an L1 never serves a value after its key's expiry in Redis, though
 *   Redis announces an expiry only when it removes the key (its active
 *   expiry cycle, or a command touching it), which may be much later;
 * - a read never joins a read of its key that began before a change it
 *   could know of (an invalidation, a flush, this process's own write).
 */
const loadAs = (name: string) => async (fields: readonly { id: string }[]) => fields.map(({ id }) => user(id, name));

describeEveryBackend("L1 promises", (backend: () => Backend) => {
  const cached = (prefix: string, options: AccessorOptions<User> = {}, store: CacheStore = backend().store) => l1Cache(store, backend().tracking, prefix, options);

  it("with Redis's active expiry off (no invalidation until a key is touched), a value filled into L1 by get, getMany, getOrSet or getManyOrSet, an upgraded older revision or an absent marker is not served from L1 once its key's TTL has passed", async () => {
    const { raw } = backend();
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    // writeBack off: the upgraded entry stays as written (a write-back would drop it from L1 by itself).
    const cache = await cached(prefix, { writeBack: false });
    const kinds = ["get", "many", "getOrSet", "manyOrSet", "upgraded", "absent"] as const;
    const absent = encodeAbsentMarker(userEntity.current.schemaId, { writtenAt: true, writerTag: undefined }, Date.now());
    const names = (values: unknown[]) => values.map((v) => (v as User | undefined)?.name);
    expect(await raw.activeExpiry(false), "DEBUG SET-ACTIVE-EXPIRE refused: start the server with --enable-debug-command local").toBe(true);
    try {
      // A TTL of 1 s, or longer when a busy machine took that long to fill and check the L1 (new keys each time).
      for (const ttlSeconds of [1, 2, 4, 8, 16]) {
        const ids = kinds.map((kind) => `${kind}-${ttlSeconds}`);
        const keys = ids.map((id) => cache.keyOf({ id }));
        // Redis counts each TTL from when it runs the SET: after `sent`, before `acked`.
        const sent = Date.now();
        await raw.setMany(ids.map((id, i) => ({ key: keys[i] as string, value: kinds[i] === "upgraded" ? userR1Entry({ id, name: "r1", email: "" }) : kinds[i] === "absent" ? absent : envelopeOf(user(id, "old")), ttlSeconds })));
        const acked = Date.now();
        await heardAll(heard, keys);
        const [get, many, getOrSet, manyOrSet, upgraded, absentId] = ids as [string, string, string, string, string, string];
        const fill = async (): Promise<unknown[]> => [
          await cache.get({ id: get }),
          (await cache.getMany([{ id: many }]))[0],
          await cache.getOrSet({ id: getOrSet }, async ({ id }) => user(id, "loaded")),
          (await cache.getManyOrSet([{ id: manyOrSet }], loadAs("loaded")))[0],
          await cache.get({ id: upgraded }),
          await cache.getOrSet({ id: absentId }, async ({ id }) => user(id, "loaded")),
        ];
        const flushes = (): number => { const l = cache.stats().l1; return l.flush_disconnected + l.flush_heartbeat + l.flush_topology + l.flush_server; };
        const flushed = flushes();
        const first = names(await fill());
        const hits = cache.stats().l1.hit;
        const second = names(await fill());
        // Too slow to tell (a key may have expired meanwhile), or tracking was lost (another file killed it): again.
        if (Date.now() >= sent + ttlSeconds * 1000 || flushes() !== flushed) continue;
        expect(first).toEqual(["old", "old", "old", "old", "r1", undefined]);
        // Every one is held now: the same calls were L1 hits.
        expect(second).toEqual(["old", "old", "old", "old", "r1", undefined]);
        expect(cache.stats().l1.hit).toBe(hits + kinds.length);
        // Past every key's expiry.
        await sleep(Math.max(0, acked + ttlSeconds * 1000 + 1 - Date.now()));
        // Active expiry off: Redis has not removed the keys, so nothing told the L1; it knew the expiry from its own reads.
        expect(heard.keys.filter((k) => keys.includes(k))).toEqual([]);
        expect(names(await fill())).toEqual([undefined, undefined, "loaded", "loaded", undefined, "loaded"]);
        expect(cache.stats().l1.hit).toBe(hits + kinds.length);
        return;
      }
      expect.fail("five attempts, TTLs of 1 to 16 s, were each too slow to fill and check the L1 before the keys expired");
    } finally {
      expect(await raw.activeExpiry(true)).toBe(true);
      heard.close();
      await cache.close();
    }
  });

  it("a value whose key has no TTL is held until the L1's own ttlSeconds: a later get of it is an L1 hit", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = await cached(prefix);
    await backend().raw.set(cache.keyOf({ id: "forever" }), envelopeOf(user("forever")));
    await heardAll(heard, [cache.keyOf({ id: "forever" })]);
    await cache.get({ id: "forever" });
    expect((await cache.get({ id: "forever" }))?.name).toBe("nforever");
    expect(cache.stats().l1).toMatchObject({ hit: 1, entries: 1 });
    heard.close();
    await cache.close();
  });

  /** A key read by a get whose reply is held back after Redis answered "old"; `change` happens; then a second get and a getOrSet of the key start, and must see "new". */
  const overtaken = async (change: (cache: Awaited<ReturnType<typeof cached>>, key: string, heard: Heard) => Promise<void>, tracking = backend().tracking): Promise<void> => {
    const { store } = backend();
    const prefix = uniquePrefix();
    const slow = heldBack(store);
    const heard = listen(backend().tracking, prefix);
    const cache = await l1Cache(slow.store, tracking, prefix);
    const key = cache.keyOf({ id: "k" });
    await userCache(store, { prefix, deadlineMs: 5_000 }).set(user("k", "old"));
    await heardAll(heard, [key]);
    const held = slow.holdNext();
    const first = cache.get({ id: "k" });
    await held.answered; // Redis answered "old"; the reply is held back
    await change(cache, key, heard);
    const second = cache.get({ id: "k" });
    const loaded = cache.getOrSet({ id: "k" }, async ({ id }) => user(id, "loaded"));
    held.release();
    expect((await first)?.name).toBe("old");
    expect((await second)?.name).toBe("new");
    expect((await loaded)?.name).toBe("new");
    heard.close();
    await cache.close();
  };

  it("a get and a getOrSet that start after another client's write (its invalidation arrived) do not join a read of the key sent before it: they return the new value", async () => {
    await overtaken(async (_cache, key, heard) => {
      await backend().raw.set(key, envelopeOf(user("k", "new")));
      await heardAll(heard, [key]); // or a flush meanwhile (another file killed tracking): either way the key changed for the L1
    });
  });

  it("a get and a getOrSet that start after this process's own acknowledged set do not join a read of the key sent before it: they return the new value", async () => {
    await overtaken(async (cache) => {
      expect(await cache.set(user("k", "new"))).toBe("written");
    });
  });

  it("a read sent while tracking was not live is never joined: once tracking is back and another client's write was heard, a get and a getOrSet return the new value", async () => {
    const { store, raw } = backend();
    const prefix = uniquePrefix();
    const slow = heldBack(store);
    const heard = listen(backend().tracking, prefix);
    const tracking = switchable(backend().tracking);
    const cache = await l1Cache(slow.store, tracking.source, prefix);
    const key = cache.keyOf({ id: "k" });
    await userCache(store, { prefix, deadlineMs: 5_000 }).set(user("k", "old"));
    await heardAll(heard, [key]);
    tracking.drop();
    expect(cache.stats().l1.flush_disconnected).toBeGreaterThanOrEqual(1);
    const held = slow.holdNext();
    const first = cache.get({ id: "k" }); // sent while tracking is not live
    await held.answered; // Redis answered "old"; the reply is held back
    tracking.restore();
    expect(await cache.l1Ready(30_000)).toBe(true);
    await raw.set(key, envelopeOf(user("k", "new")));
    await heardAll(heard, [key]); // or a flush meanwhile: either way the key changed for the L1
    const second = cache.get({ id: "k" });
    const loaded = cache.getOrSet({ id: "k" }, async ({ id }) => user(id, "loaded"));
    held.release();
    expect((await first)?.name).toBe("old");
    expect((await second)?.name).toBe("new");
    expect((await loaded)?.name).toBe("new");
    heard.close();
    await cache.close();
  });

  it("a get and a getOrSet that start after tracking was lost (the L1 flushed) and another client wrote do not join a read of the key sent before: they return the new value", async () => {
    const tracking = switchable(backend().tracking);
    await overtaken(async (cache, key) => {
      tracking.drop();
      expect(cache.stats().l1.flush_disconnected).toBeGreaterThanOrEqual(1);
      // The write's invalidation still reaches the L1 (the source is only played as lost): the flush is what counts.
      await backend().raw.set(key, envelopeOf(user("k", "new")));
      tracking.restore();
    }, tracking.source);
  });
});
