import { describe, expect, it } from "vitest";
import { userCache, userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { defineEntity } from "../../src/accessor/entity.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { ConfigError } from "../../src/errors.js";
import { MAX_TTL_SECONDS } from "../../src/index.js";
import type { User } from "../../generated/acme/user/v1/user.cache.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";

const store = new MemoryStore();
const make = (options: unknown) => () => userCache(store, options as AccessorOptions<User>);

describe("accessor options", () => {
  it("accepts defaults and every valid option", () => {
    expect(make(undefined)).not.toThrow();
    expect(
      make({
        prefix: "app:", variant: "eu", ttlSeconds: 0, writerTag: "api@1.2.3", writtenAt: false,
        compression: { algorithm: "brotli", minBytes: 10 }, maxPayloadBytes: 1024, onOlderRevision: "miss",
        minRevision: 2, deleteRejected: true, deleteCorrupt: true, writeBack: true, guardWrites: false, onGuarded: "keep",
        legacy: () => undefined, rewriteLegacy: true, onStoreError: "throw", onError: () => {}, deadlineMs: 0, maxKeyBytes: 2048, maxBatchKeys: 10,
        maxReadWork: 2_000_000, maxBatchWork: 2_000_000,
      }),
    ).not.toThrow();
  });

  it.each([
    [{ prefx: "typo" }, "prefx", /unknown option/],
    [null, "options", /expected an object/],
    [{ prefix: "a*" }, "prefix", /may not contain/],
    [{ prefix: 3 }, "prefix", /expected a string/],
    [{ variant: "" }, "variant", /may not be empty/],
    [{ ttlSeconds: -1 }, "ttlSeconds", /whole seconds/],
    [{ ttlSeconds: 1.5 }, "ttlSeconds", /whole seconds/],
    [{ ttlSeconds: 2 ** 53 - 1 }, "ttlSeconds", /expected whole seconds from 0 to 315576000 \(10 years; 0: no expiry\), got number 9007199254740991/],
    [{ ttlSeconds: 315_576_001 }, "ttlSeconds", /whole seconds from 0 to 315576000/],
    [{ loading: { graceSeconds: 315_576_001 } }, "loading.graceSeconds", /expected whole seconds from 0 to 315576000 \(10 years; 0: no grace\), got number 315576001/],
    [{ loading: { absentTtlSeconds: 2 ** 53 - 1 } }, "loading.absentTtlSeconds", /expected whole seconds from 0 to 315576000 \(10 years; 0: absent markers are not written\)/],
    [{ writerTag: "x".repeat(65) }, "writerTag", /1 to 64 UTF-8 bytes/],
    [{ writerTag: "é".repeat(33) }, "writerTag", /got 66/],
    [{ writtenAt: "yes" }, "writtenAt", /true or false/],
    [{ compression: "gzip" }, "compression", /expected an object/],
    [{ compression: { algorithm: "zstd" } }, "compression.algorithm", /"gzip", "brotli"/],
    [{ compression: { algorithm: "gzip", minBytes: -1 } }, "compression.minBytes", /whole number from 0/],
    [{ maxPayloadBytes: 0 }, "maxPayloadBytes", /whole number from 1 to/],
    [{ maxPayloadBytes: 2 ** 40 }, "maxPayloadBytes", /whole number from 1 to/],
    [{ compression: { algorithm: "gzip", minbytes: 10 } }, "compression.minbytes", /unknown option/],
    [{ minRevision: 3 }, "minRevision", /at revision 2; minRevision 3 would reject every entry/],
    [{ onOlderRevision: "drop" }, "onOlderRevision", /"upgrade", "miss"/],
    [{ minRevision: 0 }, "minRevision", /whole number from 1/],
    [{ legacy: "json" }, "legacy", /expected a function/],
    [{ legacy: { key: () => "x", prefix: "old:" } }, "legacy", /either key or prefix/],
    [{ legacy: { keys: () => "x" } }, "legacy.keys", /unknown option/],
    [{ legacy: { read: "json" } }, "legacy.read", /expected a function/],
    [{ legacy: { deleteOld: "yes" } }, "legacy.deleteOld", /true or false/],
    [{ legacy: { prefix: "old\uD800" } }, "legacy.prefix", /not well-formed Unicode/],
    [{ previousMajor: "off" }, "previousMajor", /has no migrates_from/],
    [{ previousMajor: "both" }, "previousMajor", /"read-through", "dual-write", "off"/],
    [{ onStoreError: "ignore" }, "onStoreError", /"miss", "throw"/],
    [{ onGuarded: "overwrite" }, "onGuarded", /"delete", "keep"/],
    [{ deadlineMs: -1 }, "deadlineMs", /whole number from 0 to 600000/],
    [{ deadlineMs: 2.5 }, "deadlineMs", /whole number from 0 to 600000/],
    [{ deadlineMs: "100" }, "deadlineMs", /whole number from 0 to 600000/],
    [{ deadlineMs: 3_600_000 }, "deadlineMs", /whole number from 0 to 600000/],
    [{ maxReadWork: 0 }, "maxReadWork", /whole number from 1 to 1000000000/],
    [{ maxReadWork: 1.5 }, "maxReadWork", /whole number from 1 to 1000000000/],
    [{ maxReadWork: "1000" }, "maxReadWork", /whole number from 1 to 1000000000/],
    [{ maxReadWork: 2e9 }, "maxReadWork", /whole number from 1 to 1000000000/],
    [{ maxBatchWork: -1 }, "maxBatchWork", /whole number from 1 to 1000000000/],
    [{ maxBatchWork: 1000, maxReadWork: 2000 }, "maxBatchWork", /1000 is below maxReadWork \(2000\): a batch must afford at least one read/],
    [{ maxBatchWork: 1000 }, "maxBatchWork", /1000 is below maxReadWork \(524288\)/],
    [{ prefix: "app" }, "prefix", /must end with ":"/],
    [{ prefix: "session:v1:" }, "prefix", /may not contain the segment "v1"/],
    [{ prefix: "app:\uD800:" }, "prefix", /not well-formed Unicode \(lone surrogate at index 4\)/],
    [{ variant: "eu\uDC00" }, "variant", /not well-formed Unicode/],
    [{ writerTag: "api\uD800" }, "writerTag", /not well-formed Unicode/],
  ])("rejects %j with a ConfigError on %s", (options, option, message) => {
    try {
      make(options)();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).option).toBe(option);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("validates the stores' options (compare mode)", () => {
    const client = { sendCommand: async () => null, withTypeMapping: () => client };
    expect(() => new NodeRedisStore(client, { compare: "lua" })).not.toThrow();
    expect(() => new NodeRedisStore(client, { compare: "ifeq" } as never)).toThrow(/store options.compare: expected one of "auto", "lua"/);
    expect(() => new NodeRedisStore(client, { comapre: "lua" } as never)).toThrow(/store options.comapre: unknown option/);
  });

  it.each([
    ['invalid option ttlSeconds: expected whole seconds from 0 to 315576000 (10 years; 0: no expiry), got string "60"', { ttlSeconds: "60" }],
    ['invalid option deadlineMs: expected a whole number from 0 to 600000, got string "100"', { deadlineMs: "100" }],
    ["invalid option options: expected an object, got array []", []],
    ['invalid option writtenAt: expected true or false, got string "yes"', { writtenAt: "yes" }],
    ["invalid option prefix: expected a string, got number 3", { prefix: 3 }],
    ['invalid option onStoreError: expected one of "miss", "throw", got null', { onStoreError: null }],
    ["invalid option legacy: expected a function (a reader) or an object like { key, read }, got number 5", { legacy: 5 }],
    ["invalid option compression.minBytes: expected a whole number from 0 to 9007199254740991, got bigint 10n", { compression: { algorithm: "gzip", minBytes: 10n } }],
  ])("says %s", (message, options) => {
    try {
      make(options)();
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(message);
    }
  });

  it("caps the value an error message shows (a 100 000-character option costs a short message)", () => {
    try {
      make({ onOlderRevision: "x".repeat(100_000) })();
      expect.unreachable();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain(`got string "${"x".repeat(100)}"…(100000 bytes)`);
      expect(message.length).toBeLessThan(250);
    }
  });

  it("validates the per-write TTL", async () => {
    const users = userCache(store);
    const user = { id: "1", name: "", email: "", fullName: "", verified: false, locale: "" };
    await expect(users.set(user, { ttlSeconds: -5 })).rejects.toThrow(ConfigError);
    await expect(users.set(user, { ttl: 5 } as never)).rejects.toThrow(/write options.ttl: unknown option/);
    await expect(users.set(user, { ttlSeconds: 5 })).resolves.toBe("written");
  });

  it("bounds every TTL by MAX_TTL_SECONDS (10 years): the accessor's, a write's, a load call's ttlSeconds, graceSeconds and absentTtlSeconds; the bound itself is taken", async () => {
    expect(MAX_TTL_SECONDS).toBe(10 * 365.25 * 86_400);
    const user = { id: "1", name: "", email: "", fullName: "", verified: false, locale: "" };
    // A stopped clock: the TTL read back below is exact only if no millisecond passes between the write and the read.
    const memory = new MemoryStore({ now: () => 1_767_225_600_000 });
    const users = userCache(memory, { ttlSeconds: MAX_TTL_SECONDS, loading: { graceSeconds: MAX_TTL_SECONDS, absentTtlSeconds: MAX_TTL_SECONDS, jitter: 0 } });
    await expect(users.set(user, { ttlSeconds: 2 ** 53 - 1 })).rejects.toThrow(/invalid option write options.ttlSeconds: expected whole seconds from 0 to 315576000 \(10 years; 0: no expiry\)/);
    await expect(users.setMany([user], { ttlSeconds: MAX_TTL_SECONDS + 1 })).rejects.toThrow(/write options.ttlSeconds/);
    for (const [option, zero] of [["ttlSeconds", "no expiry"], ["graceSeconds", "no grace"], ["absentTtlSeconds", "absent markers are not written"]] as const) {
      await expect(users.getOrSet({ id: "1" }, () => user, { [option]: MAX_TTL_SECONDS + 1 })).rejects.toThrow(`invalid option load options.${option}: expected whole seconds from 0 to 315576000 (10 years; 0: ${zero}), got number 315576001`);
      await expect(users.getManyOrSet([{ id: "1" }], () => [user], { [option]: 2 ** 53 - 1 })).rejects.toThrow(`load options.${option}`);
    }
    expect(memory.size).toBe(0);
    // At the bound: the stored TTL is fresh TTL + grace, 20 years, exact in milliseconds.
    await expect(users.set(user)).resolves.toBe("written");
    expect(memory.pttl("user:v1:1")).toBe(2 * MAX_TTL_SECONDS * 1000);
  });

  it("refuses an entity definition whose ttl_seconds is over MAX_TTL_SECONDS (the generator refuses to write one)", () => {
    expect(() => defineEntity({ ...userEntity, ttlSeconds: MAX_TTL_SECONDS + 1 })).toThrow(
      "invalid option ttl_seconds of acme.user.v1.User: expected whole seconds from 0 to 315576000 (10 years; 0: no expiry), got number 315576001",
    );
    expect(defineEntity({ ...userEntity, ttlSeconds: MAX_TTL_SECONDS }).ttlSeconds).toBe(MAX_TTL_SECONDS);
  });

  it("rejects per-call options that are not an object with a ConfigError, not a TypeError", async () => {
    const users = userCache(store);
    const user = { id: "1", name: "", email: "", fullName: "", verified: false, locale: "" };
    for (const bad of [null, 5, "ttl", [60]]) {
      await expect(users.set(user, bad as never)).rejects.toThrow(ConfigError);
      await expect(users.setMany([user], bad as never)).rejects.toThrow(/invalid option write options: expected an object/);
    }
    await expect(users.getMany({ id: "1" } as never)).rejects.toThrow(ConfigError);
    await expect(users.setMany(user as never)).rejects.toThrow(/invalid option setMany\(values\): expected an array/);
  });

  it("rejects a batch over maxBatchKeys (default 100 000) with a ConfigError before any work; the option is validated", async () => {
    const users = userCache(store);
    const user = (id: string) => ({ id, name: "", email: "", fullName: "", verified: false, locale: "" });
    await expect(users.getMany(Array.from({ length: 100_001 }, (_, i) => ({ id: `${i}` })))).rejects.toThrow(
      /invalid option getMany\(fields\): 100001 entries, over maxBatchKeys \(100000\): split the batch, or raise maxBatchKeys/,
    );
    expect(await users.getMany(Array.from({ length: 100_000 }, (_, i) => ({ id: `${i}` })))).toHaveLength(100_000);
    const empty = new MemoryStore();
    const small = userCache(empty, { maxBatchKeys: 10 });
    await expect(small.setMany(Array.from({ length: 11 }, (_, i) => user(`${i}`)))).rejects.toThrow(/setMany\(values\): 11 entries, over maxBatchKeys \(10\)/);
    expect(empty.size).toBe(0);
    for (const bad of [0, 1.5, "5", 10_000_001]) expect(make({ maxBatchKeys: bad })).toThrow(/invalid option maxBatchKeys: expected a whole number from 1 to 10000000/);
  });

  it("rejects a missing or wrong store with a ConfigError naming the fix", () => {
    expect(() => userCache(undefined as never)).toThrow(/invalid option store: expected a RedisStore, NodeRedisStore, GlideStore or MemoryStore, got undefined/);
    expect(() => userCache(null as never)).toThrow(ConfigError);
    expect(() => userCache({ get: () => null } as never)).toThrow(/an object without the CacheStore methods/);
    expect(() => userCache({ getBuffer: () => null } as never)).toThrow(/new RedisStore\(client\)/);
    expect(() => userCache({ sendCommand: () => null } as never)).toThrow(/new NodeRedisStore\(client\)/);
  });
});
