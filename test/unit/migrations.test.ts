import { describe, expect, it } from "vitest";
import { createUser, userEntity, type User, type User_R1 } from "../../generated/acme/user/v1/user.cache.js";
import { createUser as createUserV2, userEntity as userV2Entity, type User as UserV2 } from "../../generated/acme/user/v2/user.cache.js";
import { createEntityCache, type EntityCache } from "../../src/accessor/entity-cache.js";
import { internalsOf } from "../../src/accessor/internals.js";
import { defineEntity, type Entity } from "../../src/accessor/entity.js";
import { defineMigrations } from "../../src/accessor/migrations.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { ConfigError, KeyMismatchError, LegacyReaderError, LegacyValueError, UpgradeError, type ProtocacheError } from "../../src/errors.js";
import { migrate } from "../../src/ops/migrate.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { newerUserEntry, userR1Entry } from "../support/entries.js";

/**
 * Migrations on MemoryStore (same semantics as Redis, a fake clock):
 * upgrade hooks, read-through from the previous major, dual-write and
 * legacy adoption. Each test defines its migrations on a fresh copy of the
 * generated entity, since a process defines an entity's migrations once.
 */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

function freshV1(): Entity<User, { id: string }> {
  return defineEntity({ ...userEntity });
}

function freshV2(): Entity<UserV2, { id: string }> {
  return defineEntity({ ...userV2Entity });
}

const fromV1 = (old: User): UserV2 => createUserV2({ id: old.id, displayName: old.fullName, email: old.email, emailVerified: old.verified, locale: old.locale });
const toV1 = (v: UserV2): User => createUser({ id: v.id, name: v.displayName, fullName: v.displayName, email: v.email, verified: v.emailVerified, locale: v.locale });

/** An accessor of a fresh User entity whose revision-1 upgrade hook is `hook`, and a revision-1 entry of u1 for it to read. */
function withHook(hook: (old: User_R1, upgraded: User) => User) {
  const entity = freshV1();
  defineMigrations(entity, { upgrades: { 1: hook } });
  const store = new MemoryStore();
  const errors: ProtocacheError[] = [];
  const users = createEntityCache(entity, store, { onError: (e) => errors.push(e) });
  const bytes = userR1Entry({ id: "u1", name: "ada", email: "a@x" });
  store.setRaw("user:v1:u1", bytes);
  return { store, users, errors, bytes };
}

describe("upgrade hooks", () => {
  it("run after declared defaults: the hook sees the revision's own fields and the defaulted value, and its result is returned and written back", async () => {
    const entity = freshV1();
    const seen: { old: User_R1; upgraded: User }[] = [];
    defineMigrations(entity, {
      upgrades: {
        1: (old: User_R1, upgraded: User): User => {
          seen.push({ old: { ...old }, upgraded: { ...upgraded } });
          return { ...upgraded, fullName: upgraded.fullName === "Unknown" ? old.name.toUpperCase() : upgraded.fullName };
        },
      },
    });
    const store = new MemoryStore();
    const users = createEntityCache(entity, store);
    store.setRaw("user:v1:u1", userR1Entry({ id: "u1", name: "ada", email: "a@x" }), 60);
    expect(await users.get({ id: "u1" })).toEqual({ id: "u1", name: "ada", email: "a@x", fullName: "ADA", verified: true, locale: "en-US" });
    expect(seen).toEqual([{ old: { id: "u1", name: "ada", email: "a@x" }, upgraded: { id: "u1", name: "ada", email: "a@x", fullName: "Unknown", verified: true, locale: "en-US" } }]);
    expect(users.stats().reads.upgraded).toBe(1);
    await tick();
    expect(users.stats().writes.written_back).toBe(1);
    expect(await users.getEntry({ id: "u1" })).toMatchObject({ outcome: "hit", value: { fullName: "ADA" } });
    expect(seen).toHaveLength(1);
  });

  it("a throwing hook (or one returning no object, a Promise, or a field of the wrong type) is a counted upgrade_failed miss reported as an UpgradeError, never a throw, and nothing is written back", async () => {
    const mistyped = (_old: User_R1, u: User): User => ({ ...u, verified: "yes" as unknown as boolean });
    for (const hook of [() => { throw new Error("boom"); }, () => null as unknown as User, (async () => ({})) as unknown as () => User, mistyped]) {
      const { store, users, errors, bytes } = withHook(hook);
      expect(await users.get({ id: "u1" })).toBeUndefined();
      expect(await users.getMany([{ id: "u1" }])).toEqual([undefined]);
      await tick();
      expect(users.stats().reads).toMatchObject({ upgrade_failed: 2, upgraded: 0, miss: 0 });
      expect(users.stats().writes.written_back).toBe(0);
      expect(errors).toHaveLength(2);
      expect(errors[0]).toBeInstanceOf(UpgradeError);
      expect(errors[0]?.message).toMatch(/upgrades\[1\] of acme\.user\.v1\.User failed for user:v1:u1/);
      expect(await store.get("user:v1:u1")).toEqual(bytes);
    }
  });

  it("a hook that changes the key fields makes a key_mismatch miss reported as a KeyMismatchError: nothing is returned or written back", async () => {
    const { store, users, errors, bytes } = withHook((_old: User_R1, u: User): User => ({ ...u, id: `${u.id}-x` }));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    await tick();
    expect(users.stats().reads).toMatchObject({ key_mismatch: 1, upgraded: 0 });
    expect(users.stats().writes.written_back).toBe(0);
    expect(errors[0]).toBeInstanceOf(KeyMismatchError);
    expect(errors[0]).toMatchObject({ key: "user:v1:u1", valueKey: "user:v1:u1-x" });
    expect(await store.get("user:v1:u1")).toEqual(bytes);
  });

  it("are defined once per entity: another definition is a ConfigError, the same one again is fine, and unknown revisions or keys are refused", () => {
    const entity = freshV1();
    const migrations = { upgrades: { 1: (_old: User_R1, u: User) => u } };
    defineMigrations(entity, migrations);
    defineMigrations(entity, migrations);
    expect(() => defineMigrations(entity, { upgrades: {} })).toThrow(/already has migrations/);
    expect(() => defineMigrations(freshV1(), { upgrades: { 2: (_o: never, u: User) => u } })).toThrow(/has no older revision 2/);
    expect(() => defineMigrations(freshV1(), { upgrades: { 1: "no" } })).toThrow(ConfigError);
    expect(() => defineMigrations(freshV1(), { fromPrevious: () => ({}) })).toThrow(/unknown option/);
  });
});

function v2Setup(options: AccessorOptions<UserV2, { id: string }> = {}, migrations: object = { fromPrevious: fromV1, toPrevious: toV1 }) {
  let now = 1_000_000;
  const store = new MemoryStore({ now: () => now });
  const entity = freshV2();
  defineMigrations(entity, migrations);
  const errors: ProtocacheError[] = [];
  const users = createEntityCache(entity, store, { onError: (e) => errors.push(e), ...options });
  const v1 = createEntityCache(userEntity, store);
  return { store, users, v1, errors, advance: (ms: number) => (now += ms), now: () => now };
}

describe("a new major (migrates_from)", () => {
  it("reads through to the previous major on a miss, converts it, and writes it here expiring exactly when the previous entry does", async () => {
    const { store, users, v1, advance, now } = v2Setup();
    await v1.set(createUser({ id: "u1", name: "ada", fullName: "Ada L", email: "a@x", verified: true }), { ttlSeconds: 100 });
    await v1.set(createUser({ id: "u2", fullName: "Grace" }), { ttlSeconds: 0 });
    advance(30_000);
    const v1Expiry = now() + store.pttl("user:v1:u1");
    expect(await users.get({ id: "u1" })).toEqual(createUserV2({ id: "u1", displayName: "Ada L", email: "a@x", emailVerified: true }));
    // createUser gave u2 its declared default verified: true.
    expect(await users.getMany([{ id: "u2" }, { id: "u3" }])).toEqual([createUserV2({ id: "u2", displayName: "Grace", emailVerified: true }), undefined]);
    await tick();
    expect(users.stats().reads).toMatchObject({ read_through: 2, miss: 1 });
    expect(users.stats().writes).toMatchObject({ migrated: 2, migrate_skipped: 0, migrate_error: 0 });
    expect(now() + store.pttl("user:v2:u1")).toBe(v1Expiry);
    expect(store.pttl("user:v2:u2")).toBe(-1);
    expect((await users.getEntry({ id: "u1" })).outcome).toBe("hit");
    expect(store.pttl("user:v1:u1")).toBeGreaterThan(0);
  });

  it("a fromPrevious whose value has other key fields than the ones asked for: a key_mismatch miss, reported, never copied here", async () => {
    const { store, users, v1, errors } = v2Setup({}, { fromPrevious: (old: User) => fromV1({ ...old, id: "someone-else" }), toPrevious: toV1 });
    await v1.set(createUser({ id: "u1", fullName: "Ada L" }));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(await users.getMany([{ id: "u1" }])).toEqual([undefined]);
    await tick();
    expect(users.stats().reads).toMatchObject({ key_mismatch: 2, read_through: 0, miss: 0 });
    expect(users.stats().writes.migrated).toBe(0);
    expect(store.keys()).toEqual(["user:v1:u1"]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ name: "KeyMismatchError", key: "user:v2:u1", valueKey: "user:v2:someone-else" });
  });

  it("never copies an entry the previous major deleted or changed meanwhile, and never overwrites a newer entry here", async () => {
    // The background copy pauses before reading the source's expiry, and again after creating the target.
    let openRead!: () => void;
    let openCheck!: () => void;
    const beforeRead = new Promise<void>((r) => (openRead = r));
    const afterCreate = new Promise<void>((r) => (openCheck = r));
    class GatedStore extends MemoryStore {
      override async getWithExpiry(key: string) {
        await beforeRead;
        return super.getWithExpiry(key);
      }
      override async createIfAbsent(key: string, value: Buffer, expireAt: number | undefined) {
        const created = await super.createIfAbsent(key, value, expireAt);
        await afterCreate;
        return created;
      }
    }
    const store = new GatedStore();
    const entity = freshV2();
    defineMigrations(entity, { fromPrevious: fromV1 });
    const users = createEntityCache(entity, store, { deadlineMs: 0 });
    const v1 = createEntityCache(userEntity, store);
    await v1.set(createUser({ id: "gone", fullName: "G" }));
    await v1.set(createUser({ id: "changed", fullName: "C" }));
    await v1.set(createUser({ id: "newer", fullName: "N" }));
    const values = await users.getMany([{ id: "gone" }, { id: "changed" }, { id: "newer" }]);
    await users.set(createUserV2({ id: "newer", displayName: "N2" }));
    openRead();
    await tick();
    // The copies of "gone" and "changed" now exist; a delete and a v1 write race them.
    expect((await store.get("user:v2:gone")) !== null).toBe(true);
    await store.delete(["user:v1:gone"]);
    await v1.set(createUser({ id: "changed", fullName: "C2" }));
    openCheck();
    await tick();
    expect(values.map((v) => v?.displayName)).toEqual(["G", "C", "N"]);
    expect(users.stats().writes).toMatchObject({ migrated: 0, migrate_skipped: 3 });
    expect(await store.get("user:v2:gone")).toBeNull();
    expect(await store.get("user:v2:changed")).toBeNull();
    expect((await users.get({ id: "newer" }))?.displayName).toBe("N2");
  });

  it("dual-writes the previous major's entry with toPrevious, deletes both keys, and stops using the previous major with previousMajor: off", async () => {
    const { store, users, v1 } = v2Setup({ previousMajor: "dual-write" });
    expect(await users.set(createUserV2({ id: "u1", displayName: "Ada", email: "a@x", emailVerified: true }), { ttlSeconds: 50 })).toBe("written");
    expect(await v1.getEntry({ id: "u1" })).toMatchObject({ outcome: "hit", value: { id: "u1", fullName: "Ada", name: "Ada", verified: true } });
    expect(store.pttl("user:v1:u1")).toBe(50_000);
    expect(users.stats().writes).toMatchObject({ written: 1, dual_written: 1 });
    expect(await users.delete({ id: "u1" })).toBe(true);
    expect(store.keys()).toEqual([]);
  });

  it.each(["delete", "keep"] as const)("dual-write over a previous-major entry of a revision this lock does not know: refused, counted, and with onGuarded %s that entry is deleted or kept", async (onGuarded) => {
    const { store, users } = v2Setup({ previousMajor: "dual-write", onGuarded });
    const newer = newerUserEntry({ id: "u1", name: "Ada", nickname: "countess" });
    store.setRaw("user:v1:u1", newer);
    expect(await users.set(createUserV2({ id: "u1", displayName: "Ada" }))).toBe("written");
    expect(users.stats().writes).toMatchObject({ written: 1, dual_written: 0, dual_write_guarded: 1 });
    expect(users.stats().deletes.guard_deleted).toBe(onGuarded === "delete" ? 1 : 0);
    expect(await store.get("user:v1:u1")).toEqual(onGuarded === "delete" ? null : newer);
  });

  it("with previousMajor: off, neither reads through nor deletes the previous major's key", async () => {
    const { store, users, v1 } = v2Setup({ previousMajor: "off" });
    await v1.set(createUser({ id: "u1", fullName: "A" }));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    await users.set(createUserV2({ id: "u1" }));
    expect(await users.delete({ id: "u1" })).toBe(true);
    expect(store.keys()).toEqual(["user:v1:u1"]);
  });

  it("counts a throwing fromPrevious as upgrade_failed (reported, a miss), and toPrevious failures as dual_write_error without failing the write", async () => {
    const { users, v1, errors } = v2Setup({ previousMajor: "dual-write" }, {
      fromPrevious: () => {
        throw new Error("no");
      },
      toPrevious: () => {
        throw new Error("nope");
      },
    });
    await v1.set(createUser({ id: "u1" }));
    expect(await users.get({ id: "u1" })).toBeUndefined();
    expect(await users.set(createUserV2({ id: "u2" }))).toBe("written");
    expect(users.stats().reads.upgrade_failed).toBe(1);
    expect(users.stats().writes).toMatchObject({ written: 1, dual_write_error: 1 });
    expect(errors.map((e) => (e as UpgradeError).hook)).toEqual(["fromPrevious", "toPrevious"]);
  });

  it("exposes to tools the previous major's key and the same conversion a read-through does", async () => {
    const { store, users, v1 } = v2Setup();
    await v1.set(createUser({ id: "u1", fullName: "Ada", email: "a@x" }));
    const inside = internalsOf<UserV2, { id: string }>(users);
    if (inside === undefined) throw new Error("no internals");
    expect(inside.keyBase).toBe("user:v2:");
    expect(inside.previous?.keyBase).toBe("user:v1:");
    expect(inside.previous?.keyOf?.({ id: "u1" })).toBe("user:v1:u1");
    const converted = inside.previous?.convert((await store.get("user:v1:u1")) as Buffer, "user:v1:u1");
    expect(converted).toMatchObject({ outcome: "read_through", value: createUserV2({ id: "u1", displayName: "Ada", email: "a@x", emailVerified: true }) });
    expect(inside.keyOf(converted?.value as UserV2)).toBe("user:v2:u1");
    expect(inside.interpret(inside.encode(converted?.value as UserV2)).outcome).toBe("hit");
    expect(internalsOf({})).toBeUndefined();
  });

  it("migrate(v2 accessor) moves the previous major's key space with the same conversion (and hooks) as a read-through, keeping each expiry", async () => {
    // migrate judges expiries by the real clock: a MemoryStore on it.
    const store = new MemoryStore();
    const entity = freshV2();
    defineMigrations(entity, { fromPrevious: fromV1 });
    const users = createEntityCache(entity, store);
    const v1 = createEntityCache(userEntity, store);
    await v1.setMany([createUser({ id: "a", fullName: "A" }), createUser({ id: "b", fullName: "B" })], { ttlSeconds: 60 });
    await v1.set(createUser({ id: "c", fullName: "C" }), { ttlSeconds: 0 });
    const expiry = (await store.getWithExpiry("user:v1:a"))?.expireAt;
    const report = await migrate(users);
    expect(report).toMatchObject({ mode: "major", match: "user:v1:*", counts: { migrated: 3, failed: 0 } });
    expect(await users.getMany([{ id: "a" }, { id: "c" }])).toEqual([createUserV2({ id: "a", displayName: "A", emailVerified: true }), createUserV2({ id: "c", displayName: "C", emailVerified: true })]);
    expect(users.stats().reads).toMatchObject({ hit: 2, read_through: 0 });
    expect((await store.getWithExpiry("user:v2:a"))?.expireAt).toBe(expiry);
    expect(store.pttl("user:v2:c")).toBe(-1);
  });

  it("refuses an accessor without migrations, dual-write without toPrevious, and previousMajor on an entity without a previous major", () => {
    const store = new MemoryStore();
    expect(() => createEntityCache(freshV2(), store)).toThrow(/define…Cache\(\{ fromPrevious/);
    const entity = freshV2();
    defineMigrations(entity, { fromPrevious: fromV1 });
    expect(() => createEntityCache(entity, store, { previousMajor: "dual-write" })).toThrow(/needs toPrevious/);
    expect(() => createEntityCache(userEntity, store, { previousMajor: "off" })).toThrow(/no migrates_from/);
    expect(() => createEntityCache(entity, store, { previousMajor: "both" as never })).toThrow(ConfigError);
  });
});

describe("adopting a legacy cache", () => {
  function legacySetup(options: AccessorOptions<User, { id: string }>) {
    let now = 5_000_000;
    const store = new MemoryStore({ now: () => now });
    const errors: ProtocacheError[] = [];
    const users: EntityCache<User, { id: string }> = createEntityCache(userEntity, store, { onError: (e) => errors.push(e), ...options });
    return { store, users, errors, advance: (ms: number) => (now += ms) };
  }

  it("finds entries at the old key layout, fills declared defaults for missing or null fields, writes them here with the old expiry, and optionally deletes the old key", async () => {
    const { store, users, advance } = legacySetup({ legacy: { key: ({ id }) => `v3:user:${id}`, deleteOld: true } });
    store.setRaw("v3:user:42", Buffer.from(JSON.stringify({ id: 42, name: "ada", email: "a@x", fullName: null, extra: [1] })), 600);
    advance(100_000);
    expect(await users.get({ id: "42" })).toEqual({ id: "42", name: "ada", email: "a@x", fullName: "Unknown", verified: true, locale: "en-US" });
    await tick();
    expect(users.stats().reads.legacy).toBe(1);
    expect(users.stats().writes.adopted).toBe(1);
    expect(users.stats().deletes.legacy_deleted).toBe(1);
    expect(store.pttl("user:v1:42")).toBe(500_000);
    expect(store.keys()).toEqual(["user:v1:42"]);
    expect((await users.getEntry({ id: "42" })).outcome).toBe("hit");
  });

  it("a prefix maps the key too; wrong-typed fields, a lone surrogate in a string (JSON's \\ud800), non-objects (null, arrays) and malformed JSON are counted legacy_rejected misses, reported, and never written", async () => {
    const { store, users, errors } = legacySetup({ legacy: { prefix: "old:" } });
    store.setRaw("old:a", Buffer.from('{"name":42}'));
    store.setRaw("old:b", Buffer.from("[1,2]"));
    store.setRaw("old:c", Buffer.from("{not json"));
    store.setRaw("old:d", Buffer.from('{"verified":"yes"}'));
    store.setRaw("old:e", Buffer.from("null"));
    store.setRaw("old:f", Buffer.from('{"email":"a\\ud800@example.com"}'));
    expect(await users.getMany(["a", "b", "c", "d", "e", "f"].map((id) => ({ id })))).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    await tick();
    expect(users.stats().reads).toMatchObject({ legacy_rejected: 6, legacy: 0, miss: 0 });
    expect(errors.map((e) => e.name)).toEqual(["LegacyValueError", "LegacyValueError", "LegacyReaderError", "LegacyValueError", "LegacyValueError", "LegacyValueError"]);
    expect((errors[0] as LegacyValueError).field).toBe("name");
    expect(errors[2]).toBeInstanceOf(LegacyReaderError);
    expect((errors[5] as LegacyValueError).field).toBe("email");
    expect(errors[5]?.message).toMatch(/lone surrogate at index 1/);
    expect(store.keys().sort()).toEqual(["old:a", "old:b", "old:c", "old:d", "old:e", "old:f"]);
  });

  it("an asynchronous reader is refused: its Promise is never taken for a value", async () => {
    const { store, users, errors } = legacySetup({ legacy: { prefix: "old:", read: (async () => ({ name: "x" })) as never } });
    store.setRaw("old:a", Buffer.from("{}"));
    expect(await users.get({ id: "a" })).toBeUndefined();
    expect(users.stats().reads.legacy_rejected).toBe(1);
    expect(errors[0]?.message).toMatch(/returned a Promise/);
  });

  it("a reader at the accessor's own keys: its output is checked, defaults apply, and rewriteLegacy turns it into an envelope keeping the TTL", async () => {
    const { store, users } = legacySetup({ legacy: (bytes) => JSON.parse(bytes.toString()) as object, rewriteLegacy: true });
    store.setRaw("user:v1:7", Buffer.from('{"name":"x"}'), 30);
    expect(await users.get({ id: "7" })).toEqual({ id: "7", name: "x", email: "", fullName: "Unknown", verified: true, locale: "en-US" });
    await tick();
    expect(users.stats().writes.written_back).toBe(1);
    expect(store.pttl("user:v1:7")).toBe(30_000);
    expect((await users.getEntry({ id: "7" })).outcome).toBe("hit");
  });
});
