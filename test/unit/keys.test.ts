import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { ConfigError, KeyError } from "../../src/errors.js";
import { escapeKeyPart, keyBase, scanPattern, splitKeyParts, unescapeKeyPart, validatePrefix } from "../../src/keys.js";
import { MemoryStore } from "../../src/stores/memory-store.js";

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
    expect(() => sessionCache(store).keyOf({ tenantId: "t" } as never)).toThrow(/key field "sessionId": expected a string, got undefined/);
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
    for (const bad of ["a*", "a?", "[x]", "{tag}", "back\\slash"]) expect(() => validatePrefix(bad)).toThrow(ConfigError);
    expect(validatePrefix("app:v2:")).toBe("app:v2:");
  });
});
