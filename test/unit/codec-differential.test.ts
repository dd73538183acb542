import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeSession, encodeSession, sessionEntity, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { decodeUser, encodeUser, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { schemaDecoder } from "../support/descriptors.js";
import type { Reader } from "../../src/codec/reader.js";
import { unknownFields, unknownFieldsOf } from "../../src/codec/unknown-fields.js";
import type { Writer } from "../../src/codec/writer.js";
import { sessionArb, userArb } from "../support/arbitraries.js";
import { decodeWith as oursDecode, encodeWith as ours, type TsProtoCodec } from "../support/codec-harness.js";
import { generateTsProtoCodec } from "../support/tsproto-full.js";

let tsUser: TsProtoCodec<User>;
let tsSession: TsProtoCodec<Session>;

beforeAll(async () => {
  const dir = generateTsProtoCodec("differential");
  tsUser = ((await import(`${dir}/acme/user/v1/user.ts`)) as { User: TsProtoCodec<User> }).User;
  tsSession = ((await import(`${dir}/acme/session/v1/session.ts`)) as { Session: TsProtoCodec<Session> }).Session;
});

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
        expect(codec.decode(new Uint8Array(ours(encode, value)))).toEqual(value);
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

describe("wire semantics", () => {
  it("merge a message field that occurs twice instead of replacing it (later scalars win, lists append)", () => {
    const client = (bytes: number[]) => [0x42, bytes.length, ...bytes];
    const bytes = Buffer.from([
      ...client([0x0a, 0x01, 0x61]), // client { ip: "a" }
      0x32, 0x01, 0x78, // scopes: "x"
      ...client([0x12, 0x01, 0x62]), // client { user_agent: "b" }
      0x32, 0x01, 0x79, // scopes: "y"
      ...client([0x0a, 0x01, 0x63]), // client { ip: "c" }
    ]);
    const decoded = oursDecode(decodeSession, bytes);
    expect(decoded.client).toEqual({ ip: "c", userAgent: "b" });
    expect(decoded.scopes).toEqual(["x", "y"]);
  });
});

describe("unknown fields", () => {
  it("are kept as one byte range per message, in wire order, and written back unchanged after the known fields", () => {
    // Fields 100 (LEN, VARINT, LEN again: the same number interleaved) and 101, unknown to User, around a known field.
    const unknownA = Buffer.from([0xa2, 0x06, 0x03, 0x61, 0x62, 0x63, 0xa0, 0x06, 0x07]);
    const unknownB = Buffer.from([0xa2, 0x06, 0x01, 0x7a, 0xa8, 0x06, 0x2a]);
    const user = { id: "u1", name: "n", email: "e", fullName: "f", verified: true, locale: "l" };
    const bytes = Buffer.concat([unknownA, ours(encodeUser, { ...user, locale: "" }), unknownB, Buffer.from([0x32, 0x01, 0x6c])]);
    const decoded = oursDecode(decodeUser, bytes);
    expect(decoded).toEqual({ ...user, [unknownFields]: new Uint8Array(Buffer.concat([unknownA, unknownB])) });
    expect(ours(encodeUser, decoded).toString("hex")).toBe(Buffer.concat([ours(encodeUser, user), unknownA, unknownB]).toString("hex"));
    // An edited copy keeps them too (object spread copies symbol-keyed properties).
    expect(unknownFieldsOf({ ...decoded, name: "m" })).toBe(unknownFieldsOf(decoded));
  });
});
