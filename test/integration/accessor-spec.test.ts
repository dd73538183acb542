import { expect, it } from "vitest";
import { newSession, sessionCache, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { DecodeError, LegacyReaderError, StoreError } from "../../src/errors.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { envelope, newerUserEntry, newerUserId, userR1Entry } from "../support/entries.js";
import { uniquePrefix } from "../support/redis-client.js";
import { countRoundTrips as countSocketRoundTrips, countTransportRoundTrips } from "../support/round-trips.js";

/**
 * The accessor spec, run over every backend (ioredis and node-redis,
 * standalone and Cluster, and MemoryStore). Deadlines are generous here
 * (the machine is shared); test/integration/faults.test.ts tests them.
 */
const ada: User = { id: "ada", name: "Ada", email: "ada@example.com", fullName: "Ada Lovelace", verified: true, locale: "en-GB" };
const user = (id: string): User => ({ ...ada, id, name: `n${id}` });

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

const slack = { deadlineMs: 5_000 } as const;

/** Round trips as the sockets see them, or at the transport for a client whose I/O Node's sockets do not carry (GLIDE). */
function countRoundTrips<T>(backend: Backend, marker: string, fn: () => Promise<T>): ReturnType<typeof countSocketRoundTrips<T>> {
  return backend.name.startsWith("valkey") ? countTransportRoundTrips(backend.store, marker, fn) : countSocketRoundTrips(marker, fn);
}

describeEveryBackend("accessors", (backend: () => Backend) => {
  const users = (options: AccessorOptions<User> = {}) => userCache(backend().store, { ...slack, ...options });

  it("round-trips every example entity as a binary envelope, and misses absent keys", async () => {
    const prefix = uniquePrefix();
    const sessions = sessionCache(backend().store, { ...slack, prefix });
    await users({ prefix }).set(ada);
    await sessions.set(fullSession());
    expect(await users({ prefix }).get({ id: "ada" })).toEqual(ada);
    expect(await sessions.get({ tenantId: "acme{eu}", sessionId: "s:1" })).toEqual(fullSession());
    const raw = await backend().raw.get(`${prefix}session:v1:acme%7Beu%7D:s%3A1`);
    expect(raw?.[0]).toBe(0xc1);
    expect(await sessions.get({ tenantId: "acme{eu}", sessionId: "nope" })).toBeUndefined();
    expect(sessions.stats().reads).toMatchObject({ hit: 1, miss: 1 });
  });

  it("applies the schema TTL less at most its jitter (a tenth by default, none with jitter 0), a per-write TTL, and no expiry for 0", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    await users({ prefix }).set(ada);
    expect(await raw.ttl(`${prefix}user:v1:ada`)).toBeGreaterThan(3240 - 2);
    expect(await raw.ttl(`${prefix}user:v1:ada`)).toBeLessThanOrEqual(3600);
    await users({ prefix, loading: { jitter: 0 } }).set(user("exact"));
    expect(await raw.ttl(`${prefix}user:v1:exact`)).toBeGreaterThan(3590);
    expect(await raw.ttl(`${prefix}user:v1:exact`)).toBeLessThanOrEqual(3600);
    await users({ prefix }).set(user("short"), { ttlSeconds: 5 });
    expect(await raw.ttl(`${prefix}user:v1:short`)).toBeLessThanOrEqual(5);
    await users({ prefix }).set(user("forever"), { ttlSeconds: 0 });
    expect(await raw.ttl(`${prefix}user:v1:forever`)).toBe(-1);
    await users({ prefix, ttlSeconds: 60 }).setMany([user("a"), user("b")]);
    expect(await raw.ttl(`${prefix}user:v1:b`)).toBeLessThanOrEqual(60);
    expect(await raw.ttl(`${prefix}user:v1:b`)).toBeGreaterThan(54 - 2);
  });

  it("reads an entry written by revision-1 code as the current type with declared defaults", async () => {
    const prefix = uniquePrefix();
    await backend().raw.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "Grace", email: "g@example.com" }));
    const cache = users({ prefix });
    expect(await cache.get({ id: "old" })).toEqual({ id: "old", name: "Grace", email: "g@example.com", fullName: "Unknown", verified: true, locale: "en-US" });
    expect(cache.stats().reads.upgraded).toBe(1);
  });

  it("write-back rewrites an upgraded entry atomically and keeps its TTL, or no expiry", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    await raw.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "Grace", email: "g" }), 500);
    await raw.set(`${prefix}user:v1:forever`, userR1Entry({ id: "forever", name: "G", email: "g" }));
    const cache = users({ prefix, writeBack: true });
    await cache.getMany([{ id: "old" }, { id: "forever" }]);
    await expect.poll(() => cache.stats().writes.written_back).toBe(2);
    expect((await cache.getEntry({ id: "old" })).outcome).toBe("hit");
    expect(await raw.ttl(`${prefix}user:v1:old`)).toBeGreaterThan(490);
    expect(await raw.ttl(`${prefix}user:v1:forever`)).toBe(-1);
  });

  it("reads an entry of an unknown (newer) revision, never overwrites it, and by default deletes it with the refused write", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    for (const id of ["ada", "bob"]) await raw.set(`${prefix}user:v1:${id}`, newerUserEntry({ id, name: "Ada", nickname: "countess" }));
    const cache = users({ prefix });
    expect(await cache.get({ id: "ada" })).toMatchObject({ id: "ada", name: "Ada" });
    expect(cache.stats().reads.unknown).toBe(1);
    expect(await cache.set(ada)).toBe("guarded");
    expect(await raw.get(`${prefix}user:v1:ada`)).toBeNull();
    expect(await cache.setMany([user("bob"), user("fresh")])).toEqual(["guarded", "written"]);
    expect(await raw.get(`${prefix}user:v1:bob`)).toBeNull();
    expect(cache.stats().writes).toMatchObject({ guarded: 2, written: 1 });
    expect(cache.stats().deletes.guard_deleted).toBe(2);
    // The key is free again: the next write stores, and readers see it.
    expect(await cache.set(ada)).toBe("written");
    expect(await cache.get({ id: "ada" })).toEqual(ada);
  });

  it("with onGuarded: 'keep' a refused write leaves the newer entry as it was; guardWrites: false overwrites it", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    const newer = newerUserEntry({ id: "ada", name: "Ada", nickname: "countess" });
    await raw.set(`${prefix}user:v1:ada`, newer);
    const cache = users({ prefix, onGuarded: "keep" });
    expect(await cache.set(ada)).toBe("guarded");
    expect(await cache.setMany([ada, user("fresh")])).toEqual(["guarded", "written"]);
    expect(await raw.get(`${prefix}user:v1:ada`)).toEqual(newer);
    expect(cache.stats().writes).toMatchObject({ guarded: 2, written: 1 });
    expect(cache.stats().deletes.guard_deleted).toBe(0);
    expect(await users({ prefix, guardWrites: false }).set(ada)).toBe("written");
    expect((await raw.get(`${prefix}user:v1:ada`))?.readUInt32BE(3)).not.toBe(newerUserId);
  });

  it("treats wrong-type entries and garbage as counted misses, never throwing", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    const sessions = sessionCache(backend().store, { ...slack, prefix });
    await sessions.set({ ...newSession(), tenantId: "t", sessionId: "ada" });
    await raw.set(`${prefix}user:v1:ada`, (await raw.get(`${prefix}session:v1:t:ada`)) as Buffer);
    await raw.set(`${prefix}user:v1:junk`, Buffer.from([0xc1, 0x01, 0x00, 0xff]));
    await raw.set(`${prefix}user:v1:json`, '{"id":"json"}');
    await raw.set(`${prefix}user:v1:bad`, envelope(0xd372201c, Buffer.from([0x0a, 0x50])));
    const cache = users({ prefix });
    const got = await cache.getMany([{ id: "ada" }, { id: "junk" }, { id: "json" }, { id: "bad" }, { id: "absent" }]);
    expect(got).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(cache.stats().reads).toMatchObject({ wrong_type: 1, corrupt: 2, foreign: 1, miss: 1 });
  });

  it("an entry whose key fields make another key (bytes copied from user:v1:bob to user:v1:ada): a key_mismatch miss for get, getMany, getEntry and getOrSet, each reported as a KeyMismatchError; getOrSet's load replaces it", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    const errors: unknown[] = [];
    const cache = users({ prefix, onError: (e) => errors.push(e) });
    await cache.set(user("bob"));
    await raw.set(`${prefix}user:v1:ada`, (await raw.get(`${prefix}user:v1:bob`)) as Buffer);
    expect(await cache.get({ id: "ada" })).toBeUndefined();
    expect(await cache.getMany([{ id: "ada" }, { id: "bob" }])).toEqual([undefined, user("bob")]);
    expect(await cache.getEntry({ id: "ada" })).toMatchObject({ outcome: "key_mismatch", value: undefined });
    expect(cache.stats().reads).toMatchObject({ key_mismatch: 3, hit: 1 });
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e).toMatchObject({ name: "KeyMismatchError", key: `${prefix}user:v1:ada`, valueKey: `${prefix}user:v1:bob`, origin: "entry" });
    expect(await cache.getOrSet({ id: "ada" }, () => ada)).toEqual(ada);
    expect(await cache.get({ id: "ada" })).toEqual(ada);
    expect(cache.stats().reads.hit).toBe(2);
  });

  it("fails open on a Redis error reply (a key of another Redis type), counted and reported", async (context) => {
    const { raw } = backend();
    if (raw.setWrongType === undefined) return context.skip();
    const prefix = uniquePrefix();
    await raw.setWrongType(`${prefix}user:v1:hash`);
    const errors: unknown[] = [];
    const cache = users({ prefix, onError: (e) => errors.push(e) });
    expect(await cache.get({ id: "hash" })).toBeUndefined();
    expect(await cache.getMany([{ id: "hash" }, { id: "other" }])).toEqual([undefined, undefined]);
    // MGET (standalone) answers nil for a key of another type; a Cluster's per-key GET gets the error.
    const errorsExpected = backend().cluster ? 2 : 1;
    expect(cache.stats().reads).toMatchObject({ error: errorsExpected, miss: 3 - errorsExpected });
    expect(errors).toHaveLength(errorsExpected);
    expect(errors.every((e) => e instanceof StoreError && /WRONGTYPE/.test(e.message))).toBe(true);
    await expect(users({ prefix, onStoreError: "throw" }).get({ id: "hash" })).rejects.toThrow(StoreError);
  });

  it("deletes corrupt and rejected entries only while unchanged, counting each outcome", async () => {
    const prefix = uniquePrefix();
    const { raw } = backend();
    await raw.set(`${prefix}user:v1:bad`, envelope(0xd372201c, Buffer.from([0x0a, 0x50])));
    await raw.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "G", email: "g" }));
    const cache = users({ prefix, deleteCorrupt: true, deleteRejected: true, minRevision: 2 });
    expect(await cache.getMany([{ id: "bad" }, { id: "old" }])).toEqual([undefined, undefined]);
    await expect.poll(() => cache.stats().deletes.cleaned).toBe(2);
    expect(await raw.get(`${prefix}user:v1:bad`)).toBeNull();
    expect(await raw.get(`${prefix}user:v1:old`)).toBeNull();
    expect(cache.stats().reads).toMatchObject({ corrupt: 1, rejected: 1 });
  });

  it("reports a throwing legacy reader to onError as a LegacyReaderError and counts the value as legacy_rejected", async () => {
    const prefix = uniquePrefix();
    await backend().raw.set(`${prefix}user:v1:json`, '{"id":"json"}');
    const errors: unknown[] = [];
    const cache = users({ prefix, legacy: () => { throw new Error("bad legacy JSON"); }, onError: (e) => errors.push(e) });
    expect(await cache.get({ id: "json" })).toBeUndefined();
    expect(cache.stats().reads.legacy_rejected).toBe(1);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(LegacyReaderError);
    expect((errors[0] as LegacyReaderError).message).toMatch(/bad legacy JSON/);
  });

  it("reports a legacy value too large for the legacy reader as a DecodeError, not as the reader's failure", async () => {
    const prefix = uniquePrefix();
    await backend().raw.set(`${prefix}user:v1:big`, JSON.stringify({ id: "big", pad: "x".repeat(100) }));
    const errors: unknown[] = [];
    let called = 0;
    const cache = users({ prefix, maxPayloadBytes: 50, legacy: () => { called++; return undefined; }, onError: (e) => errors.push(e) });
    expect(await cache.get({ id: "big" })).toBeUndefined();
    expect(called).toBe(0);
    expect(cache.stats().reads.foreign).toBe(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    expect((errors[0] as DecodeError).reason).toBe("too-large");
  });

  it("getMany of 100 keys and setMany of 40: in order, one round trip per server", async () => {
    const prefix = uniquePrefix();
    const cache = users({ prefix });
    const values = Array.from({ length: 100 }, (_, i) => user(`u${i}`));
    // node-redis stops a write pass at the socket's 16 KiB high-water mark: 40 guarded writes stay below it.
    const set = await countRoundTrips(backend(), prefix, () => cache.setMany(values.slice(0, 40)));
    expect(set.result).toEqual(values.slice(0, 40).map(() => "written"));
    await cache.setMany(values.slice(40));
    const read = await countRoundTrips(backend(), prefix, () => cache.getMany([...values.map((u) => ({ id: u.id })), { id: "missing" }]));
    expect(read.result).toEqual([...values, undefined]);
    expect(read.roundTrips).toBeLessThanOrEqual(backend().servers);
    expect(set.roundTrips).toBeLessThanOrEqual(backend().servers);
    if (backend().cluster) expect(read.sockets).toBe(backend().servers);
  });

  it("getMany and setMany of 4000 values: in order, no round trip to a server carries more than 1000 keys read or 250 values written", async () => {
    const prefix = uniquePrefix();
    const cache = users({ prefix });
    const values = Array.from({ length: 4000 }, (_, i) => user(`u${i}`));
    const set = await countRoundTrips(backend(), prefix, () => cache.setMany(values));
    expect(set.result).toEqual(values.map(() => "written"));
    const read = await countRoundTrips(backend(), prefix, () => cache.getMany(values.map((u) => ({ id: u.id }))));
    expect(read.result).toEqual(values);
    if (backend().servers === 0) return;
    expect(read.largest).toBeLessThanOrEqual(1000);
    expect(read.roundTrips).toBeGreaterThanOrEqual(4);
    expect(set.largest).toBeLessThanOrEqual(250);
    expect(set.roundTrips).toBeGreaterThanOrEqual(16);
  });

  it("a getMany of 200 000 keys (maxBatchKeys raised) is served without an error: one huge command would overflow or stall", async (context) => {
    // On a node-redis Cluster every key is its own GET already (and 200k of them take seconds): nothing grows with the batch.
    if (backend().name === "node-redis cluster") return context.skip();
    const prefix = uniquePrefix();
    const errors: Error[] = [];
    const cache = users({ prefix, maxBatchKeys: 200_000, onError: (e) => errors.push(e) });
    await cache.set(user("u199999"));
    const got = await cache.getMany(Array.from({ length: 200_000 }, (_, i) => ({ id: `u${i}` })));
    expect(errors).toEqual([]);
    expect(got.at(-1)).toEqual(user("u199999"));
    expect(cache.stats().reads).toMatchObject({ hit: 1, miss: 199_999, error: 0 });
  });

  it("delete removes an entry and says whether there was one", async () => {
    const prefix = uniquePrefix();
    const cache = users({ prefix });
    await cache.set(ada);
    expect(await cache.delete({ id: "ada" })).toBe(true);
    expect(await cache.delete({ id: "ada" })).toBe(false);
    expect(await cache.get({ id: "ada" })).toBeUndefined();
    expect(cache.stats().deletes).toMatchObject({ deleted: 1, absent: 1, error: 0 });
  });

  it("sends the scripts again when the servers lost them (SCRIPT FLUSH, as after a restart), the guard's delete flag included", async () => {
    const prefix = uniquePrefix();
    const cache = users({ prefix, writeBack: true });
    await backend().raw.scriptFlush();
    await backend().raw.set(`${prefix}user:v1:f5`, newerUserEntry({ id: "f5", name: "newer" }));
    const values = Array.from({ length: 12 }, (_, i) => user(`f${i}`));
    expect(await cache.setMany(values)).toEqual(values.map((_, i) => (i === 5 ? "guarded" : "written")));
    expect(await backend().raw.get(`${prefix}user:v1:f5`)).toBeNull();
    expect(cache.stats().deletes.guard_deleted).toBe(1);
    await backend().raw.scriptFlush();
    expect(await cache.set(ada)).toBe("written");
    await backend().raw.scriptFlush();
    await backend().raw.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "G", email: "g" }));
    await cache.get({ id: "old" });
    await expect.poll(() => cache.stats().writes.written_back).toBe(1);
  });

  it("spreads keys over every master: no user input picks a slot", async (context) => {
    if (!backend().cluster) return context.skip();
    const prefix = uniquePrefix();
    const ids = Array.from({ length: 60 }, (_, i) => `{same}${i}`);
    await users({ prefix }).setMany(ids.map(user));
    const read = await countRoundTrips(backend(), prefix, () => users({ prefix }).getMany(ids.map((id) => ({ id }))));
    expect(read.result).toEqual(ids.map(user));
    expect(read.sockets).toBe(backend().servers);
  });
});
