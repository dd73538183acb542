import fc from "fast-check";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { Writer } from "../../src/codec/writer.js";
import { encodeAbsentMarker, encodeEnvelope, type EnvelopeWriteOptions } from "../../src/envelope/encode.js";
import { isEnvelope, peekSchemaId, readHeader } from "../../src/envelope/header.js";
import { DecodeError } from "../../src/errors.js";

const hi = (w: Writer): void => {
  w.byte(0x0a);
  w.string("hi");
};
const plain: EnvelopeWriteOptions = { writtenAt: false, writerTag: undefined, compression: "none", compressMinBytes: 0 };
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

describe("envelope v1 golden bytes", () => {
  const w = new Writer(16);

  it("writes magic, version, flags and the big-endian schema ID before the payload", () => {
    const bytes = encodeEnvelope(w, 0x01020304, null, hi, plain, 0);
    expect(hex(bytes)).toBe("c1" + "01" + "00" + "01020304" + "0a026869");
  });

  it("writes written-at as uint48 big-endian milliseconds (flag bit 2)", () => {
    const at = 1_700_000_000_000; // 0x018bcfe56800
    const bytes = encodeEnvelope(w, 0xdeadbeef, null, hi, { ...plain, writtenAt: true }, at);
    expect(hex(bytes)).toBe("c1" + "01" + "04" + "deadbeef" + "018bcfe56800" + "0a026869");
    expect(readHeader(bytes).writtenAt).toBe(at);
  });

  it("writes the writer tag as a length byte and UTF-8 after written-at (flag bit 3)", () => {
    const bytes = encodeEnvelope(w, 0x00000001, null, hi, { ...plain, writtenAt: true, writerTag: Buffer.from("api@1") }, 0x0102);
    expect(hex(bytes)).toBe("c1" + "01" + "0c" + "00000001" + "000000000102" + "05" + "61706940" + "31" + "0a026869");
    const header = readHeader(bytes);
    expect(header).toMatchObject({ schemaId: 1, writtenAt: 0x0102, writerTag: "api@1", compression: "none", payloadStart: 19 });
  });

  it("sets compression bits 0-1 only when compression shrinks the payload", () => {
    const long = (x: Writer): void => x.string("a".repeat(2000));
    const gz = encodeEnvelope(w, 7, null, long, { ...plain, compression: "gzip", compressMinBytes: 100 }, 0);
    expect(gz[2]).toBe(0x01);
    expect(gunzipSync(gz.subarray(7)).length).toBe(2002);
    const br = encodeEnvelope(w, 7, null, long, { ...plain, compression: "brotli", compressMinBytes: 100 }, 0);
    expect(br[2]).toBe(0x02);
    const small = encodeEnvelope(w, 7, null, hi, { ...plain, compression: "gzip", compressMinBytes: 100 }, 0);
    expect(small[2]).toBe(0x00);
  });
});

describe("readHeader", () => {
  const base = [0xc1, 0x01, 0x00, 0xaa, 0xbb, 0xcc, 0xdd];
  const reason = (bytes: number[]): string => {
    try {
      readHeader(Buffer.from(bytes));
      return "ok";
    } catch (e) {
      expect(e).toBeInstanceOf(DecodeError);
      return (e as DecodeError).reason;
    }
  };

  it("rejects each malformed header with a typed reason", () => {
    expect(reason([])).toBe("bad-magic");
    expect(reason([0x7b, 0x22])).toBe("bad-magic");
    expect(reason([0xc1, 0x01, 0x00])).toBe("truncated");
    expect(reason([0xc1, 0x02, ...base.slice(2)])).toBe("bad-version");
    expect(reason([0xc1, 0x01, base[2] as number, 0, 0, 0, 0, ...base.slice(7)])).toBe("bad-schema-id");
    expect(reason([0xc1, 0x01, 0x20, ...base.slice(3)])).toBe("bad-flags");
    expect(reason([0xc1, 0x01, 0x11, ...base.slice(3, 7)])).toBe("bad-flags"); // an absent marker cannot be compressed
    expect(reason([0xc1, 0x01, 0x10, ...base.slice(3), 0x0a])).toBe("payload"); // an absent marker has no payload
    expect(reason([0xc1, 0x01, 0x03, ...base.slice(3)])).toBe("bad-flags");
    expect(reason([0xc1, 0x01, 0x04, ...base.slice(3), 0, 0])).toBe("truncated");
    expect(reason([0xc1, 0x01, 0x08, ...base.slice(3), 5, 0x61])).toBe("truncated");
    expect(reason([0xc1, 0x01, 0x08, ...base.slice(3), 65, ...new Array<number>(65).fill(0x61)])).toBe("bad-writer-tag");
    expect(reason(base)).toBe("ok");
    expect(reason([0xc1, 0x01, 0x10, ...base.slice(3, 7)])).toBe("ok");
  });

  it("reads an absent marker: the absent flag, the writer's schema ID and written-at, no payload", () => {
    const marker = encodeAbsentMarker(0xaabbccdd, { writtenAt: true, writerTag: undefined }, 0x0102);
    expect([...marker]).toEqual([0xc1, 0x01, 0x14, 0xaa, 0xbb, 0xcc, 0xdd, 0, 0, 0, 0, 0x01, 0x02]);
    expect(readHeader(marker)).toMatchObject({ schemaId: 0xaabbccdd, writtenAt: 0x0102, absent: true, payloadStart: 13 });
    expect(readHeader(Buffer.from(base)).absent).toBe(false);
  });

  it("peeks the schema ID at its fixed offset", () => {
    expect(peekSchemaId(Buffer.from(base))).toBe(0xaabbccdd);
    expect(peekSchemaId(Buffer.from([0xc1, 1]))).toBeUndefined();
    expect(isEnvelope(Buffer.from('{"a":1}'))).toBe(false);
  });

  it("never throws anything but DecodeError on hostile bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), fc.boolean(), (bytes, forceMagic) => {
        const input = Buffer.from(bytes);
        if (forceMagic && input.length > 0) input[0] = 0xc1;
        try {
          const header = readHeader(input);
          expect(header.payloadStart).toBeLessThanOrEqual(input.length);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips every header field combination", () => {
    const w = new Writer(8);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.option(fc.integer({ min: 0, max: 2 ** 48 - 1 }), { nil: undefined }),
        fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 64 }),
        (id, at, tag, payload) => {
          const tagBytes = tag === undefined ? undefined : Buffer.from(tag).subarray(0, 64);
          const options = { ...plain, writtenAt: at !== undefined, writerTag: tagBytes?.length === 0 ? undefined : tagBytes };
          const bytes = encodeEnvelope(w, id, payload, (x, p) => { x.ensure(p.length); x.buf.set(p, x.pos); x.pos += p.length; }, options, at ?? 0);
          const header = readHeader(bytes);
          expect(header.schemaId).toBe(id);
          expect(header.writtenAt).toBe(at);
          expect(header.writerTag).toBe(options.writerTag?.toString("utf8"));
          expect(hex(bytes.subarray(header.payloadStart))).toBe(hex(payload));
        },
      ),
      { numRuns: 500 },
    );
  });
});
