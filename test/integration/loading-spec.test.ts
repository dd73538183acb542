import { expect, it } from "vitest";
import { defineUserCache as defineUserV2Cache, createUser as createUserV2 } from "../../generated/acme/user/v2/user.cache.js";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { AccessorClosedError, KeyMismatchError, LoaderResultError, LoadTimeoutError, type ProtocacheError } from "../../src/errors.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { userR1Entry } from "../support/entries.js";
import { uniquePrefix } from "../support/redis-client.js";
import { migrate } from "../../src/ops/migrate.js";

/**
 * The loading cache (getOrSet, getManyOrSet) over every backend. Deadlines
 * are generous (the machine is shared); nothing here asserts on a time
 * except through counts, and waits are for events (expect.poll).
 */
const user = (id: string): User => ({ id, name: `n${id}`, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });
const slack = { deadlineMs: 5_000 } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Migrations are defined once per entity and process. */
const userV2Cache = defineUserV2Cache({ fromPrevious: (old) => createUserV2({ id: old.id, displayName: old.fullName, email: old.email, emailVerified: old.verified, locale: old.locale }) });

/** An envelope of `value` as the current revision writes it, written `ageMs` ago. */
function writtenAgo(value: User, ageMs: number): Buffer {
  return encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 1024 }, Date.now() - ageMs);
}

describeEveryBackend("loading cache", (backend: () => Backend) => {
  const users = (prefix: string, options: AccessorOptions<User> = {}) => userCache(backend().store, { ...slack, prefix, ...options });

  it("200 concurrent getOrSet of one cold key call the loader exactly once, all get its value, 199 are counted coalesced", async () => {
    const cache = users(uniquePrefix());
    let calls = 0;
    const got = await Promise.all(
      Array.from({ length: 200 }, () =>
        cache.getOrSet({ id: "cold" }, async ({ id }) => {
          calls++;
          await sleep(20);
          return user(id);
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(got.every((u) => u?.name === "ncold")).toBe(true);
    expect(cache.stats().loads).toMatchObject({ loaded: 1, coalesced: 199, lease_acquired: 1 });
    expect(await cache.get({ id: "cold" })).toEqual(user("cold"));
  });

  it("4 accessors (as 4 instances) × 50 callers of one cold key: the lease lets one load, the others get its write", async () => {
    const prefix = uniquePrefix();
    const instances = Array.from({ length: 4 }, () => users(prefix));
    let calls = 0;
    const loader = async ({ id }: { id: string }): Promise<User> => {
      calls++;
      await sleep(50);
      return user(id);
    };
    const got = await Promise.all(instances.flatMap((cache) => Array.from({ length: 50 }, () => cache.getOrSet({ id: "shared" }, loader))));
    expect(got.every((u) => u?.name === "nshared")).toBe(true);
    expect(calls).toBe(1);
    const loads = instances.map((c) => c.stats().loads);
    expect(loads.reduce((n, l) => n + l.lease_acquired, 0)).toBe(1);
    expect(loads.reduce((n, l) => n + l.lease_wait, 0)).toBe(3);
    expect(loads.reduce((n, l) => n + l.lease_timeout, 0)).toBe(0);
  });

  it("a lease whose holder died (never released) expires, then one waiter takes it and loads", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { loading: { lease: { ttlMs: 300, waitMs: 5_000 } } });
    // A holder that took the lease and died: the key nobody releases, expiring by itself.
    await backend().store.createIfAbsent(`${prefix}lease:user:v1:orphan`, Buffer.from("dead"), Date.now() + 300);
    let calls = 0;
    const got = await cache.getOrSet({ id: "orphan" }, ({ id }) => {
      calls++;
      return user(id);
    });
    expect(got).toEqual(user("orphan"));
    expect(calls).toBe(1);
    expect(cache.stats().loads).toMatchObject({ lease_acquired: 1, lease_timeout: 0 });
  });

  it("a waiter whose lease.waitMs passes loads itself, counted lease_timeout", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { loading: { lease: { ttlMs: 60_000, waitMs: 50 } } });
    await backend().store.createIfAbsent(`${prefix}lease:user:v1:stuck`, Buffer.from("dead"), Date.now() + 60_000);
    expect(await cache.getOrSet({ id: "stuck" }, ({ id }) => user(id))).toEqual(user("stuck"));
    expect(cache.stats().loads).toMatchObject({ lease_timeout: 1, loaded: 1 });
  });

  it("a loader's undefined is cached as an absent marker: no second load, get misses, stats count absent apart, set replaces it", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { loading: { absentTtlSeconds: 20 } });
    let calls = 0;
    const none = (): undefined => {
      calls++;
      return undefined;
    };
    expect(await cache.getOrSet({ id: "ghost" }, none)).toBeUndefined();
    expect(await cache.getOrSet({ id: "ghost" }, none)).toBeUndefined();
    expect(calls).toBe(1);
    const raw = await backend().raw.get(`${prefix}user:v1:ghost`);
    expect(raw?.[2] !== undefined && (raw[2] & 0x10) !== 0).toBe(true);
    expect(raw?.length).toBe(13); // header and written-at, no payload
    const ttl = await backend().raw.ttl(`${prefix}user:v1:ghost`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(20);
    expect(await cache.get({ id: "ghost" })).toBeUndefined();
    expect(cache.stats().reads.absent).toBe(2);
    expect(cache.stats().loads.absent_written).toBe(1);
    expect(await cache.set(user("ghost"))).toBe("written");
    expect(await cache.getOrSet({ id: "ghost" }, none)).toEqual(user("ghost"));
    expect(calls).toBe(1);
  });

  it("migrate skips an absent marker (named), fails nothing and leaves it in place", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    expect(await cache.getOrSet({ id: "none" }, () => undefined)).toBeUndefined();
    await cache.set(user("some"));
    const report = await migrate(cache);
    expect(report.counts).toMatchObject({ skipped: 1, failed: 0, current: 1 });
    expect((await backend().raw.get(`${prefix}user:v1:none`))?.length).toBe(13);
  });

  it("a loader error reaches every coalesced caller unchanged and is never cached: the next call loads again", async () => {
    const cache = users(uniquePrefix());
    const boom = new Error("source down");
    let calls = 0;
    const failing = async (): Promise<User> => {
      calls++;
      await sleep(10);
      throw boom;
    };
    const settled = await Promise.allSettled(Array.from({ length: 20 }, () => cache.getOrSet({ id: "x" }, failing)));
    expect(settled.every((s) => s.status === "rejected" && s.reason === boom)).toBe(true);
    expect(calls).toBe(1);
    expect(await cache.getOrSet({ id: "x" }, ({ id }) => user(id))).toEqual(user("x"));
    expect(cache.stats().loads).toMatchObject({ load_error: 1, loaded: 1 });
  });

  it("a read within grace returns the stale value at once and refreshes it in the background (stale-while-revalidate)", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 600 } });
    await backend().raw.set(`${prefix}user:v1:old`, writtenAgo({ ...user("old"), name: "stale" }, 120_000), 500);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got = await cache.getOrSet({ id: "old" }, async ({ id }, { stale }) => {
      expect(stale?.name).toBe("stale");
      await gate;
      return { ...user(id), name: "fresh" };
    });
    expect(got?.name).toBe("stale");
    expect(cache.stats().loads.stale_grace).toBe(1);
    release();
    await expect.poll(async () => (await cache.get({ id: "old" }))?.name).toBe("fresh");
    // The refreshed entry's Redis TTL covers fresh TTL (less jitter) plus grace.
    const ttl = await backend().raw.ttl(`${prefix}user:v1:old`);
    expect(ttl).toBeGreaterThan(600);
    expect(ttl).toBeLessThanOrEqual(660);
  });

  it("fail-safe: with staleWhileRevalidate off, a failing loader gets the stale value served and counted; without a stale value the error is thrown", async () => {
    const prefix = uniquePrefix();
    const reported: ProtocacheError[] = [];
    const cache = users(prefix, { ttlSeconds: 60, onError: (e) => reported.push(e), loading: { graceSeconds: 600, staleWhileRevalidate: false } });
    await backend().raw.set(`${prefix}user:v1:s`, writtenAgo({ ...user("s"), name: "stale" }, 120_000), 500);
    const down = (): never => {
      throw new Error("source down");
    };
    expect((await cache.getOrSet({ id: "s" }, down))?.name).toBe("stale");
    expect(cache.stats().loads).toMatchObject({ stale_fail_safe: 1, load_error: 1 });
    expect(reported.some((e) => e.name === "LoaderError")).toBe(true);
    await expect(cache.getOrSet({ id: "never-cached" }, down)).rejects.toThrow("source down");
  });

  it("soft timeout: a caller with a stale value gets it after softTimeoutMs, and the slow load still writes when done", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 600, staleWhileRevalidate: false, softTimeoutMs: 30 } });
    await backend().raw.set(`${prefix}user:v1:slow`, writtenAgo({ ...user("slow"), name: "stale" }, 120_000), 500);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const got = await cache.getOrSet({ id: "slow" }, async ({ id }) => {
      await gate;
      return { ...user(id), name: "fresh" };
    });
    expect(got?.name).toBe("stale");
    expect(cache.stats().loads).toMatchObject({ soft_timeout: 1, stale_fail_safe: 1 });
    release();
    await expect.poll(async () => (await cache.get({ id: "slow" }))?.name).toBe("fresh");
  });

  it("hard timeout: the loader's signal aborts with a LoadTimeoutError, callers get it, nothing is cached", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { loading: { hardTimeoutMs: 50 } });
    let signal: AbortSignal | undefined;
    const never = (_: unknown, context: { signal: AbortSignal }): Promise<User> => {
      signal = context.signal;
      return new Promise<User>(() => {});
    };
    await expect(cache.getOrSet({ id: "hang" }, never)).rejects.toBeInstanceOf(LoadTimeoutError);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(LoadTimeoutError);
    expect(await backend().raw.get(`${prefix}user:v1:hang`)).toBeNull();
    expect(cache.stats().loads.hard_timeout).toBe(1);
  });

  it("a loaded value whose key fields differ from the ones asked for is returned, not cached, and reported as a KeyMismatchError", async () => {
    const prefix = uniquePrefix();
    const reported: ProtocacheError[] = [];
    const cache = users(prefix, { onError: (e) => reported.push(e) });
    expect(await cache.getOrSet({ id: "asked" }, () => user("other"))).toEqual(user("other"));
    expect(await backend().raw.get(`${prefix}user:v1:asked`)).toBeNull();
    expect(await backend().raw.get(`${prefix}user:v1:other`)).toBeNull();
    expect(reported[0]).toBeInstanceOf(KeyMismatchError);
    expect(cache.stats().loads.key_mismatch).toBe(1);
  });

  it("an older revision's entry is upgraded, never reloaded", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    await backend().raw.set(`${prefix}user:v1:r1`, userR1Entry({ id: "r1", name: "Old", email: "o@example.com" }), 300);
    let calls = 0;
    const got = await cache.getOrSet({ id: "r1" }, () => {
      calls++;
      return user("r1");
    });
    expect(got).toMatchObject({ id: "r1", name: "Old", fullName: "Unknown" });
    expect(calls).toBe(0);
    expect(cache.stats().reads.upgraded).toBe(1);
  });

  it("a new major's cold getOrSet reads through the previous major before calling the loader", async () => {
    const prefix = uniquePrefix();
    const v1 = users(prefix);
    await v1.set({ ...user("m"), fullName: "Mary Major" });
    const v2 = userV2Cache(backend().store, { ...slack, prefix });
    let calls = 0;
    const got = await v2.getOrSet({ id: "m" }, () => {
      calls++;
      return undefined;
    });
    expect(got?.displayName).toBe("Mary Major");
    expect(calls).toBe(0);
    expect(v2.stats().reads.read_through).toBe(1);
  });

  it("getManyOrSet calls the loader once with only the keys that missed, writes them in one batch, and keeps the order (a key given twice included)", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    await cache.set(user("have"));
    const given: string[][] = [];
    const got = await cache.getManyOrSet([{ id: "a" }, { id: "have" }, { id: "b" }, { id: "gone" }, { id: "a" }], (missing) => {
      given.push(missing.map((f) => f.id));
      return missing.map((f) => (f.id === "gone" ? undefined : user(f.id)));
    });
    expect(given).toEqual([["a", "b", "gone"]]);
    expect(got.map((u) => u?.id)).toEqual(["a", "have", "b", undefined, "a"]);
    expect(await cache.getMany([{ id: "a" }, { id: "b" }, { id: "gone" }])).toEqual([user("a"), user("b"), undefined]);
    expect(cache.stats().reads.absent).toBe(1);
    await expect(cache.getManyOrSet([{ id: "c" }, { id: "d" }], () => [user("c")])).rejects.toBeInstanceOf(LoaderResultError);
  });

  it("close() waits for a background refresh, then every call rejects with an AccessorClosedError", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 60, loading: { graceSeconds: 600 } });
    await backend().raw.set(`${prefix}user:v1:c`, writtenAgo({ ...user("c"), name: "stale" }, 120_000), 500);
    let done = false;
    // The refresh is held until close() was called (a timed loader could finish first on a busy machine).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    expect((await cache.getOrSet({ id: "c" }, async ({ id }) => {
      await gate;
      done = true;
      return { ...user(id), name: "fresh" };
    }))?.name).toBe("stale");
    const closing = cache.close();
    release();
    expect(await closing).toBe(0);
    expect(done).toBe(true);
    expect((await users(prefix).get({ id: "c" }))?.name).toBe("fresh");
    await expect(cache.get({ id: "c" })).rejects.toBeInstanceOf(AccessorClosedError);
    await expect(cache.getOrSet({ id: "c" }, () => undefined)).rejects.toBeInstanceOf(AccessorClosedError);
  });

  it("TTL jitter (default 0.1): 50 keys written with one TTL expire spread over its last tenth, each key's the same on every write", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix, { ttlSeconds: 1000 });
    const ids = Array.from({ length: 50 }, (_, i) => `j${i}`);
    await cache.setMany(ids.map(user));
    const ttls = await Promise.all(ids.map((id) => backend().raw.ttl(`${prefix}user:v1:${id}`)));
    expect(Math.min(...ttls)).toBeGreaterThanOrEqual(899);
    expect(Math.max(...ttls)).toBeLessThanOrEqual(1000);
    expect(new Set(ttls).size).toBeGreaterThan(10);
    await cache.set(user("j0"));
    expect(Math.abs((await backend().raw.ttl(`${prefix}user:v1:j0`)) - (ttls[0] as number))).toBeLessThanOrEqual(1);
  });
});
