import { isAscii, isUtf8 } from "node:buffer";
import { latin1Slice, utf8Slice } from "./node-buffer.js";
import { UnknownCollector } from "./unknown-fields.js";
import { MAX_WORK, Work, WorkBudgetError } from "./work.js";

/** Thrown by {@link Reader} on malformed protobuf bytes; callers turn it into a counted `corrupt` miss. */
export class WireError extends Error {
  override readonly name = "WireError";
}

const empty = Buffer.alloc(0);
const f32 = new Float32Array(1);
const f32Bytes = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Strings at least this long are checked for ASCII natively (a view and a call cost less than a loop from here). */
const nativeAsciiCheck = 256;

/** Inputs up to this size share one Latin-1 copy for their ASCII strings (see {@link Reader.string}). */
const sharedTextLimit = 4096;

// Charges below are literal (shifts for the per-byte rates) to keep the hot path free of lookups; they are
// Work's values (src/codec/work.ts): shortStringByte 1, nativeString 4, asciiBytesPerUnit 64 (>> 6),
// utf8BytesPerUnit 8 (>> 3), bytesValue 16 (also for a message's unknown fields), copiedBytesPerUnit 64 (>> 6).
// A test checks them against Work.

/** Deepest nesting of messages (and unknown groups) a reader accepts, as other protobuf runtimes do. */
export const MAX_DEPTH = 100;

function checkBudget(budget: number): number {
  if (!Number.isSafeInteger(budget) || budget < 0 || budget > MAX_WORK) throw new RangeError(`work budget must be a whole number from 0 to ${MAX_WORK}, got ${budget}`);
  return budget;
}

/**
 * Bounds-checked protobuf binary reader. Every length is checked against the
 * end of the enclosing value before it is trusted, nesting is limited to
 * {@link MAX_DEPTH}, and unknown fields are kept as byte ranges copied out
 * once per message when the outermost decode ends: work and memory stay
 * proportional to the input. Every decode also has a work budget (see
 * {@link Work}): each field, packed element, map entry, object and string
 * byte is charged before it is decoded, and a decode that needs more throws
 * {@link WorkBudgetError}. Generated decoders call it.
 */
export class Reader {
  buf: Buffer;
  pos: number;
  /** End of the bytes being decoded; nothing at or past it is read. */
  limit: number;

  /** The whole input as Latin-1 text, made on first need: ASCII strings are cut from it without a native call each. */
  private text = "";
  /** Byte offset of `text[0]`, or -1 while `text` is not made. */
  private textStart = -1;
  private start: number;
  /** Offset of the tag {@link tag} read last: where an unknown field's bytes start. */
  private tagStart = 0;
  /** Messages (and groups being skipped) currently open. */
  private depth = 0;
  private readonly unknowns = new UnknownCollector(MAX_DEPTH);
  /** Field numbers of the unknown groups being skipped, innermost last. */
  private readonly groups = new Int32Array(MAX_DEPTH + 1);
  /** Work units left in this decode's budget; below 0 the decode stops. */
  private work: number;
  /** The budget this decode started with. */
  private budget: number;

  constructor(buf: Buffer, start = 0, end = buf.length, budget = MAX_WORK) {
    this.buf = buf;
    this.pos = start;
    this.start = start;
    this.limit = end;
    this.work = this.budget = checkBudget(budget);
  }

  /** Points the reader at new bytes, so one reader can serve every decode; `budget` is its work budget in {@link Work} units. */
  reset(buf: Buffer, start: number, end: number, budget = MAX_WORK): void {
    this.buf = buf;
    this.pos = start;
    this.start = start;
    this.limit = end;
    this.text = "";
    this.textStart = -1;
    this.depth = 0;
    this.unknowns.reset();
    // Not checked here (the hot path): callers pass a budget they checked; a bad one only fails the decode.
    this.work = this.budget = budget;
  }

  /** Work units this decode has used so far (at most its budget, also when it ran out). */
  workUsed(): number {
    return this.work < 0 ? this.budget : this.budget - this.work;
  }

  /** Charges `units` of work; throws {@link WorkBudgetError} when the budget is spent. */
  charge(units: number): void {
    if ((this.work -= units) < 0) this.exhausted();
  }

  private exhausted(): never {
    throw new WorkBudgetError(this.budget);
  }

  /**
   * Starts decoding a message: one level deeper, refused past
   * {@link MAX_DEPTH}, and `weight` work units charged for the object the
   * decoder fills (generated decoders pass their message's weight).
   */
  enter(weight: number): void {
    if ((this.work -= weight) < 0) this.exhausted();
    const depth = ++this.depth;
    if (depth > MAX_DEPTH) throw new WireError(`messages nested deeper than ${MAX_DEPTH}`);
    this.unknowns.open(depth);
  }

  /** Reads a map entry's length prefix and returns where it ends, charging `weight` work units for the insertion. */
  entry(weight: number): number {
    if ((this.work -= weight) < 0) this.exhausted();
    return this.end();
  }

  /**
   * Reads the length prefix of a packed repeated field and returns where
   * it ends, charging one unit per element first: `width` bytes each for
   * fixed-size elements, or (`width` 0) one per varint, counted by their
   * last bytes (a scan that stops as soon as the budget is spent).
   */
  packed(width: number): number {
    const end = this.end();
    if (width > 0) {
      this.charge(Math.ceil((end - this.pos) / width) * Work.packedElement);
      return end;
    }
    const b = this.buf;
    let work = this.work;
    for (let p = this.pos; p < end; p++) if ((b[p] as number) < 128 && --work < 0) this.exhausted();
    this.work = work;
    return end;
  }

  /**
   * Ends the message that had to end at `end`; `m`, when given, gets the
   * unknown fields {@link unknown} kept for it (one byte array, wire order,
   * charged `Work.bytesValue`).
   */
  leave(end: number, m?: object): void {
    if (this.pos !== end) throw new WireError("nested value overran its length");
    // A message that kept unknown fields holds them in a Uint8Array of its own: charged as a bytes value.
    if (m !== undefined && this.unknowns.close(this.depth, this.buf, m) && (this.work -= 16) < 0) this.exhausted();
    if (--this.depth === 0) this.unknowns.finish();
  }

  /** A field tag (field number << 3 | wire type); must fit 32 bits. One work unit. */
  tag(): number {
    const p = this.pos;
    this.tagStart = p;
    if (--this.work < 0) this.exhausted();
    if (p < this.limit) {
      const b = this.buf[p] as number;
      if (b < 128) {
        this.pos = p + 1;
        return b;
      }
    }
    return this.varint32();
  }

  /** A varint that must fit 32 bits unsigned (tags and lengths): anything larger is malformed, never wrapped. */
  private varint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    let p = this.pos;
    for (;;) {
      if (p >= this.limit) throw new WireError("truncated varint");
      const b = buf[p++] as number;
      if (shift < 28) result |= (b & 127) << shift;
      else if (shift === 28) {
        if ((b & 0x70) !== 0) throw new WireError("varint exceeds 32 bits");
        result |= (b & 15) << 28;
      } else if ((b & 127) !== 0) throw new WireError("varint exceeds 32 bits");
      else if (shift === 63 && b >= 128) throw new WireError("varint longer than 10 bytes");
      if (b < 128) break;
      shift += 7;
    }
    this.pos = p;
    return result >>> 0;
  }

  /**
   * A varint field value as 32 bits unsigned: bits above 32 are dropped, as
   * the spec says for int32 and enum values written as 64-bit varints. A
   * varint over 10 bytes or 64 bits is malformed.
   */
  uint32(): number {
    const buf = this.buf;
    let result = 0;
    let shift = 0;
    let p = this.pos;
    for (;;) {
      if (p >= this.limit) throw new WireError("truncated varint");
      const b = buf[p++] as number;
      if (shift < 28) {
        result |= (b & 127) << shift;
      } else if (shift === 28) {
        result |= (b & 15) << 28;
      } else if (shift === 63 && b > 1) {
        throw new WireError(b >= 128 ? "varint longer than 10 bytes" : "varint exceeds 64 bits");
      }
      if (b < 128) break;
      shift += 7;
    }
    this.pos = p;
    return result >>> 0;
  }

  /** A signed 32-bit varint (negative values arrive as ten bytes). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** A ZigZag-encoded signed 32-bit varint. */
  sint32(): number {
    const v = this.uint32();
    return (v >>> 1) ^ -(v & 1);
  }

  /** A bool varint: true when any bit of the (up to 64-bit) value is set. */
  bool(): boolean {
    const b = this.buf[this.pos];
    if (b !== undefined && b < 128 && this.pos < this.limit) {
      this.pos++;
      return b !== 0;
    }
    this.varint64();
    return this.lo !== 0 || this.hi !== 0;
  }

  private need(n: number): number {
    const p = this.pos;
    if (p + n > this.limit) throw new WireError("truncated fixed-size value");
    this.pos = p + n;
    return p;
  }

  /** Four little-endian bytes, unsigned. */
  fixed32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }

  /** Four little-endian bytes, two's complement. */
  sfixed32(): number {
    return this.buf.readInt32LE(this.need(4));
  }

  /** IEEE 754 single precision, little-endian. */
  float(): number {
    const p = this.need(4);
    const b = this.buf;
    for (let i = 0; i < 4; i++) f32Bytes[littleEndian ? i : 3 - i] = b[p + i] as number;
    return f32[0] as number;
  }

  /** IEEE 754 double precision, little-endian. */
  double(): number {
    const p = this.need(8);
    const b = this.buf;
    for (let i = 0; i < 8; i++) f64Bytes[littleEndian ? i : 7 - i] = b[p + i] as number;
    return f64[0] as number;
  }

  /** A varint as two 32-bit halves, returned through {@link lo} and {@link hi}. */
  private varint64(): void {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let p = this.pos;
    let shift = 0;
    for (;;) {
      if (p >= this.limit) throw new WireError("truncated varint");
      const b = buf[p++] as number;
      if (shift < 28) lo |= (b & 127) << shift;
      else if (shift === 28) {
        lo |= (b & 15) << 28;
        hi |= (b & 127) >> 4;
      } else if (shift < 63) hi |= (b & 127) << (shift - 32);
      else if (b <= 1) hi |= b << 31;
      else throw new WireError(b >= 128 ? "varint longer than 10 bytes" : "varint exceeds 64 bits");
      if (b < 128) break;
      shift += 7;
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  private lo = 0;
  private hi = 0;

  /** An unsigned 64-bit varint. */
  uint64(): bigint {
    const b = this.buf[this.pos];
    if (b !== undefined && b < 128 && this.pos < this.limit) {
      this.pos++;
      return BigInt(b);
    }
    this.varint64();
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** A signed 64-bit varint (two's complement). */
  int64(): bigint {
    const v = this.uint64();
    return v < 0x8000000000000000n ? v : BigInt.asIntN(64, v);
  }

  /** A ZigZag-encoded signed 64-bit varint. */
  sint64(): bigint {
    const v = this.uint64();
    return (v >> 1n) ^ -(v & 1n);
  }

  /** Eight little-endian bytes, unsigned. */
  fixed64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }

  /** Eight little-endian bytes, two's complement. */
  sfixed64(): bigint {
    return this.buf.readBigInt64LE(this.need(8));
  }

  /** Reads a length prefix and returns where the value ends, after checking it fits. */
  end(): number {
    const p = this.pos;
    let len: number;
    if (p < this.limit && (this.buf[p] as number) < 128) {
      len = this.buf[p] as number;
      this.pos = p + 1;
    } else {
      len = this.varint32();
    }
    const end = this.pos + len;
    if (end > this.limit) throw new WireError("length exceeds the enclosing value");
    return end;
  }

  /**
   * A length-prefixed UTF-8 string. Very short ASCII strings are built in
   * JS; in inputs up to 4 KiB longer ASCII ones are substrings of one
   * Latin-1 copy of the input (one native call per decode instead of one per
   * string; a decoded string can then keep that copy, at most 4 KiB, alive);
   * anything else is checked and decoded natively. Invalid UTF-8 is
   * malformed (proto3 strings are UTF-8), never silently replaced. Longer
   * strings are charged by their bytes ({@link Work}), ASCII ones less.
   */
  string(): string {
    const end = this.end();
    const start = this.pos;
    this.pos = end;
    const b = this.buf;
    if (end - start < 8) {
      // Built one character at a time: a string per character, charged as such.
      if ((this.work -= end - start) < 0) this.exhausted();
      let s = "";
      for (let p = start; p < end; p++) {
        const c = b[p] as number;
        if (c >= 0x80) return this.utf8(start, end);
        s += String.fromCharCode(c);
      }
      return s;
    }
    // Charged at the ASCII rate before the scan; utf8() charges the rest of the UTF-8 rate.
    if ((this.work -= 4 + ((end - start) >> 6)) < 0) this.exhausted();
    if (end - start < nativeAsciiCheck) {
      for (let p = start; p < end; p++) if ((b[p] as number) >= 0x80) return this.utf8(start, end);
    } else if (!isAscii(b.subarray(start, end))) return this.utf8(start, end);
    // Substrings of the shared copy keep all of it alive: only worth it (and harmless) for small inputs.
    if (this.limit - this.start > sharedTextLimit) return latin1Slice(b, start, end);
    if (this.textStart < 0) {
      this.text = latin1Slice(b, this.start, this.limit);
      this.textStart = this.start;
    }
    return this.text.substring(start - this.textStart, end - this.textStart);
  }

  private utf8(start: number, end: number): string {
    // Short strings were charged a unit per byte, longer ones the native-string unit and the ASCII rate.
    const n = end - start;
    this.charge(n < 8 ? 4 : (n >> 3) - (n >> 6));
    const b = this.buf;
    if (!isUtf8(b.subarray(start, end))) throw new WireError("string is not valid UTF-8");
    return utf8Slice(b, start, end);
  }

  /** Length-prefixed bytes, copied so the caller never pins the whole stored value. */
  bytes(): Uint8Array {
    const end = this.end();
    const start = this.pos;
    this.charge(16 + ((end - start) >> 6));
    const out = new Uint8Array(end - start);
    if (end - start <= 32) {
      const b = this.buf;
      for (let i = start; i < end; i++) out[i - start] = b[i] as number;
    } else {
      this.buf.copy(out, 0, start, end);
    }
    this.pos = end;
    return out;
  }

  /** Drops references to the last input, so a shared reader does not keep it alive. */
  release(): void {
    this.buf = empty;
    this.pos = 0;
    this.start = 0;
    this.limit = 0;
    this.text = "";
    this.textStart = -1;
    this.depth = 0;
    this.unknowns.reset();
    this.work = this.budget = 0;
  }

  /** Checks that a nested value (map entry, packed list) ended exactly where its length said. */
  check(end: number): void {
    if (this.pos !== end) throw new WireError("nested value overran its length");
  }

  /**
   * Skips the field whose tag {@link tag} just read and keeps it (tag and
   * value bytes) as an unknown field of the message being decoded, in wire
   * order; {@link leave} hands them over.
   */
  unknown(tag: number): void {
    const start = this.tagStart;
    this.skipField(tag);
    this.unknowns.add(this.depth, this.buf, start, this.pos);
  }

  /** Skips the value of a field with the given tag (a group up to its matching end). */
  skipField(tag: number): void {
    if (tag >>> 3 === 0) throw new WireError("field number 0");
    if ((tag & 7) === 3) this.skipGroup(tag >>> 3);
    else this.skipValue(tag);
  }

  /** Skips a value of any wire type but the group ones. */
  private skipValue(tag: number): void {
    switch (tag & 7) {
      case 0:
        this.varint64();
        return;
      case 1:
        this.need(8);
        return;
      case 2:
        this.pos = this.end();
        return;
      case 5:
        this.need(4);
        return;
      case 4:
        throw new WireError(`end-group tag without a start (field ${tag >>> 3})`);
      default:
        throw new WireError(`invalid wire type ${tag & 7} (field ${tag >>> 3})`);
    }
  }

  /** Skips a group (wire type 3) through its matching end tag; groups inside count towards {@link MAX_DEPTH}. */
  private skipGroup(number: number): void {
    const open = this.groups;
    let top = 0;
    open[top++] = number;
    if (this.depth + top > MAX_DEPTH) throw new WireError(`groups nested deeper than ${MAX_DEPTH}`);
    while (top > 0) {
      if (--this.work < 0) this.exhausted();
      const t = this.varint32();
      const n = t >>> 3;
      if (n === 0) throw new WireError("field number 0");
      if ((t & 7) === 3) {
        if (this.depth + top + 1 > MAX_DEPTH) throw new WireError(`groups nested deeper than ${MAX_DEPTH}`);
        open[top++] = n;
      } else if ((t & 7) === 4) {
        if (open[--top] !== n) throw new WireError(`end-group tag of field ${n} closes a group of field ${open[top] as number}`);
      } else {
        this.skipValue(t);
      }
    }
  }
}
