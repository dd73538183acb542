import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { ConfigError, KeyError } from "../../src/errors.js";
import { escapeKeyPart, keyBase, loneSurrogateAt, scanPattern, splitKeyParts, unescapeKeyPart, validateEntityName, validatePrefix } from "../../src/keys.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

const forbidden = /[:*?[\]\\{}]/;

describe("key part escaping", () => {
  it("round-trips any string exactly", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (part) => {
        expect(unescapeKeyPart(escapeKeyPart(part))).toBe(part);
      }),
      { numRuns: 3000 },
    );
  });

  it("never leaves a separator, glob character or brace in a part", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...":*?[]\\{}%ab") }), (part) => {
        expect(forbidden.test(escapeKeyPart(part))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it("leaves plain parts untouched and escapes the rest readably", () => {
    expect(escapeKeyPart("user-42_x.y")).toBe("user-42_x.y");
    expect(escapeKeyPart("a:b*{c}%")).toBe("a%3Ab%2A%7Bc%7D%25");
  });

  it("splits a composite key back into its original parts", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: "binary" }), { minLength: 1, maxLength: 4 }), (parts) => {
        expect(splitKeyParts(parts.map(escapeKeyPart).join(":"))).toEqual(parts);
      }),
    );
  });
});

describe("keys of generated accessors", () => {
  const store = new MemoryStore();

  it("follow {prefix}{entity}:v{major}[:{variant}]:{parts}", () => {
    expect(userCache(store).keyOf({ id: "42" })).toBe("user:v1:42");
    expect(userCache(store, { prefix: "app:", variant: "arm-b" }).keyOf({ id: "a:b" })).toBe("app:user:v1:arm-b:a%3Ab");
    expect(sessionCache(store).keyOf({ tenantId: "t{1}", sessionId: "s*" })).toBe("session:v1:t%7B1%7D:s%2A");
    expect(keyBase("", "user", 2, undefined)).toBe("user:v2:");
    expect(scanPattern("app:", "user", 1)).toBe("app:user:v1:*");
  });

  it("reject bad key fields with a KeyError naming entity and field", () => {
    const users = userCache(store);
    expect(() => users.keyOf({ id: "" })).toThrow(KeyError);
    expect(() => users.keyOf({ id: 42 as unknown as string })).toThrow(/acme.user.v1.User key field "id": expected a string, got number 42/);
    expect(() => users.keyOf(undefined as unknown as { id: string })).toThrow(KeyError);
    expect(() => sessionCache(store).keyOf({ tenantId: "t" } as never)).toThrow(/key field "sessionId": expected a string, got undefined$/);
    expect(() => users.keyOf({ id: ["1"] as unknown as string })).toThrow(/key field "id": expected a string, got array \[ '1' \]$/);
    expect(() => users.keyOf(null as unknown as { id: string })).toThrow(/key field "id": expected an object with the key fields, got null$/);
  });

  it("range-check integer key parts the way the codec would store them", async () => {
    const { keyBigint, keyInt, KeyPartError } = await import("../../src/keys.js");
    expect(keyInt(-5, "n")).toBe("-5");
    expect(keyInt(0xffff_ffff, "n")).toBe("4294967295");
    expect(() => keyInt(1e21, "n")).toThrow(KeyPartError);
    expect(() => keyInt(1.5, "n")).toThrow(KeyPartError);
    expect(keyBigint(-(2n ** 63n), "n")).toBe("-9223372036854775808");
    expect(() => keyBigint(2n ** 64n, "n")).toThrow(KeyPartError);
    expect(() => keyBigint(5, "n")).toThrow(/expected a 64-bit bigint, got number 5/);
  });

  it("reject prefixes that could match other keys or pick a cluster slot", () => {
    for (const bad of ["a*:", "a?:", "[x]:", "{tag}:", "back\\slash:"]) expect(() => validatePrefix(bad)).toThrow(ConfigError);
    expect(validatePrefix("app:2:")).toBe("app:2:");
    expect(validatePrefix("")).toBe("");
  });
});

describe("exact keys (issue 8.3, 8.6)", () => {
  const store = new MemoryStore();

  it("rejects lone surrogates in key parts: two such ids would share one Redis key", () => {
    const users = userCache(store);
    // The client encodes every lone surrogate as U+FFFD: these three were one key.
    expect(Buffer.from("a\uD800")).toEqual(Buffer.from("a\uFFFD"));
    expect(() => users.keyOf({ id: "a\uD800" })).toThrow(/key field "id": is not well-formed Unicode \(lone surrogate at index 1\)/);
    expect(() => users.keyOf({ id: "a\uDC00" })).toThrow(KeyError);
    expect(() => users.keyOf({ id: "\uDE00\uD83D" })).toThrow(KeyError);
    expect(users.keyOf({ id: "a\uFFFD" })).toBe("user:v1:a\uFFFD");
    expect(users.keyOf({ id: "a\uD83D\uDE00" })).toBe("user:v1:a\uD83D\uDE00");
  });

  it("never maps two different key inputs to the same key bytes (random Unicode, lone surrogates included)", () => {
    const unit = fc.oneof(
      fc.constantFrom("a", ":", "%", "{", "}", "*", "\uFFFD", "\uD800", "\uDC00", "\uD83D\uDE00", "é"),
      fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    );
    const part = fc.array(unit, { minLength: 1, maxLength: 6 }).map((units) => units.join(""));
    const sessions = sessionCache(store);
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(part, part), { minLength: 2, maxLength: 40, selector: ([a, b]) => `${a}\u0000${b}` }), (inputs) => {
        const seen = new Map<string, string>();
        for (const [tenantId, sessionId] of inputs) {
          let key: string;
          try {
            key = sessions.keyOf({ tenantId, sessionId });
          } catch (error) {
            expect(error).toBeInstanceOf(KeyError);
            expect(loneSurrogateAt(tenantId) >= 0 || loneSurrogateAt(sessionId) >= 0).toBe(true);
            continue;
          }
          const bytes = Buffer.from(key, "utf8").toString("hex");
          const input = `${tenantId}\u0000${sessionId}`;
          expect(seen.get(bytes) ?? input).toBe(input);
          seen.set(bytes, input);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("a prefix cannot make one entity's keys another's: `session:v1:` on User vs Session with variant `user`", () => {
    // Before: both were "session:v1:user:v1:42".
    expect(sessionCache(store, { variant: "user" }).keyOf({ tenantId: "v1", sessionId: "42" })).toBe("session:v1:user:v1:42");
    expect(() => userCache(store, { prefix: "session:v1:" })).toThrow(ConfigError);
    expect(() => userCache(store, { prefix: "session" })).toThrow(/must end with ":"/);
  });

  it("every accepted prefix, entity, major, variant and parts parse back from the key alone", () => {
    const segment = fc.oneof(fc.constantFrom("v1", "v22", "app", "user", "session", "", "v", "vx1"), fc.string({ maxLength: 4 }));
    const entity = fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/);
    const config = fc.record({
      prefix: fc.array(segment, { maxLength: 3 }).map((s) => s.map((x) => `${x}:`).join("")),
      entity,
      major: fc.integer({ min: 1, max: 30 }),
      variant: fc.option(fc.string({ minLength: 1, maxLength: 4 }), { nil: undefined }),
      parts: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(config, (c) => {
        try {
          validatePrefix(c.prefix);
          validateEntityName(c.entity, "T");
        } catch (error) {
          expect(error).toBeInstanceOf(ConfigError);
          return;
        }
        const key = keyBase(c.prefix, c.entity, c.major, c.variant) + c.parts.map(escapeKeyPart).join(":");
        expect(parseKey(key, c.parts.length)).toEqual({ ...c, variant: c.variant });
      }),
      { numRuns: 3000 },
    );
  });
});

/** Reads a key back knowing only its entity's number of parts: the first `v<digits>` segment is the major. */
function parseKey(key: string, partCount: number): { prefix: string; entity: string; major: number; variant: string | undefined; parts: string[] } {
  const segments = key.split(":");
  const m = segments.findIndex((s, i) => i > 0 && /^v[0-9]+$/.test(s));
  const rest = segments.slice(m + 1);
  return {
    prefix: segments.slice(0, m - 1).map((s) => `${s}:`).join(""),
    entity: segments[m - 1] as string,
    major: Number((segments[m] as string).slice(1)),
    variant: rest.length > partCount ? unescapeKeyPart(rest[0] as string) : undefined,
    parts: rest.slice(rest.length - partCount).map(unescapeKeyPart),
  };
}

describe("key size (maxKeyBytes) and keys in error messages", () => {
  /** A MemoryStore that counts every call: a rejected key must cost no I/O. */
  function countingStore(): { store: MemoryStore; calls: () => number } {
    const store = new MemoryStore();
    let calls = 0;
    for (const method of ["get", "getMany", "set", "setMany", "delete", "replaceIfEqual", "deleteIfEqual"] as const) {
      const original = store[method].bind(store) as (...args: unknown[]) => unknown;
      (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        calls++;
        return original(...args);
      };
    }
    return { store, calls: () => calls };
  }
  const user = (id: string) => ({ id, name: "", email: "", fullName: "", verified: false, locale: "" });

  it("rejects a key over maxKeyBytes (default 1024 UTF-8 bytes, escapes counted) with a short KeyError before any I/O", async () => {
    const { store, calls } = countingStore();
    const users = userCache(store);
    const huge = "x".repeat(10 * 1024 * 1024);
    for (const attempt of [() => users.get({ id: huge }), () => users.set(user(huge)), () => users.getMany([{ id: "a" }, { id: huge }]), () => users.setMany([user("a"), user(huge)]), () => users.delete({ id: huge })]) {
      const error = await attempt().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(KeyError);
      expect((error as Error).message).toMatch(/key field "id": makes the key \d+ bytes, over maxKeyBytes \(1024\)/);
      expect((error as Error).message.length).toBeLessThan(200);
    }
    expect(calls()).toBe(0);
    expect(users.keyOf({ id: "x".repeat(1024 - "user:v1:".length) })).toHaveLength(1024);
    expect(() => users.keyOf({ id: "x".repeat(1025 - "user:v1:".length) })).toThrow(KeyError);
    // 400 colons escape to 1200 bytes; 400 euro signs are 1200 UTF-8 bytes.
    expect(() => users.keyOf({ id: ":".repeat(400) })).toThrow(/makes the key 1208 bytes, over maxKeyBytes \(1024\)/);
    expect(() => users.keyOf({ id: "€".repeat(400) })).toThrow(/makes the key 1208 bytes/);
    expect(() => sessionCache(store).keyOf({ tenantId: "t".repeat(600), sessionId: "s".repeat(600) })).toThrow(/key field "tenantId, sessionId": makes the key 1212 bytes/);
  });

  it("maxKeyBytes is configurable per accessor and validated", () => {
    const store = new MemoryStore();
    expect(userCache(store, { maxKeyBytes: 4096 }).keyOf({ id: "x".repeat(3000) })).toHaveLength(3008);
    expect(() => userCache(store, { maxKeyBytes: 16 }).keyOf({ id: "x".repeat(9) })).toThrow(/over maxKeyBytes \(16\)/);
    for (const bad of [0, -1, 1.5, "1024", 65_537, Infinity]) {
      expect(() => userCache(store, { maxKeyBytes: bad as number })).toThrow(/invalid option maxKeyBytes: expected a whole number from 1 to 65536/);
    }
    expect(() => userCache(store, { maxKeyBytes: 12, prefix: "app:" })).toThrow(/invalid option maxKeyBytes: 12 bytes leave no room for a key part after "app:user:v1:" \(12 bytes\)/);
  });

  it("error messages show at most the first 100 characters of a key and its size", async () => {
    const { EncodeError, StoreError, LegacyReaderError, StoreTimeoutError } = await import("../../src/errors.js");
    const long = `user:v1:${"k".repeat(10 * 1024 * 1024)}`;
    const shown = `${long.slice(0, 100)}…(${long.length} bytes)`;
    for (const error of [
      new StoreError("GET", long, { cause: new Error("boom") }),
      new StoreTimeoutError("GET", long, 200),
      new EncodeError("acme.user.v1.User", long, "bad"),
      new LegacyReaderError(long, new Error("bad")),
    ]) {
      expect(error.message).toContain(shown);
      expect(error.message.length).toBeLessThan(300);
      expect((error as { key?: string }).key).toBe(long);
    }
    // Through an accessor: a key under the limit but longer than 100 characters.
    const users = userCache(new MemoryStore(), { maxKeyBytes: 4096 });
    const error = await users.set({ ...user("y".repeat(1000)), verified: "no" as unknown as boolean }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EncodeError);
    expect((error as Error).message).toContain(`for user:v1:${"y".repeat(92)}…(1008 bytes): field verified`);
  });
});
