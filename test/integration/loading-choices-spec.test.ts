import { expect, it } from "vitest";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { readHeader } from "../../src/envelope/header.js";
import { ConfigError, LoadContextError, LoadTimeoutError, type ProtocacheError } from "../../src/errors.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * Who decides how fresh a value must be, over every backend: the loader
 * (setTtl, setGrace, skip), the caller (forceFresh, allowStale), and the
 * fail-safe (background completion, the foreground back-off); has,
 * deleteMany and expire. Nothing asserts that something happened within a
 * time: waits are for events (expect.poll), and the few sleeps only make
 * sure that at least some time has passed.
 */
const user = (id: string, name = `n${id}`): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });
const slack = { deadlineMs: 5_000 } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const gate = (): { wait: Promise<void>; open: () => void } => {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
};

/** An envelope of `value` as the current revision writes it, written `ageMs` ago. */
function writtenAgo(value: User, ageMs: number): Buffer {
  return encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 1024 }, Date.now() - ageMs);
}

describeEveryBackend("loading: who decides freshness", (backend: () => Backend) => {
  const users = (prefix: string, options: AccessorOptions<User> = {}) => userCache(backend().store, { ...slack, prefix, ...options });
  const keyOf = (prefix: string, id: string): string => `${prefix}user:v1:${id}`;

  it("setTtl(1): the entry's Redis TTL is 1 s (no grace) and it expires: the next getOrSet loads again", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300 });
    let calls = 0;
    const loader = ({ id }: { id: string }, context: { setTtl(s: number): void }): User => {
      calls++;
      context.setTtl(1);
      return user(id);
    };
    expect(await cache.getOrSet({ id: "a" }, loader)).toEqual(user("a"));
    expect(await backend().raw.ttl(keyOf(prefix, "a"))).toBe(1);
    await expect.poll(() => backend().raw.get(keyOf(prefix, "a")), { timeout: 30_000, interval: 100 }).toBeNull();
    expect(await cache.getOrSet({ id: "a" }, loader)).toEqual(user("a"));
    expect(calls).toBe(2);
  });

  it("setTtl(1) under an accessor with grace: no grace unless the loader sets one (readers would read it fresh until Redis drops it): gone after 1 s, then loaded", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, loading: { graceSeconds: 600, jitter: 0 } });
    let calls = 0;
    const loader = ({ id }: { id: string }, context: { setTtl(s: number): void }): User => {
      calls++;
      context.setTtl(1);
      return user(id, `v${calls}`);
    };
    expect((await cache.getOrSet({ id: "g" }, loader))?.name).toBe("v1");
    expect(await backend().raw.ttl(keyOf(prefix, "g"))).toBe(1);
    await expect.poll(() => backend().raw.get(keyOf(prefix, "g")), { timeout: 30_000, interval: 100 }).toBeNull();
    expect((await cache.getOrSet({ id: "g" }, loader))?.name).toBe("v2");
    expect(cache.stats().loads.stale_grace).toBe(0);
    // With its own grace: kept that much longer.
    await cache.getOrSet({ id: "h" }, ({ id }, context) => {
      context.setTtl(1);
      context.setGrace(100);
      return user(id);
    });
    const ttl = await backend().raw.ttl(keyOf(prefix, "h"));
    expect(ttl).toBeGreaterThan(90);
    expect(ttl).toBeLessThanOrEqual(101);
  });

  it("setTtl longer than the accessor's keeps the entry (with the accessor's grace) that long, and readers still judge it by their TTL; setTtl(0) stores it without expiry", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 1, loading: { graceSeconds: 60, jitter: 0 } });
    await cache.getOrSet({ id: "long" }, ({ id }, context) => {
      context.setTtl(3600);
      return user(id);
    });
    const ttl = await backend().raw.ttl(keyOf(prefix, "long"));
    expect(ttl).toBeGreaterThan(3600);
    expect(ttl).toBeLessThanOrEqual(3660);
    await sleep(1_100);
    expect(await cache.get({ id: "long" }, { allowStale: false })).toBeUndefined();
    expect(await cache.get({ id: "long" })).toEqual(user("long"));
    await cache.getOrSet({ id: "ever" }, ({ id }, context) => {
      context.setTtl(0);
      return user(id);
    });
    expect(await backend().raw.ttl(keyOf(prefix, "ever"))).toBe(-1);
  });

  it("with tags and clear(): an entry loaded after an invalidation with a loader's TTL is served (its written-at is the load's start), one loaded before it is not", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, invalidation: true, loading: { graceSeconds: 60 } });
    await cache.invalidateTags(["shop:1"]);
    await cache.clear();
    await sleep(5); // a load starting in the invalidation's millisecond would be retired by it
    let calls = 0;
    const loader = ({ id }: { id: string }, context: { setTtl(s: number): void; setTags(t: readonly string[]): void }): User => {
      calls++;
      context.setTtl(5);
      context.setTags(["shop:1"]);
      return user(id);
    };
    expect(await cache.getOrSet({ id: "t" }, loader)).toEqual(user("t"));
    expect(await cache.getOrSet({ id: "t" }, loader)).toEqual(user("t"));
    expect(await cache.get({ id: "t" }, { allowStale: false })).toEqual(user("t"));
    expect(calls).toBe(1);
    expect(await backend().raw.ttl(keyOf(prefix, "t"))).toBeLessThanOrEqual(5);
    await cache.invalidateTags(["shop:1"]);
    expect(await cache.get({ id: "t" })).toBeUndefined();
    expect(await cache.getOrSet({ id: "t" }, loader)).toEqual(user("t"));
    expect(calls).toBe(2);
  });

  it("background completion and clear(): a late value whose load started before a clear() is written but never served", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { invalidation: true, loading: { hardTimeoutMs: 50, backgroundCompletion: true } });
    const { wait, open } = gate();
    await expect(cache.getOrSet({ id: "late" }, async ({ id }) => {
      await wait;
      return user(id);
    })).rejects.toBeInstanceOf(LoadTimeoutError);
    await cache.clear();
    open();
    await expect.poll(() => backend().raw.get(keyOf(prefix, "late"))).not.toBeNull();
    expect(await cache.get({ id: "late" })).toBeUndefined();
  });

  it("expire keeps a tagged entry's tags: stale, then retired by its tag like any entry", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, invalidation: true, loading: { graceSeconds: 60 } });
    await cache.set(user("x"), { tags: ["shop:2"] });
    expect(await cache.expire({ id: "x" })).toBe(true);
    expect(readHeader((await backend().raw.get(keyOf(prefix, "x"))) as Buffer).tags).toEqual(["shop:2"]);
    expect(await cache.get({ id: "x" })).toEqual(user("x"));
    expect(await cache.get({ id: "x" }, { allowStale: false })).toBeUndefined();
    await cache.invalidateTags(["shop:2"]);
    expect(await cache.get({ id: "x" })).toBeUndefined();
  });

  it("eagerRefresh: a read of an entry past that fraction of its TTL returns it and refreshes it once in the background", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, loading: { eagerRefresh: 0.5, jitter: 0 } });
    await backend().raw.set(keyOf(prefix, "old"), writtenAgo(user("old", "old"), 200_000), 300);
    expect((await cache.getOrSet({ id: "old" }, ({ id }) => user(id, "new")))?.name).toBe("old");
    await expect.poll(async () => (await cache.get({ id: "old" }))?.name).toBe("new");
    expect(cache.stats().loads.eager_refresh).toBe(1);
  });

  it("setGrace sets the Redis TTL past the fresh TTL; an undefined result's setTtl is its absent marker's lifetime", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, loading: { jitter: 0 } });
    await cache.getOrSet({ id: "gr" }, ({ id }, context) => {
      context.setGrace(100);
      return user(id);
    });
    const ttl = await backend().raw.ttl(keyOf(prefix, "gr"));
    expect(ttl).toBeGreaterThan(150);
    expect(ttl).toBeLessThanOrEqual(160);
    expect(await cache.getOrSet({ id: "none" }, (_, context) => {
      context.setTtl(500);
      return undefined;
    })).toBeUndefined();
    const marker = await backend().raw.ttl(keyOf(prefix, "none"));
    expect(marker).toBeGreaterThan(490);
    expect(marker).toBeLessThanOrEqual(500);
  });

  it("a value past the accessor's grace but still in Redis (its loader chose a longer grace) is the fail-safe when the loader fails", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, onError: () => {}, loading: { graceSeconds: 10, jitter: 0 } });
    // Written 200 s ago with a 60 s TTL: past the accessor's 10 s grace, in Redis for the loader's 1000.
    await backend().raw.set(keyOf(prefix, "fs"), writtenAgo(user("fs", "old"), 200_000), 800);
    const down = (): never => {
      throw new Error("source down");
    };
    expect((await cache.getOrSet({ id: "fs" }, down))?.name).toBe("old");
    expect(cache.stats().loads).toMatchObject({ stale_fail_safe: 1, load_error: 1, stale_grace: 0 });
    // Never served as it is while the source answers: past grace, it is loaded.
    const fresh = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 10, jitter: 0 } });
    expect((await fresh.getOrSet({ id: "fs" }, ({ id }) => user(id, "new")))?.name).toBe("new");
  });

  it("skip(): the value is returned but nothing is written, not even an absent marker; the next call loads again", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    let calls = 0;
    const skipping = ({ id }: { id: string }, context: { skip(): void }): User | undefined => {
      calls++;
      context.skip();
      return id === "gone" ? undefined : user(id);
    };
    expect(await cache.getOrSet({ id: "s" }, skipping)).toEqual(user("s"));
    expect(await cache.getOrSet({ id: "gone" }, skipping)).toBeUndefined();
    expect(await backend().raw.get(keyOf(prefix, "s"))).toBeNull();
    expect(await backend().raw.get(keyOf(prefix, "gone"))).toBeNull();
    expect(await cache.getOrSet({ id: "s" }, skipping)).toEqual(user("s"));
    expect(calls).toBe(3);
    expect(cache.stats().loads).toMatchObject({ loaded: 0, absent_written: 0 });
  });

  it("a bad choice fails the load with a ConfigError (nothing cached); a choice after the loader returned is reported and ignored", async () => {
    const prefix = uniquePrefix();
    const reported: ProtocacheError[] = [];
    const cache = users(prefix, { onError: (e) => reported.push(e) });
    await expect(cache.getOrSet({ id: "bad" }, ({ id }, context) => {
      context.setTtl(-1);
      return user(id);
    })).rejects.toThrow(/setTtl\(seconds\)/);
    expect(await backend().raw.get(keyOf(prefix, "bad"))).toBeNull();
    let later!: { setTtl(s: number): void };
    expect(await cache.getOrSet({ id: "late" }, ({ id }, context) => {
      later = context;
      return user(id);
    })).toEqual(user("late"));
    later.setTtl(1);
    expect(reported.some((e) => e instanceof LoadContextError)).toBe(true);
    expect(await backend().raw.ttl(keyOf(prefix, "late"))).toBeGreaterThan(1);
  });

  it("getManyOrSet: a batch-wide TTL, an entry's own TTL over it, an entry skipped, and an index out of range refused", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, loading: { jitter: 0 } });
    const got = await cache.getManyOrSet([{ id: "b0" }, { id: "b1" }, { id: "b2" }, { id: "b3" }], (missing, context) => {
      context.setTtl(100);
      context.entry(1).setTtl(7);
      context.entry(2).skip();
      context.entry(3).skip();
      return missing.map((f) => (f.id === "b3" ? undefined : user(f.id)));
    });
    expect(got.map((u) => u?.id)).toEqual(["b0", "b1", "b2", undefined]);
    const ttls = await Promise.all(["b0", "b1", "b2", "b3"].map((id) => backend().raw.ttl(keyOf(prefix, id))));
    expect(ttls[0]).toBeGreaterThan(90);
    expect(ttls[0]).toBeLessThanOrEqual(100);
    expect(ttls[1]).toBeGreaterThan(0);
    expect(ttls[1]).toBeLessThanOrEqual(7);
    expect(ttls.slice(2)).toEqual([-2, -2]);
    await expect(cache.getManyOrSet([{ id: "x" }], (missing, context) => {
      context.entry(1).setTtl(5);
      return missing.map((f) => user(f.id));
    })).rejects.toBeInstanceOf(ConfigError);
    expect(await backend().raw.get(keyOf(prefix, "x"))).toBeNull();
  });

  it("forceFresh: 200 concurrent callers of a key with a fresh value call the loader exactly once and all get its new value, which is cached", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    await cache.set(user("ff", "cached"));
    let calls = 0;
    const { wait, open } = gate();
    const loader = async ({ id }: { id: string }): Promise<User> => {
      calls++;
      await wait;
      return user(id, "source");
    };
    const all = Promise.all(Array.from({ length: 200 }, () => cache.getOrSet({ id: "ff" }, loader, { forceFresh: true })));
    await expect.poll(() => calls).toBe(1);
    open();
    const got = await all;
    expect(calls).toBe(1);
    expect(got.every((u) => u?.name === "source")).toBe(true);
    expect(cache.stats().loads).toMatchObject({ loaded: 1, coalesced: 199 });
    expect((await cache.get({ id: "ff" }))?.name).toBe("source");
    // Without it, the cached value is served.
    expect((await cache.getOrSet({ id: "ff" }, () => user("ff", "other")))?.name).toBe("source");
  });

  it("forceFresh on getManyOrSet loads every key, cached ones included, in one loader call; an absent marker is not served either", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    await cache.set(user("m1", "cached"));
    expect(await cache.getOrSet({ id: "m2" }, () => undefined)).toBeUndefined();
    const given: string[][] = [];
    const got = await cache.getManyOrSet([{ id: "m1" }, { id: "m2" }], (missing) => {
      given.push(missing.map((f) => f.id));
      return missing.map((f) => user(f.id, "source"));
    }, { forceFresh: true });
    expect(given).toEqual([["m1", "m2"]]);
    expect(got.map((u) => u?.name)).toEqual(["source", "source"]);
    expect((await cache.getMany([{ id: "m1" }, { id: "m2" }])).map((u) => u?.name)).toEqual(["source", "source"]);
  });

  it("background completion: a load past hardTimeoutMs rejects its callers with a LoadTimeoutError (its signal not aborted) and is cached when it finishes", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { loading: { hardTimeoutMs: 50, backgroundCompletion: true } });
    const { wait, open } = gate();
    let signal: AbortSignal | undefined;
    await expect(cache.getOrSet({ id: "slow" }, async ({ id }, context) => {
      signal = context.signal;
      context.setTtl(120);
      await wait;
      return user(id, "late");
    })).rejects.toBeInstanceOf(LoadTimeoutError);
    expect(signal?.aborted).toBe(false);
    expect(await backend().raw.get(keyOf(prefix, "slow"))).toBeNull();
    open();
    await expect.poll(async () => (await cache.get({ id: "slow" }))?.name).toBe("late");
    expect(await backend().raw.ttl(keyOf(prefix, "slow"))).toBeLessThanOrEqual(120); // the loader's choice applies to the late write
    expect(cache.stats().loads).toMatchObject({ hard_timeout: 1, loaded: 1 });
  });

  it("background completion with a stale value: callers get the stale value at the hard timeout; the late value is cached; batches too", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 600, staleWhileRevalidate: false, hardTimeoutMs: 50, backgroundCompletion: true }, onError: () => {} });
    await backend().raw.set(keyOf(prefix, "st"), writtenAgo(user("st", "stale"), 120_000), 500);
    const { wait, open } = gate();
    expect((await cache.getOrSet({ id: "st" }, async ({ id }) => {
      await wait;
      return user(id, "late");
    }))?.name).toBe("stale");
    const batch = gate();
    await expect(cache.getManyOrSet([{ id: "bt" }], async (missing) => {
      await batch.wait;
      return missing.map((f) => user(f.id, "late"));
    })).rejects.toBeInstanceOf(LoadTimeoutError);
    open();
    batch.open();
    await expect.poll(async () => (await cache.getMany([{ id: "st" }, { id: "bt" }])).map((u) => u?.name)).toEqual(["late", "late"]);
  });

  it("without background completion, a late result is not cached (the signal aborted)", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { loading: { hardTimeoutMs: 50 } });
    const { wait, open } = gate();
    let done = false;
    await expect(cache.getOrSet({ id: "ab" }, async ({ id }) => {
      await wait;
      done = true;
      return user(id);
    })).rejects.toBeInstanceOf(LoadTimeoutError);
    open();
    await expect.poll(() => done).toBe(true);
    await cache.close();
    expect(await backend().raw.get(keyOf(prefix, "ab"))).toBeNull();
  });

  it("foreground back-off: after a failed load, callers holding a stale value get it without calling the loader until failSafeBackoffMs passes", async () => {
    const prefix = uniquePrefix();
    const options = (failSafeBackoffMs: number) => ({ ttlSeconds: 60, onError: () => {}, loading: { graceSeconds: 600, staleWhileRevalidate: false, failSafeBackoffMs } });
    for (const id of ["t", "u", "v"]) await backend().raw.set(keyOf(prefix, id), writtenAgo(user(id, "stale"), 120_000), 500);
    let calls = 0;
    const down = (): never => {
      calls++;
      throw new Error("source down");
    };
    const cache = users(prefix, options(600_000));
    for (let i = 0; i < 5; i++) expect((await cache.getOrSet({ id: "t" }, down))?.name).toBe("stale");
    expect(calls).toBe(1);
    expect(cache.stats().loads).toMatchObject({ load_error: 1, stale_fail_safe: 5 });
    // Batches too: the first call fails for "u", the second serves it as it is.
    const batchDown = (missing: readonly { id: string }[]): never => {
      calls += missing.length;
      throw new Error("source down");
    };
    for (let i = 0; i < 3; i++) expect((await cache.getManyOrSet([{ id: "u" }], batchDown)).map((u) => u?.name)).toEqual(["stale"]);
    expect(calls).toBe(2);
    // A caller without a stale value still loads.
    await expect(cache.getOrSet({ id: "none" }, down)).rejects.toThrow("source down");
    expect(calls).toBe(3);
    // Off: every call loads.
    const eager = users(prefix, options(0));
    for (let i = 0; i < 3; i++) expect((await eager.getOrSet({ id: "v" }, down))?.name).toBe("stale");
    expect(calls).toBe(6);
  });

  it("get and getMany return a stale value by default; with allowStale: false, not; has follows get", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 600 } });
    await backend().raw.set(keyOf(prefix, "old"), writtenAgo(user("old"), 120_000), 500);
    await cache.set(user("new"));
    expect(await cache.get({ id: "old" })).toEqual(user("old"));
    expect(await cache.get({ id: "old" }, { allowStale: false })).toBeUndefined();
    expect(await cache.get({ id: "new" }, { allowStale: false })).toEqual(user("new"));
    expect((await cache.getMany([{ id: "old" }, { id: "new" }], { allowStale: false })).map((u) => u?.id)).toEqual([undefined, "new"]);
    expect((await cache.getMany([{ id: "old" }, { id: "new" }])).map((u) => u?.id)).toEqual(["old", "new"]);
    expect(await cache.has({ id: "old" })).toBe(true);
    expect(await cache.has({ id: "old" }, { allowStale: false })).toBe(false);
    expect(await backend().raw.get(keyOf(prefix, "old"))).not.toBeNull(); // nothing deleted
  });

  it("has: true for a value, false for nothing, an absent marker, a corrupt entry or another key's value", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { onError: () => {} });
    await cache.set(user("here"));
    expect(await cache.getOrSet({ id: "absent" }, () => undefined)).toBeUndefined();
    await backend().raw.set(keyOf(prefix, "corrupt"), Buffer.from([0xc1, 0x01, 0x00, 0x12, 0x34, 0x56]));
    await backend().raw.set(keyOf(prefix, "other"), writtenAgo(user("elsewhere"), 0));
    const has = await Promise.all(["here", "nothing", "absent", "corrupt", "other"].map((id) => cache.has({ id })));
    expect(has).toEqual([true, false, false, false, false]);
  });

  it("deleteMany deletes every given key (twice given counts once), resolves how many existed, counts deleted and absent", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    const ids = Array.from({ length: 25 }, (_, i) => `d${i}`);
    await cache.setMany(ids.map((id) => user(id)));
    await cache.set(user("kept"));
    const n = await cache.deleteMany([...ids, "missing1", "d0", "missing2"].map((id) => ({ id })));
    expect(n).toBe(25);
    expect((await cache.getMany(ids.map((id) => ({ id })))).every((u) => u === undefined)).toBe(true);
    expect(await cache.get({ id: "kept" })).toEqual(user("kept"));
    expect(cache.stats().deletes).toMatchObject({ deleted: 25, absent: 2 });
    expect(await cache.deleteMany([])).toBe(0);
  });

  it("expire with grace: the entry turns stale at once, keeps its Redis TTL, is served stale while getOrSet refreshes it", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, loading: { graceSeconds: 600 } });
    await cache.set(user("e", "before"));
    const before = await backend().raw.expireTime(keyOf(prefix, "e"));
    expect(await cache.expire({ id: "e" })).toBe(true);
    expect(await backend().raw.expireTime(keyOf(prefix, "e"))).toBe(before);
    expect(await cache.get({ id: "e" })).toEqual(user("e", "before"));
    expect(await cache.get({ id: "e" }, { allowStale: false })).toBeUndefined();
    const { wait, open } = gate();
    expect((await cache.getOrSet({ id: "e" }, async ({ id }) => {
      await wait;
      return user(id, "after");
    }))?.name).toBe("before");
    expect(cache.stats().loads.stale_grace).toBe(1);
    open();
    await expect.poll(async () => (await cache.get({ id: "e" }, { allowStale: false }))?.name).toBe("after");
    expect(await cache.expire({ id: "nothing" })).toBe(false);
  });

  it("expire is a fail-safe: past its grace, the expired entry still in Redis is served when the loader fails", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, onError: () => {}, loading: { graceSeconds: 1 } });
    await cache.set(user("f", "kept"));
    expect(await cache.expire({ id: "f" })).toBe(true);
    await sleep(1_100); // past the 1 s grace: "expired" for readers, still in Redis for ~300 s
    expect((await cache.getOrSet({ id: "f" }, () => {
      throw new Error("source down");
    }))?.name).toBe("kept");
    expect(cache.stats().loads).toMatchObject({ stale_fail_safe: 1, stale_grace: 0 });
  });

  it("expire without grace deletes the entry (and an absent marker in any case)", async () => {
    const prefix = uniquePrefix();
    const none = users(prefix, { ttlSeconds: 300 });
    await none.set(user("x"));
    expect(await none.expire({ id: "x" })).toBe(true);
    expect(await backend().raw.get(keyOf(prefix, "x"))).toBeNull();
    const graced = users(prefix, { ttlSeconds: 300, loading: { graceSeconds: 60 } });
    expect(await graced.getOrSet({ id: "gone" }, () => undefined)).toBeUndefined();
    expect(await graced.expire({ id: "gone" })).toBe(true);
    expect(await backend().raw.get(keyOf(prefix, "gone"))).toBeNull();
  });

  it("expire through an L1: the held value is dropped, get with allowStale: false misses at once", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 300, loading: { graceSeconds: 60 }, l1: { maxEntries: 100, maxBytes: 1_000_000, tracking: backend().tracking } });
    await cache.l1Ready();
    await cache.set(user("l"));
    expect(await cache.get({ id: "l" })).toEqual(user("l"));
    expect(await cache.get({ id: "l" })).toEqual(user("l"));
    expect(await cache.expire({ id: "l" })).toBe(true);
    expect(await cache.get({ id: "l" }, { allowStale: false })).toBeUndefined();
    const raw = await backend().raw.get(keyOf(prefix, "l"));
    expect(readHeader(raw as Buffer).writtenAt).toBeLessThan(Date.now() - 250_000);
    await cache.close();
  });
});
