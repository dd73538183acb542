import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { readHeader } from "../../src/envelope/header.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { oldRuntime, type OldResult } from "../support/old-runtime.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";

/**
 * A rolling upgrade to the runtime with tags: the runtime as it was before
 * them (packed from commit 91142f3, with that commit's generated code) and
 * this one share one Redis. The old one must read every tagged entry as a
 * miss (it cannot know whether a tag retired it), never as a value; untagged
 * entries stay ordinary hits; and what it writes the new one reads.
 */
const before = "91142f3";
let redis: Redis;
let old: Awaited<ReturnType<typeof oldRuntime>>;
const call = (prefix: string, op: "get" | "set" | "probe", id: string): OldResult => old.call(inject("redisUrl"), prefix, op, id);

beforeAll(async () => {
  old = await oldRuntime(before, "tags-upgrade", "invalidateTags");
  redis = connectRedis();
});

afterAll(() => {
  redis?.disconnect();
});

const user = (id: string, name: string): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });

describe(`a rolling upgrade to tags: the runtime of ${before} (packed) beside this one`, () => {
  const current = (prefix: string) => userCache(new RedisStore(redis), { prefix, deadlineMs: 5_000, invalidation: true });

  it("the packed old runtime really is the one before tags: its accessor has no invalidateTags", () => {
    expect(call("probe:", "probe", "").result).toBe("undefined");
  });

  it("a tagged entry (set, and loaded by getOrSet with the loader's tags) is a corrupt miss to the old runtime, never a value", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    await cache.set(user("u1", "tagged"), { tags: ["shop:1"] });
    await cache.getOrSet({ id: "u2" }, ({ id }, { setTags }) => (setTags(["shop:1"]), user(id, "loaded")));
    expect(readHeader((await redis.getBuffer(`${prefix}user:v1:u1`)) as Buffer).tags).toEqual(["shop:1"]);
    for (const id of ["u1", "u2"]) {
      const got = call(prefix, "get", id);
      expect(got.result).toBeNull();
      expect(got.reads).toMatchObject({ hit: 0, corrupt: 1 });
    }
    await cache.close();
  });

  it("an untagged entry the new runtime wrote with the invalidation option is an ordinary hit to the old one", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    await cache.set(user("u3", "untagged"));
    const got = call(prefix, "get", "u3");
    expect(got.result).toEqual(user("u3", "untagged"));
    expect(got.reads).toMatchObject({ hit: 1 });
    await cache.close();
  });

  it("the old runtime's set over a tagged entry stores its value, which the new runtime reads (untagged), and a later invalidation of the old tag does not retire it", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    await cache.set(user("u4", "tagged"), { tags: ["shop:1"] });
    expect(call(prefix, "set", "u4").result).toBe("written");
    expect(await cache.get({ id: "u4" })).toEqual(user("u4", "written by the old runtime"));
    await cache.invalidateTags(["shop:1"]);
    expect(await cache.get({ id: "u4" })).toEqual(user("u4", "written by the old runtime"));
    await cache.close();
  });
});
