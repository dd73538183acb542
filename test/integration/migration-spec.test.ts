import { expect, it } from "vitest";
import { createUser, userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { createUser as createUserV2, defineUserCache as defineUserV2Cache, type User as UserV2 } from "../../generated/acme/user/v2/user.cache.js";
import type { ProtocacheError } from "../../src/errors.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * Migrations over every backend (ioredis and node-redis, standalone and
 * Cluster, and MemoryStore): read-through from the previous major,
 * dual-write, deletes of both keys, and adoption of a legacy JSON cache.
 * The migrations are defined once for this file's process, as a service does.
 */
const userV2Cache = defineUserV2Cache({
  fromPrevious: (old) => createUserV2({ id: old.id, displayName: old.fullName, email: old.email, emailVerified: old.verified, locale: old.locale }),
  toPrevious: (v) => createUser({ id: v.id, name: v.displayName, fullName: v.displayName, email: v.email, verified: v.emailVerified, locale: v.locale }),
});
const slack = { deadlineMs: 5_000 } as const;
const ada: User = { id: "ada", name: "ada", email: "a@x", fullName: "Ada Lovelace", verified: true, locale: "en-GB" };

describeEveryBackend("migrations", (backend: () => Backend) => {
  it("read-through: a v2 miss converts the v1 entry, and the v2 copy expires exactly when the v1 entry does (no expiry stays none)", async () => {
    const prefix = uniquePrefix();
    const { store, raw } = backend();
    const v1 = userCache(store, { ...slack, prefix });
    const v2 = userV2Cache(store, { ...slack, prefix });
    await v1.setMany([ada, { ...ada, id: "forever" }], { ttlSeconds: 0 });
    await v1.set({ ...ada, id: "short" }, { ttlSeconds: 500 });
    const v1Expiry = await raw.expireTime(`${prefix}user:v1:short`);
    expect(await v2.getMany([{ id: "short" }, { id: "forever" }, { id: "none" }])).toEqual([
      createUserV2({ id: "short", displayName: "Ada Lovelace", email: "a@x", emailVerified: true, locale: "en-GB" }),
      createUserV2({ id: "forever", displayName: "Ada Lovelace", email: "a@x", emailVerified: true, locale: "en-GB" }),
      undefined,
    ]);
    await expect.poll(() => v2.stats().writes.migrated).toBe(2);
    expect(await raw.expireTime(`${prefix}user:v2:short`)).toBe(v1Expiry);
    expect(await raw.expireTime(`${prefix}user:v2:forever`)).toBe(-1);
    expect(v2.stats().reads).toMatchObject({ read_through: 2, miss: 1 });
    expect((await v2.getEntry({ id: "short" })).outcome).toBe("hit");
  });

  it("dual-write keeps v1 readers hitting, and a delete removes both majors' keys", async () => {
    const prefix = uniquePrefix();
    const { store, raw } = backend();
    const v1 = userCache(store, { ...slack, prefix });
    const v2 = userV2Cache(store, { ...slack, prefix, previousMajor: "dual-write" });
    const value: UserV2 = createUserV2({ id: "u1", displayName: "Grace", email: "g@x", emailVerified: true, roles: ["admin"] });
    expect(await v2.setMany([value, { ...value, id: "u2" }], { ttlSeconds: 120 })).toEqual(["written", "written"]);
    expect(await v1.getMany([{ id: "u1" }, { id: "u2" }])).toEqual([
      createUser({ id: "u1", name: "Grace", fullName: "Grace", email: "g@x", verified: true }),
      createUser({ id: "u2", name: "Grace", fullName: "Grace", email: "g@x", verified: true }),
    ]);
    expect(v1.stats().reads.hit).toBe(2);
    expect(await raw.ttl(`${prefix}user:v1:u1`)).toBeGreaterThan(110);
    expect(v2.stats().writes).toMatchObject({ written: 2, dual_written: 2 });
    expect(await v2.delete({ id: "u1" })).toBe(true);
    expect(await raw.get(`${prefix}user:v1:u1`)).toBeNull();
    expect(await raw.get(`${prefix}user:v2:u1`)).toBeNull();
    expect(await v1.get({ id: "u1" })).toBeUndefined();
  });

  it("adoption: a legacy JSON entry at the old key layout is returned with declared defaults, written here with its expiry, and its old key deleted; bad ones are counted and reported", async () => {
    const prefix = uniquePrefix();
    const { store, raw } = backend();
    const errors: ProtocacheError[] = [];
    const users = userCache(store, { ...slack, prefix, onError: (e) => errors.push(e), legacy: { key: ({ id }) => `${prefix}v3:user:${id}`, deleteOld: true } });
    await raw.set(`${prefix}v3:user:42`, JSON.stringify({ id: "42", name: "ada", email: "a@x" }), 600);
    await raw.set(`${prefix}v3:user:43`, JSON.stringify({ id: "43", name: null, fullName: 7 }), 600);
    const legacyExpiry = await raw.expireTime(`${prefix}v3:user:42`);
    expect(await users.getMany([{ id: "42" }, { id: "43" }])).toEqual([
      { id: "42", name: "ada", email: "a@x", fullName: "Unknown", verified: true, locale: "en-US" },
      undefined,
    ]);
    await expect.poll(() => users.stats().writes.adopted).toBe(1);
    expect(await raw.expireTime(`${prefix}user:v1:42`)).toBe(legacyExpiry);
    expect(await raw.get(`${prefix}v3:user:42`)).toBeNull();
    expect(await raw.get(`${prefix}user:v1:43`)).toBeNull();
    expect(users.stats().reads).toMatchObject({ legacy: 1, legacy_rejected: 1 });
    expect(errors.map((e) => e.name)).toEqual(["LegacyValueError"]);
    expect((await users.getEntry({ id: "42" })).outcome).toBe("hit");
  });
});
