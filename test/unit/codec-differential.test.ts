import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeSession, encodeSession, sessionEntity, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { decodeUser, encodeUser, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { schemaDecoder } from "../support/descriptors.js";
import { Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { sessionArb, userArb } from "../support/arbitraries.js";
import { generateTsProtoCodec } from "../support/tsproto-full.js";

interface TsProtoCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

const writer = new Writer(64);
function ours<T>(encode: (w: Writer, v: T) => void, value: T): Buffer {
  writer.reset();
  encode(writer, value);
  return writer.copy();
}
function oursDecode<T>(decode: (r: Reader, end: number) => T, bytes: Uint8Array): T {
  const buf = Buffer.from(bytes);
  return decode(new Reader(buf), buf.length);
}

/** ts-proto's decoder leaves an empty `_unknownFields: {}` where ours leaves none. */
function withoutEmptyUnknown<T>(value: T): T {
  if (value instanceof Map) for (const v of value.values()) withoutEmptyUnknown(v);
  else if (Array.isArray(value)) value.forEach(withoutEmptyUnknown);
  else if (typeof value === "object" && value !== null && !(value instanceof Uint8Array)) {
    const v = value as { _unknownFields?: object } & Record<string, unknown>;
    if (v._unknownFields !== undefined && Object.keys(v._unknownFields).length === 0) delete v._unknownFields;
    for (const child of Object.values(v)) withoutEmptyUnknown(child);
  }
  return value;
}

let tsUser: TsProtoCodec<User>;
let tsSession: TsProtoCodec<Session>;

beforeAll(async () => {
  const dir = generateTsProtoCodec("differential");
  tsUser = ((await import(`${dir}/acme/user/v1/user.ts`)) as { User: TsProtoCodec<User> }).User;
  tsSession = ((await import(`${dir}/acme/session/v1/session.ts`)) as { Session: TsProtoCodec<Session> }).Session;
}, 60_000);

/** One message's codecs with the type erased, so both messages run through the same tests. */
interface CodecCase {
  readonly name: string;
  readonly arb: fc.Arbitrary<unknown>;
  readonly encode: (w: Writer, v: unknown) => void;
  readonly decode: (r: Reader, end: number) => unknown;
  readonly id: number;
  readonly ts: () => TsProtoCodec<unknown>;
}

function codecCase<T>(name: string, arb: fc.Arbitrary<T>, encode: (w: Writer, v: T) => void, decode: (r: Reader, end: number) => T, id: number, ts: () => TsProtoCodec<T>): CodecCase {
  return { name, arb, encode: encode as (w: Writer, v: unknown) => void, decode, id, ts: ts as () => TsProtoCodec<unknown> };
}

describe.each([
  codecCase("User", userArb, encodeUser, decodeUser, userEntity.current.schemaId, () => tsUser),
  codecCase("Session", sessionArb, encodeSession, decodeSession, sessionEntity.current.schemaId, () => tsSession),
])("generated $name codec", ({ arb, encode, decode, id, ts }) => {
  it("round-trips every value", () => {
    fc.assert(
      fc.property(arb, (value) => {
        expect(oursDecode(decode, ours(encode, value))).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  it("agrees with ts-proto's own codec in both directions", () => {
    fc.assert(
      fc.property(arb, (value) => {
        const codec = ts();
        expect(withoutEmptyUnknown(codec.decode(new Uint8Array(ours(encode, value))))).toEqual(value);
        expect(oursDecode(decode, codec.encode(value).finish())).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with protobufjs built from the lock's descriptors in both directions", () => {
    const type = schemaDecoder.typeOf(id);
    fc.assert(
      fc.property(arb, (value) => {
        // protobufjs reads our bytes and writes them back in its own way; we read that back to the same value.
        const reencoded = type.encode(type.decode(ours(encode, value))).finish();
        expect(oursDecode(decode, reencoded)).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe("unknown fields", () => {
  it("are preserved by a reader that does not know them and written back unchanged", () => {
    // Session bytes decoded as User: fields 4..16 are unknown to User except 4,5,6 (wire-compatible or not).
    const extra = Buffer.from([0xa2, 0x06, 0x03, 0x61, 0x62, 0x63, 0xa8, 0x06, 0x2a]); // field 100 "abc", field 101 = 42
    const user = { id: "u1", name: "n", email: "e", fullName: "f", verified: true, locale: "l" };
    const bytes = Buffer.concat([ours(encodeUser, user), extra]);
    const decoded = oursDecode(decodeUser, bytes);
    expect(decoded._unknownFields).toEqual({ 802: [Uint8Array.from([0x03, 0x61, 0x62, 0x63])], 808: [Uint8Array.from([0x2a])] });
    expect(ours(encodeUser, decoded).toString("hex")).toBe(bytes.toString("hex"));
    const theirs = tsUser.decode(bytes)._unknownFields ?? {};
    expect(Object.fromEntries(Object.entries(theirs).map(([k, v]) => [k, v.map((b) => Uint8Array.from(b))]))).toEqual(decoded._unknownFields);
  });
});
