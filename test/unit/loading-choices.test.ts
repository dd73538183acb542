import { describe, expect, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { withWrittenAt } from "../../src/accessor/entry-ops.js";
import { LoadChoices } from "../../src/accessor/load-context.js";
import type { LoadPolicy } from "../../src/accessor/loading-options.js";
import { redisTtlOf } from "../../src/accessor/loading.js";
import { freshOnly } from "../../src/accessor/read-options.js";
import { readHeader } from "../../src/envelope/header.js";
import { ConfigError, LoadContextError, type ProtocacheError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { MAX_TTL_SECONDS } from "../../src/validation/ttl.js";
import { envelope } from "../support/entries.js";

describe("a loader's TTL and grace in Redis, expire's written-at", () => {
  const policy = { ttlSeconds: 300, graceSeconds: 600, jitter: 0 } as LoadPolicy;

  it("a TTL shorter than the call's has no grace unless the loader sets one; the call's TTL or a longer one keeps the call's grace; 0 is no expiry", () => {
    expect(redisTtlOf("k", policy, undefined)).toBe(900);
    expect(redisTtlOf("k", policy, { ttlSeconds: 5 })).toBe(5);
    expect(redisTtlOf("k", policy, { ttlSeconds: 5, graceSeconds: 10 })).toBe(15);
    expect(redisTtlOf("k", policy, { ttlSeconds: 300 })).toBe(900);
    expect(redisTtlOf("k", policy, { ttlSeconds: 3600 })).toBe(4200);
    expect(redisTtlOf("k", policy, { graceSeconds: 0 })).toBe(300);
    expect(redisTtlOf("k", policy, { ttlSeconds: 0 })).toBe(0);
    expect(redisTtlOf("k", { ...policy, ttlSeconds: 0 }, { ttlSeconds: 5 })).toBe(5);
    const jittered = { ...policy, jitter: 0.1 };
    for (let i = 0; i < 100; i++) {
      const ttl = redisTtlOf(`user:v1:${i}`, jittered, { ttlSeconds: 10 });
      expect(ttl).toBeGreaterThanOrEqual(9);
      expect(ttl).toBeLessThanOrEqual(10);
    }
  });

  it("withWrittenAt replaces only the written-at of an envelope; undefined for no written-at, an absent marker, or bytes that are no envelope", () => {
    const payload = Buffer.from([0x0a, 0x01, 0x41]);
    const bytes = envelope(0x1234, payload, { writtenAt: 1_000 });
    const moved = withWrittenAt(bytes, 5_000_000) as Buffer;
    expect(readHeader(moved).writtenAt).toBe(5_000_000);
    expect(moved.subarray(13)).toEqual(payload);
    expect(moved.subarray(0, 7)).toEqual(bytes.subarray(0, 7));
    expect(readHeader(bytes).writtenAt).toBe(1_000); // the original is not changed
    expect(withWrittenAt(envelope(0x1234, payload), 5)).toBeUndefined();
    expect(withWrittenAt(envelope(0x1234, Buffer.alloc(0), { writtenAt: 1, flags: 0x10 }), 5)).toBeUndefined();
    expect(withWrittenAt(Buffer.from('{"id":"1"}'), 5)).toBeUndefined();
  });
});

describe("a loader's choices", () => {
  const choicesOf = (size = 3, writtenAt = true) => {
    const reported: ProtocacheError[] = [];
    return { choices: new LoadChoices("user:v1:1", size, writtenAt, (e) => reported.push(e)), reported };
  };

  it("nothing chosen is undefined (the hot path); an entry's own choice wins over the batch's, the last call of a kind counts", () => {
    const { choices } = choicesOf();
    expect(choices.of(0)).toBeUndefined();
    const all = choices.control();
    all.setTtl(60);
    all.setTtl(30);
    choices.entry(1).setTtl(5);
    choices.entry(1).setGrace(0);
    choices.entry(2).skip();
    expect(choices.of(0)).toMatchObject({ ttlSeconds: 30 });
    expect(choices.of(1)).toMatchObject({ ttlSeconds: 5, graceSeconds: 0 });
    expect(choices.of(2)).toMatchObject({ ttlSeconds: 30, skip: true });
  });

  it("a bad value throws a ConfigError naming the call and the range; grace needs written-at", () => {
    const { choices } = choicesOf(2, false);
    const control = choices.control();
    expect(() => control.setTtl(-1)).toThrow(ConfigError);
    expect(() => control.setTtl(1.5)).toThrow(/setTtl\(seconds\).*whole seconds from 0 to 315576000/);
    expect(() => control.setTtl("60" as never)).toThrow(/setTtl/);
    expect(() => control.setTtl(MAX_TTL_SECONDS + 1)).toThrow(/setTtl/);
    expect(() => control.setGrace(NaN)).toThrow(/setGrace\(seconds\)/);
    expect(() => control.setGrace(10)).toThrow(/setGrace.*writtenAt/);
    expect(() => control.setGrace(0)).not.toThrow();
    expect(() => choices.entry(2)).toThrow(/entry\(index\).*from 0 to 1/);
    expect(() => choices.entry(-1)).toThrow(ConfigError);
    expect(() => choices.entry(0).setTtl(-5)).toThrow(/entry\(0\)\.setTtl/);
  });

  it("after the loader settled, every call does nothing and is reported as a LoadContextError, never thrown", () => {
    const { choices, reported } = choicesOf();
    const control = choices.control();
    choices.close();
    expect(() => control.setTtl(5)).not.toThrow();
    expect(() => control.setTtl(-5)).not.toThrow();
    control.skip();
    choices.entry(9).setGrace(1);
    expect(choices.of(0)).toBeUndefined();
    expect(reported.length).toBe(5); // entry(9) and its setGrace are each reported
    expect(reported.every((e) => e instanceof LoadContextError)).toBe(true);
    expect(reported[0]?.message).toMatch(/setTtl\(\).*after its load settled/);
  });
});

describe("read and load options", () => {
  it("allowStale is checked: a misspelt or mistyped one is a ConfigError", async () => {
    expect(freshOnly(undefined)).toBe(false);
    expect(freshOnly({})).toBe(false);
    expect(freshOnly({ allowStale: false })).toBe(true);
    expect(() => freshOnly({ allowstale: false } as never)).toThrow(/did you mean allowStale/);
    expect(() => freshOnly({ allowStale: 0 } as never)).toThrow(/read options\.allowStale/);
    const users = userCache(new MemoryStore());
    await expect(users.get({ id: "a" }, { fresh: true } as never)).rejects.toThrow(ConfigError);
    await expect(users.getMany([{ id: "a" }], { allowStale: "no" } as never)).rejects.toThrow(ConfigError);
    await expect(users.has({ id: "a" }, { allowStale: 1 } as never)).rejects.toThrow(ConfigError);
  });

  it("backgroundCompletion and forceFresh are checked like every option", async () => {
    const store = new MemoryStore();
    expect(() => userCache(store, { loading: { backgroundCompletion: "yes" } as never })).toThrow(/loading\.backgroundCompletion/);
    expect(() => userCache(store, { loading: { backgroundCompletions: true } as never })).toThrow(/did you mean backgroundCompletion/);
    const users = userCache(store);
    await expect(users.getOrSet({ id: "a" }, () => undefined, { forceFresh: 1 } as never)).rejects.toThrow(/load options\.forceFresh/);
    await expect(users.getManyOrSet([{ id: "a" }], () => [undefined], { forcefresh: true } as never)).rejects.toThrow(/did you mean forceFresh/);
    await expect(users.deleteMany("a" as never)).rejects.toThrow(/deleteMany\(fields\)/);
    const small = userCache(store, { maxBatchKeys: 2 });
    await expect(small.deleteMany([{ id: "a" }, { id: "b" }, { id: "c" }])).rejects.toThrow(/over maxBatchKeys/);
  });
});
