import { describe, expect, it } from "vitest";
import { userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeAbsentMarker, encodeEnvelope } from "../../src/envelope/encode.js";
import { Flags, MAX_TAG_BYTES, MAX_TAGS } from "../../src/envelope/format.js";
import { readHeader } from "../../src/envelope/header.js";
import { ConfigError, DecodeError } from "../../src/errors.js";
import { encodeTags, parseState, scopeKeyOf, statePrefix, tagKeyOf } from "../../src/invalidation/tag-keys.js";
import { classifyHead } from "../../src/stores/head-class.js";
import { tagList } from "../../src/validation/tags.js";

const options = { writtenAt: true, writerTag: Buffer.from("svc"), compression: "none", compressMinBytes: 1024 } as const;
const value = { id: "u1", name: "n", email: "e", fullName: "", verified: true, locale: "en" };

describe("invalidation tags in the envelope", () => {
  it("round-trip after the writer tag, with written-at, in the order given; the payload still decodes", () => {
    const bytes = encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, options, 1_700_000_000_123, encodeTags(["shop:1", "ünï", "x"]));
    const header = readHeader(bytes);
    expect(header).toMatchObject({ writtenAt: 1_700_000_000_123, writerTag: "svc", tags: ["shop:1", "ünï", "x"], absent: false });
    expect((bytes[2] as number) & Flags.tags).toBe(Flags.tags);
    expect(classifyHead(bytes).kind).toBe("envelope");
  });

  it("an absent marker carries tags too", () => {
    const bytes = encodeAbsentMarker(userEntity.current.schemaId, options, 5, encodeTags(["a"]));
    expect(readHeader(bytes)).toMatchObject({ absent: true, tags: ["a"], writtenAt: 5 });
  });

  it("an entry without tags has none (tags undefined, flag clear)", () => {
    const bytes = encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, options, 1);
    expect(readHeader(bytes).tags).toBeUndefined();
  });

  it("tags without written-at, a count of 0 or over 32, a tag of 0 or over 128 bytes, and a cut-short list are DecodeErrors", () => {
    const base = encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { ...options, writerTag: undefined }, 1, encodeTags(["ab"]));
    const noWrittenAt = Buffer.from(base);
    noWrittenAt[2] = Flags.tags;
    expect(() => readHeader(noWrittenAt)).toThrow(/tags without written-at/);
    const at = 7 + 6; // the count byte
    const zero = Buffer.from(base);
    zero[at] = 0;
    expect(() => readHeader(zero)).toThrow(DecodeError);
    const many = Buffer.from(base);
    many[at] = MAX_TAGS + 1;
    expect(() => readHeader(many)).toThrow(/33 tags/);
    const empty = Buffer.from(base);
    empty[at + 1] = 0;
    expect(() => readHeader(empty)).toThrow(/bad-tags/);
    const long = Buffer.from(base);
    long[at + 1] = MAX_TAG_BYTES + 1;
    expect(() => readHeader(long)).toThrow(DecodeError);
    expect(() => readHeader(base.subarray(0, at + 2))).toThrow(/truncated/);
  });
});

describe("tag lists (the one validation module)", () => {
  const check = tagList();
  it("drops duplicates, keeps order", () => {
    expect(check(["b", "a", "b"], "tags")).toEqual(["b", "a"]);
  });
  it.each([
    ["not an array", "t"],
    ["empty", []],
    ["an empty tag", [""]],
    ["a number", [1]],
    ["a lone surrogate", ["a\uD800"]],
    ["129 bytes", ["x".repeat(129)]],
    ["33 tags", Array.from({ length: 33 }, (_, i) => `t${i}`)],
  ])("refuses %s with a ConfigError naming the option", (_, tags) => {
    expect(() => check(tags, "tags")).toThrow(ConfigError);
    expect(() => check(tags, "tags")).toThrow(/invalid option tags/);
  });
});

describe("state keys", () => {
  it("a tag's key is escaped (no ':', glob or brace), a key space's always has ':', and both start with the tracked prefix", () => {
    expect(tagKeyOf("app:", "shop:{1}*")).toBe("app:tag:shop%3A%7B1%7D%2A");
    expect(scopeKeyOf("app:", "app:user:v1:")).toBe("app:tag:user:v1:");
    expect(tagKeyOf("app:", "x").startsWith(statePrefix("app:"))).toBe(true);
  });
  it("a state is epoch milliseconds; absent is -Infinity; anything else is damage (undefined)", () => {
    expect(parseState(Buffer.from("1700000000000"))).toBe(1_700_000_000_000);
    expect(parseState(null)).toBe(-Infinity);
    for (const bad of ["", "12a", "-5", "1e5", "9".repeat(21)]) expect(parseState(Buffer.from(bad))).toBeUndefined();
  });
});
