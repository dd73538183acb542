import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { readHeader } from "../../src/envelope/header.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { oldRuntime as packedRuntime, type OldResult } from "../support/old-runtime.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";

/**
 * A rolling upgrade of protocache itself: the runtime as it was before the
 * loading cache (packed from commit 2fe12a3, with that commit's generated
 * code) and the runtime of this tree share one Redis. The old one must see
 * every new byte it does not know (absent markers) as a miss, never a value;
 * values the new one writes (with grace, jittered TTLs) are ordinary hits to
 * it; and a value it writes over a marker is stored and read by the new one.
 */
const before = "2fe12a3";
let redis: Redis;
let old: Awaited<ReturnType<typeof packedRuntime>>;
const url = (): string => inject("redisUrl");

function oldRuntime(prefix: string, op: "get" | "set" | "probe", id: string): OldResult {
  return old.call(url(), prefix, op, id);
}

beforeAll(async () => {
  old = await packedRuntime(before, "protocache-upgrade", "getOrSet");
  redis = connectRedis();
});

afterAll(() => {
  redis?.disconnect();
});

const user = (id: string, name: string): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });

describe(`a rolling upgrade of protocache: the runtime of ${before} (packed) beside this one`, () => {
  const current = (prefix: string) => userCache(new RedisStore(redis), { prefix, deadlineMs: 5_000, loading: { graceSeconds: 3_600 } });

  it("the packed old runtime really is the one before the loading cache: its accessor has no getOrSet", () => {
    expect(oldRuntime("probe:", "probe", "").result).toBe("undefined");
  });

  it("an absent marker the new runtime cached is a corrupt miss to the old one, never a value, and the marker is left to expire", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    expect(await cache.getOrSet({ id: "missing" }, () => undefined)).toBeUndefined();
    const stored = await redis.getBuffer(`${prefix}user:v1:missing`);
    expect(stored).not.toBeNull();
    expect(readHeader(stored as Buffer).absent).toBe(true);
    const old = oldRuntime(prefix, "get", "missing");
    expect(old.result).toBeNull();
    expect(old.reads).toMatchObject({ hit: 0, corrupt: 1 });
    // The marker still stands for the new runtime: no second call reaches the source.
    let calls = 0;
    expect(await cache.getOrSet({ id: "missing" }, () => { calls++; return undefined; })).toBeUndefined();
    expect(calls).toBe(0);
    await cache.close();
  });

  it("a value the new runtime loaded with grace and a jittered TTL is an ordinary hit to the old one", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    await cache.getOrSet({ id: "u1" }, ({ id }) => user(id, "loaded by the new runtime"));
    const old = oldRuntime(prefix, "get", "u1");
    expect(old.result).toEqual(user("u1", "loaded by the new runtime"));
    expect(old.reads).toMatchObject({ hit: 1 });
    await cache.close();
  });

  it("the old runtime's set over an absent marker stores its value, and the new runtime reads it without calling the loader", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    expect(await cache.getOrSet({ id: "u2" }, () => undefined)).toBeUndefined();
    expect(oldRuntime(prefix, "set", "u2").result).toBe("written");
    let calls = 0;
    const got = await cache.getOrSet({ id: "u2" }, ({ id }) => { calls++; return user(id, "loaded"); });
    expect(got).toEqual(user("u2", "written by the old runtime"));
    expect(calls).toBe(0);
    expect(cache.stats().reads).toMatchObject({ hit: 1 });
    await cache.close();
  });
});
