import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newSession, sessionCache, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { StoreError } from "../../src/errors.js";
import { RedisStore } from "../../src/stores/redis-store.js";
import { freePort } from "../support/redis-server.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";
import { envelope, newerUserEntry, newerUserId, userR1Entry } from "../support/entries.js";

let redis: Redis;
let store: RedisStore;

beforeAll(() => {
  redis = connectRedis();
  store = new RedisStore(redis);
});
afterAll(() => redis.quit());

const ada: User = { id: "ada", name: "Ada", email: "ada@example.com", fullName: "Ada Lovelace", verified: true, locale: "en-GB" };

function fullSession(): Session {
  return {
    tenantId: "acme{eu}",
    sessionId: "s:1",
    userId: "ada",
    createdAtMs: -(2n ** 62n),
    device: 2,
    scopes: ["read", "write", "ünïcode ✓"],
    attributes: new Map([["ip-country", "NL"], ["", "empty key"]]),
    client: { ip: "10.0.0.1", userAgent: "curl/8" },
    requestCount: 2n ** 64n - 1n,
    impersonatorId: "",
    authMethod: { $case: "ssoProvider", ssoProvider: "okta" },
    recentStatusCodes: [200, -1, 2 ** 31 - 1],
    csrfToken: Uint8Array.from([0, 1, 254, 255]),
    riskScore: 0.125,
    previousClients: new Map([[-5n, { ip: "::1", userAgent: "" }]]),
    lastSeen: { seconds: 1_767_225_600n, nanos: 999_999_999 },
    idleTimeout: undefined,
  };
}

describe("accessors on a real Redis", () => {
  it("round-trips every example entity as a binary envelope", async () => {
    const prefix = uniquePrefix();
    const users = userCache(store, { prefix });
    const sessions = sessionCache(store, { prefix });
    await users.set(ada);
    await sessions.set(fullSession());
    expect(await users.get({ id: "ada" })).toEqual(ada);
    expect(await sessions.get({ tenantId: "acme{eu}", sessionId: "s:1" })).toEqual(fullSession());
    const raw = await redis.getBuffer(`${prefix}session:v1:acme%7Beu%7D:s%3A1`);
    expect(raw?.[0]).toBe(0xc1);
    expect(await sessions.get({ tenantId: "acme{eu}", sessionId: "nope" })).toBeUndefined();
  });

  it("applies the schema TTL, a per-write TTL, and no expiry for 0", async () => {
    const prefix = uniquePrefix();
    const users = userCache(store, { prefix });
    await users.set(ada);
    const ttl = await redis.ttl(`${prefix}user:v1:ada`);
    expect(ttl).toBeGreaterThan(3590);
    expect(ttl).toBeLessThanOrEqual(3600);
    await users.set({ ...ada, id: "short" }, { ttlSeconds: 5 });
    expect(await redis.ttl(`${prefix}user:v1:short`)).toBeLessThanOrEqual(5);
    await users.set({ ...ada, id: "forever" }, { ttlSeconds: 0 });
    expect(await redis.ttl(`${prefix}user:v1:forever`)).toBe(-1);
    const sessions = sessionCache(store, { prefix, ttlSeconds: 60 });
    await sessions.set(fullSession());
    expect(await redis.ttl(`${prefix}session:v1:acme%7Beu%7D:s%3A1`)).toBeLessThanOrEqual(60);
  });

  it("reads an entry written by revision-1 code as the current type with declared defaults", async () => {
    const prefix = uniquePrefix();
    await redis.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "Grace", email: "g@example.com" }));
    const users = userCache(store, { prefix });
    expect(await users.get({ id: "old" })).toEqual({ id: "old", name: "Grace", email: "g@example.com", fullName: "Unknown", verified: true, locale: "en-US" });
    expect(users.stats().reads.upgraded).toBe(1);
  });

  it("write-back rewrites an upgraded entry atomically and keeps its TTL", async () => {
    const prefix = uniquePrefix();
    const key = `${prefix}user:v1:old`;
    await redis.set(key, userR1Entry({ id: "old", name: "Grace", email: "g" }), "EX", 500);
    const users = userCache(store, { prefix, writeBack: true });
    await users.get({ id: "old" });
    await expect.poll(() => users.stats().writes.written_back).toBe(1);
    expect((await users.getEntry({ id: "old" })).outcome).toBe("hit");
    expect(await redis.ttl(key)).toBeGreaterThan(490);
    const noExpiry = `${prefix}user:v1:forever`;
    await redis.set(noExpiry, userR1Entry({ id: "forever", name: "G", email: "g" }));
    await users.get({ id: "forever" });
    await expect.poll(() => users.stats().writes.written_back).toBe(2);
    expect(await redis.ttl(noExpiry)).toBe(-1);
  });

  it("compare-and-set never resurrects a deleted key nor clobbers a newer value", async () => {
    const prefix = uniquePrefix();
    expect(await store.replaceIfEqual(`${prefix}gone`, Buffer.from("a"), Buffer.from("b"))).toBe(false);
    expect(await redis.exists(`${prefix}gone`)).toBe(0);
    await redis.set(`${prefix}k`, "new");
    expect(await store.replaceIfEqual(`${prefix}k`, Buffer.from("old"), Buffer.from("b"))).toBe(false);
    expect(await redis.get(`${prefix}k`)).toBe("new");
    expect(await store.deleteIfEqual(`${prefix}k`, Buffer.from("old"))).toBe(false);
    expect(await store.deleteIfEqual(`${prefix}k`, Buffer.from("new"))).toBe(true);
  });

  it("reads an entry of an unknown (newer) revision and refuses to overwrite it", async () => {
    const prefix = uniquePrefix();
    await redis.set(`${prefix}user:v1:ada`, newerUserEntry({ id: "ada", name: "Ada", nickname: "countess" }));
    const users = userCache(store, { prefix });
    expect(await users.get({ id: "ada" })).toMatchObject({ id: "ada", name: "Ada" });
    expect(users.stats().reads.unknown).toBe(1);
    expect(await users.set(ada)).toBe("guarded");
    const raw = await redis.getBuffer(`${prefix}user:v1:ada`);
    expect(raw?.readUInt32BE(3)).toBe(newerUserId);
    expect(await userCache(store, { prefix, guardWrites: false }).set(ada)).toBe("written");
  });

  it("treats wrong-type entries and garbage as misses, never throwing", async () => {
    const prefix = uniquePrefix();
    const sessions = sessionCache(store, { prefix });
    await sessions.set({ ...newSession(), tenantId: "t", sessionId: "ada" });
    await redis.copy(`${prefix}session:v1:t:ada`, `${prefix}user:v1:ada`);
    await redis.set(`${prefix}user:v1:junk`, Buffer.from([0xc1, 0x01, 0x00, 0xff]));
    await redis.set(`${prefix}user:v1:json`, '{"id":"json"}');
    await redis.set(`${prefix}user:v1:bad`, envelope(0xd372201c, Buffer.from([0x0a, 0x50])));
    const users = userCache(store, { prefix });
    const got = await users.getMany([{ id: "ada" }, { id: "junk" }, { id: "json" }, { id: "bad" }, { id: "absent" }]);
    expect(got).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(users.stats().reads).toMatchObject({ wrong_type: 1, corrupt: 2, foreign: 1, miss: 1 });
    await redis.hset(`${prefix}user:v1:hash`, "a", "b");
    expect(await users.get({ id: "hash" })).toBeUndefined();
    expect(users.stats().reads.error).toBe(1);
  });

  it("getMany and setMany take one round trip, in order, and delete removes", async () => {
    const prefix = uniquePrefix();
    const users = userCache(store, { prefix });
    const many = Array.from({ length: 50 }, (_, i) => ({ ...ada, id: `u${i}` }));
    expect(await users.setMany(many)).toEqual(many.map(() => "written"));
    const read = await users.getMany([...many.map((u) => ({ id: u.id })), { id: "missing" }]);
    expect(read).toEqual([...many, undefined]);
    expect(await users.delete({ id: "u0" })).toBe(true);
    expect(await users.delete({ id: "u0" })).toBe(false);
    expect(await users.get({ id: "u0" })).toBeUndefined();
  });

  it("guarded setMany retries with the script source after SCRIPT FLUSH", async () => {
    const prefix = uniquePrefix();
    await redis.script("FLUSH");
    const users = userCache(store, { prefix });
    expect(await users.setMany([ada, { ...ada, id: "b" }])).toEqual(["written", "written"]);
    await redis.script("FLUSH");
    expect(await users.set(ada)).toBe("written");
  });
});

describe("when Redis is down", () => {
  let down: Redis;
  beforeAll(async () => {
    down = new Redis({ port: await freePort(), lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    down.on("error", () => {});
  });
  afterAll(() => down.disconnect());

  it("fails open: reads miss and writes report an error, counted and passed to onError", async () => {
    const errors: unknown[] = [];
    const users = userCache(new RedisStore(down), { onError: (e) => errors.push(e) });
    expect(await users.get({ id: "ada" })).toBeUndefined();
    expect(await users.getMany([{ id: "a" }, { id: "b" }])).toEqual([undefined, undefined]);
    expect(await users.set(ada)).toBe("error");
    expect(await users.delete({ id: "ada" })).toBe(false);
    expect(users.stats().reads.error).toBe(4);
    expect(users.stats().writes.error).toBe(1);
    expect(errors.every((e) => e instanceof StoreError)).toBe(true);
  });

  it("throws StoreError when configured to", async () => {
    const users = userCache(new RedisStore(down), { onStoreError: "throw" });
    await expect(users.get({ id: "ada" })).rejects.toThrow(StoreError);
    await expect(users.set(ada)).rejects.toThrow(/store SET user:v1:ada failed/);
  });
});

describe("the Lua write guard", () => {
  it("decides exactly like the in-memory guard", async () => {
    const { guardAllows } = await import("../../src/envelope/guard.js");
    const known = Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]);
    const cases = [
      undefined,
      Buffer.from('{"a":1}'),
      Buffer.from([0xc1, 1, 0]),
      envelope(2, Buffer.alloc(0)),
      envelope(9, Buffer.alloc(0), { version: 0 }),
      envelope(9, Buffer.alloc(0)),
      envelope(1, Buffer.alloc(0), { version: 2 }),
      envelope(0x00010000, Buffer.alloc(0)),
      envelope(0x02000000, Buffer.alloc(0)),
    ];
    const prefix = uniquePrefix();
    for (const [i, current] of cases.entries()) {
      const key = `${prefix}g${i}`;
      if (current !== undefined) await redis.set(key, current);
      const [result] = await store.setMany([{ key, value: Buffer.from("new"), ttlSeconds: 30 }], { knownIds: known });
      expect(result, `case ${i}`).toBe(guardAllows(current, known) ? "written" : "guarded");
      if (result === "written") expect(await redis.ttl(key)).toBeGreaterThan(25);
    }
  });
});
