import { expect, it } from "vitest";
import { guardAllows } from "../../src/envelope/guard.js";
import { StoreError } from "../../src/errors.js";
import { describeEveryBackend } from "../support/backends.js";
import { envelope } from "../support/entries.js";
import { uniquePrefix } from "../support/redis-client.js";

/** The CacheStore contract, run over every backend. */
describeEveryBackend("the store contract", (backend) => {
  it("compare-and-set never resurrects a deleted key nor clobbers a newer value, and keeps the TTL", async () => {
    const prefix = uniquePrefix();
    const { store, raw } = backend();
    expect(await store.replaceIfEqual(`${prefix}gone`, Buffer.from("a"), Buffer.from("b"))).toBe(false);
    expect(await raw.get(`${prefix}gone`)).toBeNull();
    await raw.set(`${prefix}k`, "new", 300);
    expect(await store.replaceIfEqual(`${prefix}k`, Buffer.from("old"), Buffer.from("b"))).toBe(false);
    expect((await raw.get(`${prefix}k`))?.toString()).toBe("new");
    expect(await store.replaceIfEqual(`${prefix}k`, Buffer.from("new"), Buffer.from([0, 0xff]))).toBe(true);
    expect(await raw.get(`${prefix}k`)).toEqual(Buffer.from([0, 0xff]));
    expect(await raw.ttl(`${prefix}k`)).toBeGreaterThan(290);
    expect(await store.deleteIfEqual(`${prefix}k`, Buffer.from("old"))).toBe(false);
    expect(await store.deleteIfEqual(`${prefix}k`, Buffer.from([0, 0xff]))).toBe(true);
    expect(await raw.get(`${prefix}k`)).toBeNull();
  });

  it.each([false, true])("the server-side write guard decides exactly like guardAllows, keeps the TTL it was given, and deletes what it refuses only when asked (invalidate: %s)", async (invalidate) => {
    const { store, raw } = backend();
    const known = Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]);
    const cases = [
      undefined,
      Buffer.from('{"a":1}'),
      Buffer.from([0xc1, 1, 0]),
      envelope(2, Buffer.alloc(0)),
      envelope(9, Buffer.alloc(0), { version: 0 }),
      envelope(0, Buffer.alloc(0)),
      envelope(9, Buffer.alloc(0)),
      envelope(1, Buffer.alloc(0), { version: 2 }),
      envelope(0x00010000, Buffer.alloc(0)),
      envelope(0x02000000, Buffer.alloc(0)),
      envelope(0x00000100, Buffer.alloc(0)),
    ];
    const prefix = uniquePrefix();
    for (const [i, current] of cases.entries()) if (current !== undefined) await raw.set(`${prefix}g${i}`, current);
    const writes = cases.map((_, i) => ({ key: `${prefix}g${i}`, value: Buffer.from("new"), ttlSeconds: 30 }));
    const batch = await store.setMany(writes, { knownIds: known, invalidate });
    for (const [i, current] of cases.entries()) {
      const expected = guardAllows(current, known) ? "written" : invalidate ? "invalidated" : "guarded";
      expect(batch[i], `case ${i}`).toBe(expected);
      if (expected === "written") expect(await raw.ttl(writes[i]?.key as string)).toBeGreaterThan(25);
      else expect(await raw.get(writes[i]?.key as string)).toEqual(invalidate ? null : current);
    }
  });

  it("set writes one value, guarded or not, refuses only what the guard refuses, and deletes it only when asked to invalidate", async () => {
    const { store, raw } = backend();
    const prefix = uniquePrefix();
    const known = Buffer.from([0, 0, 0, 1]);
    await raw.set(`${prefix}newer`, envelope(7, Buffer.alloc(0)));
    expect(await store.set({ key: `${prefix}newer`, value: Buffer.from("x"), ttlSeconds: 0 }, { knownIds: known })).toBe("guarded");
    expect(await raw.get(`${prefix}newer`)).toEqual(envelope(7, Buffer.alloc(0)));
    await raw.set(`${prefix}newer2`, envelope(7, Buffer.alloc(0)));
    expect(await store.set({ key: `${prefix}newer2`, value: Buffer.from("x"), ttlSeconds: 0 }, { knownIds: known, invalidate: true })).toBe("invalidated");
    expect(await raw.get(`${prefix}newer2`)).toBeNull();
    expect(await store.set({ key: `${prefix}fresh`, value: Buffer.from("y"), ttlSeconds: 50 }, { knownIds: known })).toBe("written");
    expect(await raw.ttl(`${prefix}fresh`)).toBeGreaterThan(45);
    expect(await store.set({ key: `${prefix}newer`, value: Buffer.from("z"), ttlSeconds: 0 }, undefined)).toBe("written");
    expect((await raw.get(`${prefix}newer`))?.toString()).toBe("z");
    expect(await raw.ttl(`${prefix}newer`)).toBe(-1);
  });

  it("getMany answers in order with null for absent keys and an Error only for keys that failed", async (context) => {
    const { store, raw } = backend();
    const prefix = uniquePrefix();
    await raw.set(`${prefix}a`, Buffer.from([1]));
    await raw.set(`${prefix}c`, Buffer.from([3]));
    expect(await store.getMany([`${prefix}a`, `${prefix}b`, `${prefix}c`])).toEqual([Buffer.from([1]), null, Buffer.from([3])]);
    expect(await store.getMany([])).toEqual([]);
    if (raw.setWrongType === undefined || !backend().cluster) return context.skip();
    // On a Cluster each key is its own command: a failing key fails alone.
    await raw.setWrongType(`${prefix}h`);
    const got = await store.getMany([`${prefix}a`, `${prefix}h`, `${prefix}c`]);
    expect(got[0]).toEqual(Buffer.from([1]));
    expect(got[1]).toBeInstanceOf(StoreError);
    expect(got[2]).toEqual(Buffer.from([3]));
  });

  it("getWithTtl and getManyWithTtl (over 1500 keys on every server) answer each value with its remaining TTL (undefined without expiry), null for absent keys, and a wrong-type key fails alone on a Cluster", async () => {
    const { store, raw } = backend();
    const prefix = uniquePrefix();
    const keys = Array.from({ length: 1500 }, (_, i) => `${prefix}t${i}`);
    // Every third key absent, the others with a TTL of 100 s or without one.
    await raw.setMany(keys.flatMap((key, i) => (i % 3 === 2 ? [] : [{ key, value: Buffer.from([i % 256, 0xc1]), ...(i % 3 === 0 ? { ttlSeconds: 100 } : {}) }])));
    const one = await store.getWithTtl?.(keys[0] as string);
    expect(one?.value).toEqual(Buffer.from([0, 0xc1]));
    expect(one?.ttlMs).toBeGreaterThan(90_000);
    expect(one?.ttlMs).toBeLessThanOrEqual(100_000);
    expect(await store.getWithTtl?.(keys[1] as string)).toEqual({ value: Buffer.from([1, 0xc1]), ttlMs: undefined });
    expect(await store.getWithTtl?.(keys[2] as string)).toBeNull();
    const many = (await store.getManyWithTtl?.(keys)) ?? [];
    expect(many).toHaveLength(keys.length);
    many.forEach((got, i) => {
      if (i % 3 === 2) return expect(got, keys[i]).toBeNull();
      expect((got as { value: Buffer }).value, keys[i]).toEqual(Buffer.from([i % 256, 0xc1]));
      const ttl = (got as { ttlMs: number | undefined }).ttlMs;
      if (i % 3 === 1) expect(ttl, keys[i]).toBeUndefined();
      else expect(ttl, keys[i]).toBeGreaterThan(90_000);
    });
    expect(await store.getManyWithTtl?.([])).toEqual([]);
    if (raw.setWrongType === undefined || !backend().cluster) return;
    await raw.setWrongType(`${prefix}h`);
    const got = (await store.getManyWithTtl?.([keys[0] as string, `${prefix}h`, keys[1] as string])) ?? [];
    expect(got[0]).toMatchObject({ value: Buffer.from([0, 0xc1]) });
    expect(got[1]).toBeInstanceOf(StoreError);
    expect(got[2]).toEqual({ value: Buffer.from([1, 0xc1]), ttlMs: undefined });
  });

  it("setMany without a guard writes with and without expiry; delete counts what existed", async () => {
    const { store, raw } = backend();
    const prefix = uniquePrefix();
    const writes = Array.from({ length: 30 }, (_, i) => ({ key: `${prefix}w${i}`, value: Buffer.from([i, 0xc1]), ttlSeconds: i % 2 === 0 ? 0 : 100 }));
    expect(await store.setMany(writes, undefined)).toEqual(writes.map(() => "written"));
    expect(await raw.ttl(`${prefix}w0`)).toBe(-1);
    expect(await raw.ttl(`${prefix}w1`)).toBeGreaterThan(90);
    expect(await raw.get(`${prefix}w7`)).toEqual(Buffer.from([7, 0xc1]));
    expect(await store.delete(writes.map((w) => w.key).concat(`${prefix}absent`))).toBe(30);
    expect(await store.get(`${prefix}w3`)).toBeNull();
  });

  it("delete takes more keys in one call than one command can carry (200k standalone, 5000 per Cluster) and counts only those that existed", async () => {
    const { store, raw, cluster } = backend();
    const prefix = uniquePrefix();
    // Standalone, one DEL per 1000 keys (a single DEL of 200k arguments overflowed ioredis's stack); a Cluster sends
    // one DEL per key, 1000 per server and round trip.
    const keys = Array.from({ length: cluster ? 5000 : 200_000 }, (_, i) => `${prefix}d${i}`);
    const present = keys.filter((_, i) => i % 100 === 0);
    await raw.setMany(present.map((key) => ({ key, value: "x" })));
    expect(await store.delete(keys)).toBe(present.length);
    expect(await raw.get(present[present.length - 1] as string)).toBeNull();
  });
});
