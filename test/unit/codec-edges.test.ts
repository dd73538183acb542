import { describe, expect, it } from "vitest";
import { Reader, WireError } from "../../src/codec/reader.js";
import { IllFormedStringError } from "../../src/codec/field-checks.js";
import { Writer } from "../../src/codec/writer.js";

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(4);
  fn(w);
  return w.copy();
}
const read = (bytes: number[] | Buffer) => new Reader(Buffer.from(bytes));

describe("Writer and Reader edge cases", () => {
  it("write negative int32 as ten bytes and read them back", () => {
    const bytes = written((w) => w.int32(-1));
    expect(bytes.toString("hex")).toBe("ffffffffffffffffff01");
    expect(read(bytes).int32()).toBe(-1);
  });

  it("round-trip 64-bit extremes, zigzag included", () => {
    for (const v of [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 2n ** 31n, -(2n ** 31n) - 1n]) {
      expect(read(written((w) => w.int64(v))).int64()).toBe(v);
      expect(read(written((w) => w.sint64(v))).sint64()).toBe(v);
      expect(read(written((w) => w.fixed64(v))).sfixed64()).toBe(v);
    }
    expect(read(written((w) => w.int64(2n ** 64n - 1n))).uint64()).toBe(2n ** 64n - 1n);
    for (const v of [0, -1, 2 ** 31 - 1, -(2 ** 31)]) expect(read(written((w) => w.sint32(v))).sint32()).toBe(v);
  });

  it("shift nested values whose length needs more than one byte", () => {
    for (const len of [0, 127, 128, 16383, 16384, 2 ** 21]) {
      const bytes = written((w) => {
        const at = w.fork();
        w.ensure(len);
        w.buf.fill(0x61, w.pos, w.pos + len);
        w.pos += len;
        w.join(at);
      });
      const r = read(bytes);
      const end = r.end();
      expect(end - r.pos).toBe(len);
      expect(end).toBe(bytes.length);
    }
  });

  it("encode well-formed strings as UTF-8 that reads back to the same string (short, long, 2^13 units, ASCII or not, surrogate pairs)", () => {
    for (const s of ["", "ascii", "é", "日本語", "😀", "a".repeat(42) + "é", "é".repeat(43), "x".repeat(8192), "😀".repeat(4096), "a😀".repeat(3000)]) {
      const bytes = written((w) => w.string(s));
      expect(bytes.subarray(bytes.length - Buffer.byteLength(s)).equals(Buffer.from(s, "utf8"))).toBe(true);
      expect(read(bytes).string()).toBe(s);
    }
  });

  it("refuse a string with a lone surrogate on every path of the writer (short, long, 2^13 units) with an IllFormedStringError naming its index, instead of writing U+FFFD", () => {
    const cases: [string, number][] = [
      ["\ud800", 0],
      ["\udc00x", 0],
      ["x\ud800", 1],
      ["é\udfff", 1],
      ["😀\ud83d", 2],
      ["\ude00😀", 0],
      ["a".repeat(40) + "\ud800", 40],
      ["é".repeat(100) + "\udbff" + "é", 100],
      ["x".repeat(8192) + "\udc00", 8192],
      ["\ud800" + "😀".repeat(4096), 0],
    ];
    for (const [s, at] of cases) {
      let thrown: unknown;
      try {
        written((w) => w.string(s));
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(s.slice(0, 8))).toBeInstanceOf(IllFormedStringError);
      expect((thrown as Error).message).toContain(`expected a well-formed Unicode string (lone surrogate at index ${at})`);
    }
  });

  it("read a bool from any bit of a 64-bit varint", () => {
    expect(read([0x80, 0x80, 0x80, 0x80, 0x10]).bool()).toBe(true);
    expect(read([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).bool()).toBe(true);
    expect(read([0x00]).bool()).toBe(false);
  });

  it("reject truncated and oversized input with WireError", () => {
    expect(() => read([0x80]).uint32()).toThrow(WireError);
    expect(() => read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).uint32()).toThrow(/longer than 10 bytes/);
    expect(() => read([0x05, 0x61]).string()).toThrow(/length exceeds/);
    expect(() => read([0x01, 0x02]).fixed32()).toThrow(/truncated/);
    expect(() => read([]).skipField(0)).toThrow(/field number 0/);
  });

  it("reject a length varint of 2^32 or more instead of reading it modulo 2^32", () => {
    // 2^32 encodes as 80 80 80 80 10: modulo 2^32 it would be an empty string.
    expect(() => read([0x80, 0x80, 0x80, 0x80, 0x10, 0x61]).string()).toThrow(/varint exceeds 32 bits/);
    expect(() => read([0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]).end()).toThrow(/varint exceeds 32 bits/);
    // A zero-padded length that still fits 32 bits is valid protobuf.
    expect(read([0x81, 0x80, 0x80, 0x80, 0x00, 0x61]).string()).toBe("a");
  });

  it("reject tags above 32 bits, varints over 10 bytes and 10th bytes above 1", () => {
    expect(() => read([0x88, 0x80, 0x80, 0x80, 0x10]).tag()).toThrow(/exceeds 32 bits/);
    expect(() => read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01]).int64()).toThrow(/longer than 10 bytes/);
    expect(() => read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).int64()).toThrow(/exceeds 64 bits/);
    expect(() => read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).int32()).toThrow(/exceeds 64 bits/);
    expect(read([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).int64()).toBe(-1n);
  });

  it("reject strings that are not valid UTF-8", () => {
    for (const bad of [[0x80], [0xc3], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x98], [0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0xff]]) {
      expect(() => read([bad.length, ...bad]).string()).toThrow(/not valid UTF-8/);
    }
    expect(read([4, 0xf0, 0x9f, 0x98, 0x80]).string()).toBe("😀");
  });

  it("skip well-formed groups, nested ones included, and reject broken or too deeply nested ones", () => {
    const r = read([0x0b, 0x08, 0x01, 0x13, 0x14, 0x0c, 0x7a]);
    r.skipField(r.tag());
    expect(r.pos).toBe(6);
    expect(() => read([0x0b, 0x14]).skipField(0x0b)).toThrow();
    const deep = (n: number) => [...Array<number>(n).fill(0x0b), ...Array<number>(n).fill(0x0c)];
    const ok = read(deep(100));
    ok.skipField(ok.tag());
    expect(ok.pos).toBe(200);
    const tooDeep = read(deep(101));
    expect(() => tooDeep.skipField(tooDeep.tag())).toThrow(/nested deeper than 100/);
  });
});
