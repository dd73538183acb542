import { describe, expect, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { withWrittenAt, writtenAtFor } from "../../src/accessor/adaptive-ttl.js";
import { freshMsOf, freshnessOf } from "../../src/accessor/freshness.js";
import { LoadChoices } from "../../src/accessor/load-context.js";
import { freshOnly } from "../../src/accessor/read-options.js";
import { readHeader } from "../../src/envelope/header.js";
import { ConfigError, LoadContextError, type ProtocacheError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { MAX_TTL_SECONDS } from "../../src/validation/ttl.js";
import { envelope } from "../support/entries.js";

describe("a loader's fresh TTL through the written-at", () => {
  it("a reader measuring with its own TTL sees the entry fresh for the loader's TTL (jittered alike), then stale, for shorter and longer TTLs", () => {
    const now = 1_700_000_000_000;
    for (const [reader, entry] of [[300, 5], [300, 1], [60, 3600], [10, 10]] as const) {
      for (const jitter of [0, 0.1, 0.5]) {
        for (let i = 0; i < 50; i++) {
          const key = `user:v1:${i}`;
          const at = writtenAtFor(key, now, reader, entry, jitter);
          const fresh = freshMsOf(key, entry, jitter);
          const readerMs = freshMsOf(key, reader, jitter);
          expect(freshnessOf(at, now + fresh - 2, readerMs, 0, undefined)).toBe("fresh");
          expect(freshnessOf(at, now + fresh + 2, readerMs, 60, undefined)).toBe("stale");
        }
      }
    }
  });

  it("is now itself for the reader's own TTL or a reader TTL of 0; an entry TTL of 0 (no expiry) reads fresh for over 10 years", () => {
    const now = 1_700_000_000_000;
    expect(writtenAtFor("k", now, 300, 300, 0.1)).toBe(now);
    expect(writtenAtFor("k", now, 0, 5, 0.1)).toBe(now);
    const forever = writtenAtFor("k", now, 300, 0, 0.1);
    expect(freshnessOf(forever, now + MAX_TTL_SECONDS * 1000, freshMsOf("k", 300, 0.1), 0, undefined)).toBe("fresh");
    expect(forever).toBeLessThan(2 ** 48);
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
