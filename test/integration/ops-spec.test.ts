import { expect, it } from "vitest";
import { decodeUser, encodeUser, userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { schemaRegistry } from "../../generated/registry.js";
import { createEntityCache } from "../../src/accessor/entity-cache.js";
import { defineEntity } from "../../src/accessor/entity.js";
import { keyString } from "../../src/keys.js";
import { census } from "../../src/ops/census.js";
import { cleanup } from "../../src/ops/cleanup.js";
import { inspect } from "../../src/ops/inspect.js";
import { migrate } from "../../src/ops/migrate.js";
import { LiveDataError } from "../../src/errors.js";
import { SchemaRegistry } from "../../src/registry.js";
import type { ScanCapable } from "../../src/stores/bulk.js";
import { describeEveryBackend } from "../support/backends.js";
import { schemaDecoder } from "../support/descriptors.js";
import { newerUserEntry, newerUserId, userR1Entry, userRevisionId } from "../support/entries.js";
import { neighbours, seedUsers } from "../support/ops-seed.js";
import { uniquePrefix } from "../support/redis-client.js";

const hostileIds = ["*", "?", "[a-z]", "]", "{tag}", "a:b", "back\\slash", "100%", "%2A", "*:*", "[", "}{", "\\*"];

/** A second major of User (acme.user.v2.User, same fields) for cross-major tests: what generated code of a v2 would define. */
const v2Id = 0x0b0b_0002;
const v2Entity = defineEntity<User, { id: string }>({
  typeName: "acme.user.v2.User",
  entity: "user",
  major: 2,
  current: { schemaId: v2Id, revision: 1 },
  others: [],
  ttlSeconds: 3600,
  keyFields: ["id"],
  key: (k) => keyString(k.id, "id"),
  encode: encodeUser,
  decode: decodeUser,
  registry: new SchemaRegistry([...schemaRegistry.entries, { id: v2Id, message: "acme.user.v2.User", major: 2, revision: 1 }]),
});

describeEveryBackend("operations", (backend) => {
  it("census counts entries and bytes per kind and revision exactly, names revisions from the lock, and estimates from a sample", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    const seeded = seedUsers(prefix, 2_000);
    await raw.setMany(seeded.map((e) => ({ key: e.key, value: e.value })));
    await raw.setMany(neighbours(prefix).map((key) => ({ key, value: "neighbour" })));
    const report = await census(userCache(store, { prefix }), { count: 100 });
    expect(report.scanned).toBe(seeded.length);
    expect(report.sampled).toBe(false);
    const group = (kind: string, schemaId?: number) => report.groups.find((g) => g.kind === kind && g.schemaId === schemaId);
    const sum = (pred: (k: string) => boolean) => {
      const es = seeded.filter((e) => pred(e.kind));
      return { count: es.length, bytes: es.reduce((n, e) => n + e.value.length, 0) };
    };
    expect(group("envelope", userRevisionId(1))).toMatchObject({ ...sum((k) => k.startsWith("r1") || k === "corrupt"), message: "acme.user.v1.User", revision: 1, foreign: false });
    expect(group("envelope", userRevisionId(2))).toMatchObject({ ...sum((k) => k === "current"), revision: 2 });
    expect(group("envelope", newerUserId)).toMatchObject({ ...sum((k) => k === "newer"), message: undefined });
    expect(group("legacy")).toMatchObject(sum((k) => k === "legacy"));
    expect(report.groups.find((g) => g.message === "acme.session.v1.Session")).toMatchObject({ count: sum((k) => k === "session").count });
    expect(report.bytes).toBe(seeded.reduce((n, e) => n + e.value.length, 0));

    const sample = await census(userCache(store, { prefix }), { count: 50, sample: 500 });
    expect(sample.scanned).toBeGreaterThanOrEqual(500);
    expect(sample.scanned).toBeLessThan(seeded.length);
    expect(sample.groups.every((g) => g.estimatedCount !== undefined)).toBe(true);
  });

  it("cleanup deletes only what it selects inside the entity's namespace, whatever the ids (* ? [ ] { } : \\ %), and never a neighbour", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    const users = userCache(store, { prefix, deadlineMs: 5_000 });
    const hostile = (id: string): User => ({ id, name: id, email: "", fullName: "", verified: false, locale: "" });
    expect(await users.setMany(hostileIds.map(hostile))).toEqual(hostileIds.map(() => "written"));
    for (const id of hostileIds) await raw.set(`${prefix}user:v1:r1-${encodeURIComponent(id)}`, userR1Entry({ id, name: "", email: "" }));
    await raw.set(`${prefix}user:v1:legacy`, '{"id":"legacy"}');
    const variant = userCache(store, { prefix, variant: "a*b[c]{d}", deadlineMs: 5_000 });
    await variant.set(hostile("*"));
    const outside = [...neighbours(prefix), ...hostileIds.map((id) => `${prefix}user:v2:${id}`), ...hostileIds.map((id) => `${prefix}user:v1${id}`)];
    await raw.setMany(outside.map((key) => ({ key, value: userR1Entry({ id: "x", name: "", email: "" }) })));

    const dry = await cleanup(users, { revisions: [1], dryRun: true });
    expect(dry.deleted).toBe(hostileIds.length);
    expect(await raw.get(`${prefix}user:v1:r1-*`)).not.toBeNull();

    const r1 = await cleanup(users, { revisions: [1] });
    expect(r1.deleted).toBe(hostileIds.length);
    for (const id of hostileIds) {
      expect(await raw.get(`${prefix}user:v1:r1-${encodeURIComponent(id)}`)).toBeNull();
      expect(await users.get({ id }), id).toEqual(hostile(id));
    }
    await expect(cleanup(users, { revisions: [2] })).rejects.toThrow(LiveDataError);
    expect((await cleanup(users, { legacy: true })).deleted).toBe(1);

    const onlyVariant = await cleanup(variant, { all: true, includeLive: true });
    expect(onlyVariant.deleted).toBe(1);
    expect(await users.get({ id: "*" })).toEqual(hostile("*"));
    const all = await cleanup(users, { all: true, includeLive: true });
    expect(all.deleted).toBe(hostileIds.length);
    for (const key of outside) expect(await raw.get(key), key).not.toBeNull();
  });

  it("cleanup of a revision never deletes an entry rewritten meanwhile in the current revision", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    const users = userCache(store, { prefix, deadlineMs: 5_000 });
    const ids = Array.from({ length: 1_500 }, (_, i) => `k${i}`);
    await raw.setMany(ids.map((id) => ({ key: `${prefix}user:v1:${id}`, value: userR1Entry({ id, name: "", email: "" }) })));
    const rewritten: string[] = [];
    let writer: Promise<unknown> | undefined;
    const report = await cleanup(users, {
      revisions: [1],
      count: 50,
      onProgress: () => {
        writer ??= (async () => {
          for (const id of [...ids].reverse().slice(0, 600)) {
            if ((await users.set({ id, name: "new", email: "", fullName: "", verified: false, locale: "" })) === "written") rewritten.push(id);
          }
        })();
      },
    });
    await writer;
    expect(report.deleted).toBeLessThanOrEqual(ids.length);
    for (const id of rewritten) expect((await users.get({ id }))?.name, id).toBe("new");
  });

  it("inspect shows header, schema, writer, age, TTL and the payload as JSON, for any revision, legacy values and absent keys", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    const users = userCache(store, { prefix, deadlineMs: 5_000, writerTag: "svc@1.2.3", ttlSeconds: 120 });
    await users.set({ id: "ada", name: "Ada", email: "a@x", fullName: "Ada L", verified: true, locale: "en" });
    const current = await inspect(store, `${prefix}user:v1:ada`, schemaDecoder, { now: Date.now() + 1000 });
    expect(current).toMatchObject({ exists: true, kind: "envelope", schema: { message: "acme.user.v1.User", revision: 2 }, payload: { id: "ada", fullName: "Ada L", verified: true } });
    expect(current.header?.writerTag).toBe("svc@1.2.3");
    expect(current.ageMs).toBeGreaterThanOrEqual(1000);
    expect(current.ttlMs).toBeGreaterThan(100_000);
    await raw.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "G", email: "" }));
    expect(await inspect(store, `${prefix}user:v1:old`, schemaDecoder)).toMatchObject({ schema: { revision: 1 }, payload: { id: "old", name: "G" }, ttlMs: undefined });
    await raw.set(`${prefix}user:v1:new`, newerUserEntry({ id: "new", name: "N", nickname: "x" }));
    const newer = await inspect(store, `${prefix}user:v1:new`, schemaDecoder, { fallbackMessage: "acme.user.v1.User" });
    expect(newer).toMatchObject({ schema: undefined, decodedAs: { revision: 2 }, payload: { id: "new", name: "N" } });
    await raw.set(`${prefix}user:v1:json`, '{"id":"json"}');
    expect(await inspect(store, `${prefix}user:v1:json`, schemaDecoder)).toMatchObject({ kind: "legacy", preview: '{"id":"json"}' });
    expect(await inspect(store, `${prefix}user:v1:none`, schemaDecoder)).toMatchObject({ exists: false });
  });

  it("migrate decodes each batch in parts of at most maxBatchWork work units, writing each part before decoding the next: every entry migrated; one over maxReadWork fails, named", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    for (let i = 0; i < 12; i++) await raw.set(`${prefix}user:v1:u${i}`, userR1Entry({ id: `u${i}`, name: "n", email: "" }));
    await raw.set(`${prefix}user:v1:big`, userR1Entry({ id: "big", name: "é".repeat(500), email: "" }));
    // A small r1 entry takes 8 or 9 units (its User object 3, two fields, 3 or 4 string bytes): a part of 40 holds at most 5; the big one needs ~130.
    const users = userCache(store, { prefix, deadlineMs: 5_000, maxReadWork: 40, maxBatchWork: 40 });
    const bulk = (store as unknown as ScanCapable).bulk;
    const replace = bulk.replace;
    const parts: number[] = [];
    bulk.replace = async (node, items) => {
      parts.push(items.length);
      return replace.call(bulk, node, items);
    };
    let report;
    try {
      report = await migrate(users, { count: 100 });
    } finally {
      bulk.replace = replace;
    }
    expect(report.counts).toMatchObject({ migrated: 12, failed: 1 });
    expect(report.reasons).toEqual({ "failed: over the read work budget (maxReadWork): raise it on the accessor given to migrate": 1 });
    expect(report.examples["failed: over the read work budget (maxReadWork): raise it on the accessor given to migrate"]).toEqual([`${prefix}user:v1:big`]);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(12);
    expect(Math.max(...parts)).toBeLessThanOrEqual(5);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    expect((await users.getEntry({ id: "u11" })).outcome).toBe("hit");
  });

  it("inspect decodes within maxReadWork (validated): a costlier payload is a problem, not a payload", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    await raw.set(`${prefix}user:v1:big`, userR1Entry({ id: "big", name: "é".repeat(500), email: "" }));
    expect((await inspect(store, `${prefix}user:v1:big`, schemaDecoder)).payload).toMatchObject({ id: "big" });
    const tight = await inspect(store, `${prefix}user:v1:big`, schemaDecoder, { maxReadWork: 40 });
    expect(tight.payload).toBeUndefined();
    expect(tight.problem).toMatch(/payload not decoded: decoding needs more than 40 work units \(maxReadWork 40\)/);
    await expect(inspect(store, `${prefix}user:v1:big`, schemaDecoder, { maxReadWork: 0 })).rejects.toThrow(/invalid option maxReadWork: expected a whole number from 1 to 1000000000/);
  });

  it("migrate moves the previous major's key space into the new one: converted, each with its remaining TTL, never over a newer entry, source kept", async () => {
    const { raw, store } = backend();
    const prefix = uniquePrefix();
    const v1 = userCache(store, { prefix, deadlineMs: 5_000 });
    const v2 = createEntityCache(v2Entity, store, { prefix, deadlineMs: 5_000 });
    const ids = Array.from({ length: 600 }, (_, i) => `m${i}`);
    await raw.setMany(ids.map((id, i) => ({ key: `${prefix}user:v1:${id}`, value: userR1Entry({ id, name: `n${i}`, email: "" }), ...(i % 3 === 0 ? {} : { ttlSeconds: 300 + i }) })));
    await v2.set({ id: "m5", name: "already", email: "", fullName: "", verified: false, locale: "" });
    const report = await migrate(v2, { from: { accessor: v1, convert: (old: User): User => ({ ...old, name: old.name.toUpperCase() }) } });
    expect(report.mode).toBe("major");
    expect(report.counts).toMatchObject({ migrated: ids.length - 1, current: 1, failed: 0 });
    for (const [i, id] of ids.entries()) {
      const got = await v2.get({ id });
      if (id === "m5") expect(got?.name).toBe("already");
      else expect(got, id).toEqual({ id, name: `N${i}`, email: "", fullName: "Unknown", verified: true, locale: "en-US" });
      if (id !== "m5") expect(await raw.expireTime(`${prefix}user:v2:${id}`), id).toBe(await raw.expireTime(`${prefix}user:v1:${id}`));
      expect(await raw.get(`${prefix}user:v1:${id}`)).not.toBeNull();
    }
    expect(userEntity.major).toBe(1);
  });
});
