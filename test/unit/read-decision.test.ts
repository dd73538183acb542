import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sessionCache, sessionEntity } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { interpret } from "../../src/accessor/read.js";
import { resolveOptions } from "../../src/accessor/options.js";
import { userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { unknownFieldsOf } from "../../src/codec/unknown-fields.js";
import { DecodeError, KeyMismatchError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { envelope, newerUserEntry, newerUserId, userR1Entry, userRevisionId } from "../support/entries.js";

const user: User = { id: "u1", name: "Ada", email: "ada@example.com", fullName: "Ada Lovelace", verified: false, locale: "en-GB" };

function setup(options: Parameters<typeof userCache>[1] = {}) {
  const store = new MemoryStore();
  return { store, users: userCache(store, options) };
}

describe("the read decision table", () => {
  it("current revision: decoded as is, counted as a hit", async () => {
    const { users } = setup({ writerTag: "test@1" });
    expect(await users.set(user)).toBe("written");
    const entry = await users.getEntry({ id: "u1" });
    expect(entry).toMatchObject({ outcome: "hit", value: user, schemaId: userEntity.current.schemaId, revision: 2, writerTag: "test@1" });
    expect(entry.writtenAt).toBeInstanceOf(Date);
    expect(users.stats().reads.hit).toBe(1);
  });

  it("older revision: upgraded with the declared defaults of the fields it lacked", async () => {
    const { store, users } = setup();
    store.setRaw("user:v1:u1", userR1Entry({ id: "u1", name: "Ada", email: "ada@example.com" }));
    const entry = await users.getEntry({ id: "u1" });
    expect(entry.outcome).toBe("upgraded");
    expect(entry.revision).toBe(1);
    expect(entry.value).toEqual({ id: "u1", name: "Ada", email: "ada@example.com", fullName: "Unknown", verified: true, locale: "en-US" });
    expect(users.stats().readsBySchemaId).toEqual({ [`0x${userRevisionId(1).toString(16).padStart(8, "0")}`]: 1 });
  });

  it("older revision with onOlderRevision=miss or below minRevision: rejected, optionally deleted", async () => {
    for (const options of [{ onOlderRevision: "miss" as const }, { minRevision: 2 }]) {
      const { store, users } = setup({ ...options, deleteRejected: true });
      store.setRaw("user:v1:u1", userR1Entry({ id: "u1", name: "Ada", email: "a" }));
      expect(await users.get({ id: "u1" })).toBeUndefined();
      expect(users.stats().reads.rejected).toBe(1);
      await new Promise((r) => setImmediate(r));
      expect(store.size).toBe(0);
    }
  });

  it("write-back rewrites an upgraded entry in the current revision, keeping its TTL", async () => {
    let now = 1_000_000;
    const store = new MemoryStore({ now: () => now });
    const users = userCache(store, { writeBack: true });
    store.setRaw("user:v1:u1", userR1Entry({ id: "u1", name: "Ada", email: "a" }), 100);
    now += 10_000;
    await users.get({ id: "u1" });
    await new Promise((r) => setImmediate(r));
    expect(users.stats().writes.written_back).toBe(1);
    expect((await users.getEntry({ id: "u1" })).outcome).toBe("hit");
    expect(store.pttl("user:v1:u1")).toBe(90_000);
  });

  it("unknown ID (newer deploy): decoded with the current codec, new fields kept as unknown fields, never overwritten (kept with onGuarded: keep)", async () => {
    const { store, users } = setup({ onGuarded: "keep" });
    store.setRaw("user:v1:u1", newerUserEntry({ id: "u1", name: "Ada", email: "a", fullName: "Ada L", nickname: "ada" }));
    const entry = await users.getEntry({ id: "u1" });
    expect(entry.outcome).toBe("unknown");
    expect(entry.schemaId).toBe(newerUserId);
    expect(entry.value).toMatchObject({ id: "u1", name: "Ada", fullName: "Ada L" });
    expect(unknownFieldsOf(entry.value ?? {})).toEqual(Uint8Array.from([58, 3, 0x61, 0x64, 0x61]));
    expect(await users.set(user)).toBe("guarded");
    expect((await users.getEntry({ id: "u1" })).schemaId).toBe(newerUserId);
    expect(users.stats().writes.guarded).toBe(1);
  });

  it("unknown ID, default onGuarded (delete): a refused write deletes the newer entry, so the next read misses instead of serving what the write replaced", async () => {
    const { store, users } = setup();
    store.setRaw("user:v1:u1", newerUserEntry({ id: "u1", name: "Ada", email: "a", fullName: "Ada L", nickname: "ada" }));
    expect(await users.set({ ...user, name: "Ada, changed" })).toBe("guarded");
    expect(store.size).toBe(0);
    expect((await users.getEntry({ id: "u1" })).outcome).toBe("miss");
    expect(users.stats().writes.guarded).toBe(1);
    expect(users.stats().deletes.guard_deleted).toBe(1);
  });

  it("an unknown ID that does not decode is a corrupt miss but is never deleted", async () => {
    const { store, users } = setup({ deleteCorrupt: true });
    store.setRaw("user:v1:u1", envelope(0x7e57_0002, Buffer.from([0x0a, 0x50])));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(users.stats().reads.corrupt).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(store.size).toBe(1);
  });

  it("a later locked revision (after a revert) is read like an unknown one: never upgraded, rewritten or rejected", async () => {
    const { defineEntity } = await import("../../src/accessor/entity.js");
    const { createEntityCache } = await import("../../src/accessor/entity-cache.js");
    const reverted = defineEntity({ ...userEntity, current: { schemaId: userRevisionId(1), revision: 1 }, others: [{ schemaId: userRevisionId(2), revision: 2 }] });
    const store = new MemoryStore();
    const bytes = await (async () => {
      const s = new MemoryStore();
      await userCache(s).set(user);
      return (await s.get("user:v1:u1")) as Buffer;
    })();
    store.setRaw("user:v1:u1", bytes);
    const users = createEntityCache(reverted, store, { writeBack: true, onOlderRevision: "miss", deleteRejected: true });
    const entry = await users.getEntry({ id: "u1" });
    expect(entry.outcome).toBe("unknown");
    expect(entry.value).toMatchObject({ id: "u1", fullName: "Ada Lovelace" });
    await new Promise((r) => setImmediate(r));
    expect((await store.get("user:v1:u1"))?.equals(bytes)).toBe(true);
  });

  it("another message's ID: a wrong_type miss, never decoded", async () => {
    const { store, users } = setup();
    const sessions = sessionCache(store);
    await sessions.set({ ...(await import("../../generated/acme/session/v1/session.cache.js")).newSession(), tenantId: "t", sessionId: "u1" });
    const bytes = await store.get("session:v1:t:u1");
    store.setRaw("user:v1:u1", bytes as Buffer);
    const entry = await users.getEntry({ id: "u1" });
    expect(entry.outcome).toBe("wrong_type");
    expect(entry.schemaId).toBe(sessionEntity.current.schemaId);
    expect(entry.value).toBeUndefined();
    expect(await users.set(user)).toBe("written");
  });

  it.each([
    ["truncated header", Buffer.from([0xc1, 0x01, 0x00, 0x01])],
    ["reserved flag bits", envelope(userRevisionId(2), Buffer.from([0x0a, 0x01, 0x61]), { flags: 0x80 })],
    ["truncated payload", envelope(userRevisionId(2), Buffer.from([0x0a, 0x09, 0x61]))],
    ["bad gzip", envelope(userRevisionId(2), Buffer.from("not gzip"), { flags: 0x01 })],
    ["varint overflow", envelope(userRevisionId(2), Buffer.from([0x28, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))],
    ["unterminated group", envelope(userRevisionId(2), Buffer.from([0x0b, 0x08, 0x01]))],
    ["mismatched end-group", envelope(userRevisionId(2), Buffer.from([0x0b, 0x14]))],
    ["end-group without a start", envelope(userRevisionId(2), Buffer.from([0x0c]))],
  ])("malformed (%s): a corrupt miss, optionally deleted, never a throw", async (_, bytes) => {
    const errors: unknown[] = [];
    const { store, users } = setup({ deleteCorrupt: true, onError: (e) => errors.push(e) });
    store.setRaw("user:v1:u1", bytes);
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(users.stats().reads.corrupt).toBe(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    await new Promise((r) => setImmediate(r));
    expect(store.size).toBe(0);
  });

  it("a string that is not UTF-8 (a lone surrogate encoded as UTF-8, a stray continuation byte, in a short or a long string): a corrupt miss reported with reason payload, never a value with U+FFFD", async () => {
    const id = [0x0a, 0x02, 0x75, 0x31]; // id "u1"
    for (const name of [[0x41, 0xed, 0xa0, 0x80], [0x41, 0x80], [...Buffer.from("x".repeat(300)), 0xed, 0xbf, 0xbf]]) {
      const errors: unknown[] = [];
      const { store, users } = setup({ onError: (e) => errors.push(e) });
      const length = name.length < 128 ? [name.length] : [0x80 | (name.length & 0x7f), name.length >> 7];
      store.setRaw("user:v1:u1", envelope(userRevisionId(2), Buffer.from([...id, 0x12, ...length, ...name])));
      const entry = await users.getEntry({ id: "u1" });
      expect(entry.outcome).toBe("corrupt");
      expect(entry.value).toBeUndefined();
      expect(errors).toHaveLength(1);
      expect((errors[0] as DecodeError).reason).toBe("payload");
      expect((errors[0] as DecodeError).message).toMatch(/string is not valid UTF-8/);
    }
  });

  it("a well-formed unknown group (wire type 3/4): a hit that keeps the group's bytes and writes them back", async () => {
    const { store, users } = setup();
    const group = [0x0b, 0x08, 0x01, 0x13, 0x1a, 0x01, 0x78, 0x14, 0x0c]; // field 1 group { 1: 1, group 2 { 3: "x" } }
    store.setRaw("user:v1:u1", envelope(userRevisionId(2), Buffer.from([0x0a, 0x02, 0x75, 0x31, ...group])));
    const value = await users.get({ id: "u1" });
    expect(value?.id).toBe("u1");
    expect(unknownFieldsOf(value ?? {})).toEqual(Uint8Array.from(group));
    expect(await users.set(value as User)).toBe("written");
    expect((await store.get("user:v1:u1"))?.subarray(-group.length)).toEqual(Buffer.from(group));
  });

  it("maxPayloadBytes bounds every payload: an uncompressed one above it is a too-large corrupt miss, a legacy one is not given to the legacy reader, and set refuses to write one", async () => {
    const errors: unknown[] = [];
    let legacyCalls = 0;
    const { store, users } = setup({ maxPayloadBytes: 64, onError: (e) => errors.push(e), legacy: () => (legacyCalls++, undefined) });
    store.setRaw("user:v1:u1", envelope(userRevisionId(2), Buffer.from([0x0a, 70, ...Buffer.alloc(70, 0x61)])));
    const entry = await users.getEntry({ id: "u1" });
    expect(entry.outcome).toBe("corrupt");
    expect((entry.error as DecodeError).reason).toBe("too-large");
    store.setRaw("user:v1:u2", Buffer.from(JSON.stringify({ id: "u2", name: "x".repeat(80) })));
    expect((await users.getEntry({ id: "u2" })).outcome).toBe("foreign");
    expect(legacyCalls).toBe(0);
    await expect(users.set({ ...user, name: "x".repeat(80) })).rejects.toThrow(/payload of \d+ bytes exceeds maxPayloadBytes \(64\)/);
    expect(await users.set(user)).toBe("written");
  });

  it("a newer envelope version: an unknown miss, never deleted by a read nor overwritten", async () => {
    const { store, users } = setup({ deleteCorrupt: true, onGuarded: "keep" });
    store.setRaw("user:v1:u1", envelope(userRevisionId(2), Buffer.alloc(3), { version: 2 }));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(users.stats().reads.unknown).toBe(1);
    expect(await users.set(user)).toBe("guarded");
    expect(store.size).toBe(1);
  });

  it("schema ID 0 (reserved, no revision has it): a corrupt miss with reason bad-schema-id, deletable and overwritable", async () => {
    const errors: unknown[] = [];
    const { store, users } = setup({ deleteCorrupt: true, onError: (e) => errors.push(e) });
    // A real entry whose schema ID bytes were zeroed: before, it decoded as an `unknown` (newer) revision.
    await users.set(user);
    const bytes = (await store.get("user:v1:u1")) as Buffer;
    store.setRaw("user:v1:u1", bytes.fill(0, 3, 7));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(users.stats().reads).toMatchObject({ corrupt: 1, unknown: 0 });
    expect((errors[0] as DecodeError).reason).toBe("bad-schema-id");
    await expect.poll(() => users.stats().deletes.cleaned).toBe(1);
    store.setRaw("user:v1:u1", envelope(0, Buffer.alloc(0)));
    expect(await users.set(user)).toBe("written");
  });

  it("legacy values: converted by the legacy reader (and optionally rewritten), else a foreign miss", async () => {
    const json = Buffer.from(JSON.stringify({ id: "u1", name: "Ada", email: "a" }));
    const plain = setup();
    plain.store.setRaw("user:v1:u1", json);
    expect(await plain.users.get({ id: "u1" })).toBeUndefined();
    expect(plain.users.stats().reads.foreign).toBe(1);

    const legacy = (bytes: Buffer): User => ({ ...user, ...(JSON.parse(bytes.toString()) as object) });
    const { store, users } = setup({ legacy, rewriteLegacy: true });
    store.setRaw("user:v1:u1", json);
    expect(await users.get({ id: "u1" })).toMatchObject({ name: "Ada", fullName: "Ada Lovelace" });
    await new Promise((r) => setImmediate(r));
    expect((await users.getEntry({ id: "u1" })).outcome).toBe("hit");
    expect(users.stats().reads.legacy).toBe(1);
  });

  it("never throws on hostile bytes, with or without a valid header", () => {
    const options = resolveOptions<User>({}, 0);
    const ids = [userRevisionId(1), userRevisionId(2), sessionEntity.current.schemaId, 0xabcdef01];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(...ids), fc.integer({ min: 0, max: 15 }), (payload, id, flags) => {
        for (const bytes of [Buffer.from(payload), envelope(id, payload, { flags })]) {
          const seen = interpret(userEntity, options, bytes);
          expect(["hit", "upgraded", "unknown", "wrong_type", "corrupt", "foreign"]).toContain(seen.outcome);
          if (seen.outcome === "corrupt") expect(seen.error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("an entry whose key fields make another key than the one read", () => {
  const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

  it("bytes copied from user:v1:u2 to user:v1:u1: get, getMany and getEntry miss with key_mismatch, each reported as a KeyMismatchError naming both keys; the entry is neither written back nor deleted (deleteCorrupt on)", async () => {
    const errors: unknown[] = [];
    const { store, users } = setup({ deleteCorrupt: true, onError: (e) => errors.push(e) });
    const u2 = { ...user, id: "u2" };
    await users.set(u2);
    const bytes = (await store.get("user:v1:u2")) as Buffer;
    store.setRaw("user:v1:u1", bytes);
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(await users.getMany([{ id: "u1" }, { id: "u2" }])).toEqual([undefined, u2]);
    const entry = await users.getEntry({ id: "u1" });
    expect(entry).toMatchObject({ outcome: "key_mismatch", value: undefined, schemaId: userEntity.current.schemaId, revision: 2 });
    expect(entry.error).toBeInstanceOf(KeyMismatchError);
    expect(entry.error).toMatchObject({ key: "user:v1:u1", valueKey: "user:v1:u2", origin: "entry" });
    expect(entry.error?.message).toBe("the entry read for user:v1:u1 holds a value for user:v1:u2: a key_mismatch miss, not returned");
    expect(users.stats().reads).toMatchObject({ key_mismatch: 3, hit: 1, corrupt: 0 });
    expect(errors).toHaveLength(3);
    expect(errors.every((e) => e instanceof KeyMismatchError)).toBe(true);
    await tick();
    expect(users.stats().deletes.cleaned).toBe(0);
    expect(users.stats().writes.written_back).toBe(0);
    expect(await store.get("user:v1:u1")).toEqual(bytes);
  });

  it("a payload whose id has another wire type decodes to a User with id \"\": read at user:v1:u1 it is a key_mismatch miss whose error says the value makes no key; interpret without the call's fields (operations) still reads it as a value", async () => {
    const errors: unknown[] = [];
    const { store, users } = setup({ onError: (e) => errors.push(e) });
    // Field 1 (id) as a varint: an unknown field to the decoder, so id stays "".
    const bytes = envelope(userRevisionId(2), Buffer.from([0x08, 0x01, 0x12, 0x03, 0x41, 0x64, 0x61]));
    store.setRaw("user:v1:u1", bytes);
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(users.stats().reads.key_mismatch).toBe(1);
    expect(errors[0]).toBeInstanceOf(KeyMismatchError);
    expect(errors[0]).toMatchObject({ key: "user:v1:u1", valueKey: undefined });
    expect((errors[0] as Error).message).toBe("the entry read for user:v1:u1 holds a value without valid key fields: a key_mismatch miss, not returned");
    expect(((errors[0] as Error).cause as Error).message).toMatch(/is empty/);
    const options = resolveOptions<User>({}, 0);
    expect(interpret(userEntity, options, bytes, "user:v1:u1")).toMatchObject({ outcome: "hit", value: { id: "", name: "Ada" } });
    expect(interpret(userEntity, options, bytes, "user:v1:u1", { id: "u1" }).outcome).toBe("key_mismatch");
  });

  it("an older revision (upgraded) and a newer one (unknown) holding another id are key_mismatch misses too; nothing is written back", async () => {
    const { store, users } = setup();
    store.setRaw("user:v1:u1", userR1Entry({ id: "u2", name: "Ada", email: "a" }));
    store.setRaw("user:v1:u3", newerUserEntry({ id: "u4", name: "Ada", email: "a", nickname: "ada" }));
    expect(await users.getMany([{ id: "u1" }, { id: "u3" }])).toEqual([undefined, undefined]);
    const first = await users.getEntry({ id: "u1" });
    expect(first).toMatchObject({ outcome: "key_mismatch", revision: 1 });
    expect(first.error).toMatchObject({ valueKey: "user:v1:u2" });
    expect((await users.getEntry({ id: "u3" })).schemaId).toBe(newerUserId);
    await tick();
    expect(users.stats().reads).toMatchObject({ key_mismatch: 4, upgraded: 0, unknown: 0 });
    expect(users.stats().writes.written_back).toBe(0);
  });

  it("with a prefix and a variant, the value's key is named in the same key space", async () => {
    const errors: unknown[] = [];
    const { store, users } = setup({ prefix: "app:", variant: "eu", onError: (e) => errors.push(e) });
    await users.set({ ...user, id: "u:2" });
    store.setRaw("app:user:v1:eu:u1", (await store.get("app:user:v1:eu:u%3A2")) as Buffer);
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(errors[0]).toMatchObject({ key: "app:user:v1:eu:u1", valueKey: "app:user:v1:eu:u%3A2" });
  });

  it("getOrSet and getManyOrSet take it for a miss: the loader runs, its value is returned and its write replaces the entry", async () => {
    const { store, users } = setup();
    await users.set({ ...user, id: "u2" });
    const u2 = (await store.get("user:v1:u2")) as Buffer;
    store.setRaw("user:v1:u1", u2);
    store.setRaw("user:v1:u3", u2);
    let calls = 0;
    expect(await users.getOrSet({ id: "u1" }, ({ id }) => (calls++, { ...user, id }))).toEqual(user);
    expect(calls).toBe(1);
    // Its read, and the lease's look at the key once taken (another instance may have written it meanwhile).
    expect(users.stats().reads.key_mismatch).toBe(2);
    expect(await users.getEntry({ id: "u1" })).toMatchObject({ outcome: "hit", value: user });
    const loaded: string[] = [];
    expect(await users.getManyOrSet([{ id: "u2" }, { id: "u3" }], (missing) => missing.map(({ id }) => (loaded.push(id), { ...user, id })))).toEqual([{ ...user, id: "u2" }, { ...user, id: "u3" }]);
    expect(loaded).toEqual(["u3"]);
    expect(users.stats().reads.key_mismatch).toBe(3);
    expect(await users.getEntry({ id: "u3" })).toMatchObject({ outcome: "hit", value: { ...user, id: "u3" } });
  });

  it("a Session (two key fields) whose sessionId differs is a key_mismatch miss; one whose fields are equal is a hit", async () => {
    const store = new MemoryStore();
    const sessions = sessionCache(store);
    const value = { ...(await import("../../generated/acme/session/v1/session.cache.js")).newSession(), tenantId: "t", sessionId: "s2" };
    await sessions.set(value);
    store.setRaw("session:v1:t:s1", (await store.get("session:v1:t:s2")) as Buffer);
    expect((await sessions.getEntry({ tenantId: "t", sessionId: "s1" })).outcome).toBe("key_mismatch");
    expect((await sessions.getEntry({ tenantId: "t", sessionId: "s2" })).outcome).toBe("hit");
  });
});

describe("the schema registry", () => {
  it("decodes a payload of any locked revision into plain data", async () => {
    const { schemaRegistry } = await import("../../generated/registry.js");
    const { schemaDecoder } = await import("../support/descriptors.js");
    const r1 = userRevisionId(1);
    const bytes = userR1Entry({ id: "u1", name: "Ada", email: "a@x" });
    expect(schemaDecoder.decode(r1, bytes.subarray(7))).toEqual({ id: "u1", name: "Ada", email: "a@x" });
    expect(schemaRegistry.get(r1)).toEqual({ id: r1, message: "acme.user.v1.User", major: 1, revision: 1 });
    expect(schemaDecoder.registry.get(r1)).toEqual({ id: r1, message: "acme.user.v1.User", major: 1, revision: 1, descriptor: expect.any(String) });
    expect(() => schemaDecoder.decode(0x01, bytes)).toThrow(/schema ID 0x00000001 is not in the schema lock/);
  });
});
