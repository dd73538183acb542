import { isWellFormed } from "../unicode.js";
import { IllFormedStringError, invalidField } from "./field-checks.js";
import { utf8Write } from "./node-buffer.js";
import { unknownFields, type WithUnknownFields } from "./unknown-fields.js";
import { MAX_DEPTH } from "./reader.js";

const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const maxRetained = 1 << 20;

/**
 * `String.prototype.charCodeAt`, called through `.call`: V8 slows down
 * `s.charCodeAt(i)` about fourfold once any loaded module subclasses
 * `String` (ioredis does); the cached function keeps its fast path.
 */
const charCodeAt = String.prototype.charCodeAt;

/**
 * Protobuf binary writer over one growable scratch buffer. Length-delimited
 * values reserve one length byte and are shifted in the rare case they need
 * more, so a message is written in a single pass and copied out once.
 * Generated encoders call it; it is not meant for hand-written code.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  /** Messages currently being written; never more than a reader accepts ({@link MAX_DEPTH}). */
  depth = 0;

  constructor(initialSize = 8192) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Starts a new value, dropping an oversized buffer left by an earlier large one. */
  reset(): void {
    if (this.buf.length > maxRetained) this.buf = Buffer.allocUnsafe(8192);
    this.pos = 0;
    this.depth = 0;
  }

  /**
   * Starts writing message `m`: one level deeper. Past {@link MAX_DEPTH}
   * (a cycle, or a value no reader would accept) it throws.
   */
  enter(m: object): void {
    if (++this.depth > MAX_DEPTH) throw invalidField(m, "", `at most ${MAX_DEPTH} nested messages (is the value cyclic?)`, m);
  }

  /** A copy of bytes `start..pos`, detached from the scratch buffer. */
  copy(start = 0): Buffer {
    const out = Buffer.allocUnsafe(this.pos - start);
    this.buf.copy(out, 0, start, this.pos);
    return out;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + 64));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** One raw byte: a precomputed single-byte tag. */
  byte(b: number): void {
    if (this.pos >= this.buf.length) this.grow(1);
    this.buf[this.pos++] = b;
  }

  /** Unsigned 32-bit varint (also multi-byte tags, lengths, enum values >= 0). */
  uint32(value: number): void {
    this.ensure(5);
    const b = this.buf;
    let p = this.pos;
    let v = value >>> 0;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p++] = v;
    this.pos = p;
  }

  /** Signed 32-bit varint: negative values take ten bytes, as the spec requires. */
  int32(value: number): void {
    if (value >= 0) this.uint32(value);
    else this.varint64(value >>> 0, 0xffffffff);
  }

  /** ZigZag-encoded signed 32-bit varint. */
  sint32(value: number): void {
    this.uint32(((value << 1) ^ (value >> 31)) >>> 0);
  }

  /** A bool as a one-byte varint. */
  bool(value: boolean): void {
    this.byte(value ? 1 : 0);
  }

  /** Four little-endian bytes, unsigned. */
  fixed32(value: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(value >>> 0, this.pos);
    this.pos += 4;
  }

  /** Four little-endian bytes, two's complement. */
  sfixed32(value: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(value | 0, this.pos);
    this.pos += 4;
  }

  /** IEEE 754 single precision, little-endian. */
  float(value: number): void {
    this.ensure(4);
    f32[0] = value;
    this.raw4(f32Bytes);
  }

  /** IEEE 754 double precision, little-endian. */
  double(value: number): void {
    this.ensure(8);
    f64[0] = value;
    const b = this.buf;
    const p = this.pos;
    if (littleEndian) {
      for (let i = 0; i < 8; i++) b[p + i] = f64Bytes[i] as number;
    } else {
      for (let i = 0; i < 8; i++) b[p + i] = f64Bytes[7 - i] as number;
    }
    this.pos = p + 8;
  }

  private raw4(bytes: Uint8Array): void {
    const b = this.buf;
    const p = this.pos;
    if (littleEndian) {
      for (let i = 0; i < 4; i++) b[p + i] = bytes[i] as number;
    } else {
      for (let i = 0; i < 4; i++) b[p + i] = bytes[3 - i] as number;
    }
    this.pos = p + 4;
  }

  /** int64 / uint64 as a varint; any bigint is reduced to its low 64 bits' two's complement. */
  int64(value: bigint): void {
    if (value >= 0n && value < 0x80000000n) {
      this.uint32(Number(value));
    } else {
      const u = BigInt.asUintN(64, value);
      this.varint64(Number(u & 0xffffffffn), Number(u >> 32n));
    }
  }

  /** ZigZag-encoded signed 64-bit varint. */
  sint64(value: bigint): void {
    const v = BigInt.asIntN(64, value);
    this.int64(BigInt.asUintN(64, (v << 1n) ^ (v >> 63n)));
  }

  /** fixed64 / sfixed64: eight little-endian bytes. */
  fixed64(value: bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, value), this.pos);
    this.pos += 8;
  }

  private varint64(lo: number, hi: number): void {
    this.ensure(10);
    const b = this.buf;
    let p = this.pos;
    while (hi !== 0 || lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  /**
   * Length-prefixed UTF-8. Strings of up to 32 UTF-16 units take an ASCII
   * loop in JS; longer ones (or any non-ASCII) one native call, with one
   * length byte reserved and the text shifted in the rare case it is 128
   * bytes or more. A string with a lone surrogate has no UTF-8 form: it
   * throws {@link IllFormedStringError} instead of being written as U+FFFD
   * (another value). Checked natively, and only off the short ASCII path:
   * a string V8 holds as one byte per character passes at once.
   */
  string(value: string): void {
    const len = value.length;
    if (len < 5462) {
      // At most 3 bytes per UTF-16 unit, so the byte length fits a 2-byte varint.
      this.ensure(len * 3 + 2);
      const b = this.buf;
      const start = this.pos;
      if (len <= 32) {
        let p = start + 1;
        let i = 0;
        for (; i < len; i++) {
          const c = charCodeAt.call(value, i);
          if (c >= 0x80) break;
          b[p++] = c;
        }
        if (i === len) {
          b[start] = len;
          this.pos = p;
          return;
        }
      }
      if (!isWellFormed(value)) throw new IllFormedStringError(value);
      const n = utf8Write(b, value, start + 1);
      if (n < 128) {
        b[start] = n;
        this.pos = start + 1 + n;
      } else {
        b.copyWithin(start + 2, start + 1, start + 1 + n);
        b[start] = (n & 127) | 128;
        b[start + 1] = n >>> 7;
        this.pos = start + 2 + n;
      }
    } else {
      if (!isWellFormed(value)) throw new IllFormedStringError(value);
      const n = Buffer.byteLength(value, "utf8");
      this.uint32(n);
      this.ensure(n);
      this.pos += utf8Write(this.buf, value, this.pos);
    }
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array): void {
    const n = value.length;
    this.uint32(n);
    this.ensure(n);
    this.buf.set(value, this.pos);
    this.pos += n;
  }

  /** Reserves a one-byte length for a nested value; returns the position to pass to {@link join}. */
  fork(): number {
    this.byte(0);
    return this.pos;
  }

  /** Writes the length of the value started by {@link fork}, shifting it when the length needs more than one byte. */
  join(start: number): void {
    const len = this.pos - start;
    if (len < 128) {
      this.buf[start - 1] = len;
      return;
    }
    let size = 1;
    for (let v = len >>> 7; v !== 0; v >>>= 7) size++;
    this.ensure(size - 1);
    const b = this.buf;
    b.copyWithin(start + size - 1, start, this.pos);
    let p = start - 1;
    let v = len;
    while (v > 127) {
      b[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    b[p] = v;
    this.pos += size - 1;
  }

  /** Raw bytes, as they are. */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    this.buf.set(bytes, this.pos);
    this.pos += n;
  }

  /** Ends message `m`: writes back the unknown fields a reader kept on it, then leaves its level. */
  leave(m: object): void {
    const u = (m as WithUnknownFields)[unknownFields];
    if (u !== undefined) {
      if (!(u instanceof Uint8Array)) throw invalidField(m, "[unknownFields]", "Uint8Array", u);
      this.raw(u);
    }
    this.depth--;
  }
}
