/**
 * Where a decoded message keeps the fields its reader did not know (written
 * by a newer revision): their exact bytes (tag and value, in wire order) in
 * one `Uint8Array` under this symbol. Encoders write them back after the
 * known fields, so an older writer never strips a newer writer's fields.
 *
 * A symbol, not a string property: it is not part of ts-proto's interfaces,
 * `JSON.stringify` skips it, and object spread (`{ ...user, name }`) copies
 * it, so an edited copy keeps the fields too. `Symbol.for` makes two copies
 * of the runtime agree on it.
 */
export const unknownFields: unique symbol = Symbol.for("protocache.unknownFields") as never;

/** A message value that may carry unknown fields. */
export interface WithUnknownFields {
  [unknownFields]?: Uint8Array;
}

/** The unknown fields kept on a decoded message (tag and value bytes, in wire order), if any. */
export function unknownFieldsOf(message: object): Uint8Array | undefined {
  return (message as WithUnknownFields)[unknownFields];
}

/** Gives `to` the unknown fields kept on `from` (generated `createX(init)` calls it, so a copy keeps them). */
export function copyUnknownFields(from: object, to: object): void {
  const u = (from as WithUnknownFields)[unknownFields];
  if (u !== undefined) (to as WithUnknownFields)[unknownFields] = u;
}

/** Copies `src[s..e]` to `dst` at `at`: a loop for a few bytes, one native call for more. */
function copyBytes(src: Buffer, s: number, e: number, dst: Uint8Array, at: number): void {
  if (e - s <= 16) for (let i = s; i < e; i++) dst[at++] = src[i] as number;
  else src.copy(dst, at, s, e);
}

/** A scratch buffer this large or smaller is kept for the next decode. */
const retainedScratch = 64 * 1024;

/**
 * Collects the unknown fields of the messages being decoded, one nesting
 * level per message. A message's unknown fields that are adjacent on the wire
 * are one pending input range (no copy); when a known field or a nested
 * message comes in between, the pending range is appended to a scratch
 * buffer used as a stack, so that when the message ends its unknown fields
 * are one contiguous range, in wire order, copied out once. Work and memory
 * are proportional to the unknown bytes, never one array per field, and a
 * message decoded into twice (a merged field) grows its bytes geometrically.
 */
export class UnknownCollector {
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  /** Scratch offset at which each open level's bytes begin. */
  private readonly mark: Int32Array;
  private scratch = Buffer.allocUnsafe(0);
  private used = 0;
  /** Growable buffers of messages that received unknown fields more than once in this decode. */
  private merged: Map<object, { buf: Buffer; len: number }> | undefined;

  constructor(maxDepth: number) {
    this.start = new Int32Array(maxDepth + 2).fill(-1);
    this.end = new Int32Array(maxDepth + 2);
    this.mark = new Int32Array(maxDepth + 2);
  }

  /** A message starts at nesting level `depth`. */
  open(depth: number): void {
    this.mark[depth] = this.used;
    this.start[depth] = -1;
  }

  /** Bytes `s..e` of `input` are an unknown field of the message at level `depth`. */
  add(depth: number, input: Buffer, s: number, e: number): void {
    if (this.end[depth] === s && (this.start[depth] as number) >= 0) {
      this.end[depth] = e;
      return;
    }
    if ((this.start[depth] as number) >= 0) this.push(input, this.start[depth] as number, this.end[depth] as number);
    this.start[depth] = s;
    this.end[depth] = e;
  }

  /** The message at level `depth` ends: `owner` gets its unknown fields, after any it had. True when it got some. */
  close(depth: number, input: Buffer, owner: object): boolean {
    const s = this.start[depth] as number;
    if (s < 0) return false;
    this.start[depth] = -1;
    const mark = this.mark[depth] as number;
    if (this.used === mark) {
      this.attach(owner, input, s, this.end[depth] as number);
    } else {
      this.push(input, s, this.end[depth] as number);
      this.attach(owner, this.scratch, mark, this.used);
      this.used = mark;
    }
    return true;
  }

  /** Forgets everything (between decodes, or after a failed one); every level's range is reset when it opens. */
  reset(): void {
    this.used = 0;
    if (this.scratch.length > retainedScratch) this.scratch = Buffer.allocUnsafe(0);
    this.merged = undefined;
  }

  private push(input: Buffer, s: number, e: number): void {
    const n = e - s;
    if (this.used + n > this.scratch.length) {
      const next = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, this.used + n, 256));
      this.scratch.copy(next, 0, 0, this.used);
      this.scratch = next;
    }
    copyBytes(input, s, e, this.scratch, this.used);
    this.used += n;
  }

  private attach(owner: object, src: Buffer, s: number, e: number): void {
    const n = e - s;
    const target = owner as WithUnknownFields;
    let grow = this.merged?.get(owner);
    if (grow === undefined) {
      const before = target[unknownFields];
      if (before === undefined) {
        const out = new Uint8Array(n);
        copyBytes(src, s, e, out, 0);
        target[unknownFields] = out;
        return;
      }
      // The message was decoded into before (a merged field): grow geometrically, hand over in finish().
      grow = { buf: Buffer.alloc(Math.max(2 * (before.length + n), 64)), len: before.length };
      grow.buf.set(before);
      (this.merged ??= new Map()).set(owner, grow);
    }
    if (grow.len + n > grow.buf.length) {
      const buf = Buffer.alloc(2 * (grow.len + n));
      grow.buf.copy(buf, 0, 0, grow.len);
      grow.buf = buf;
    }
    copyBytes(src, s, e, grow.buf, grow.len);
    grow.len += n;
  }

  /** The outermost message ended: messages whose unknown fields came in several parts get them all. */
  finish(): void {
    if (this.merged === undefined) return;
    for (const [owner, { buf, len }] of this.merged) (owner as WithUnknownFields)[unknownFields] = new Uint8Array(buf.buffer, buf.byteOffset, len);
    this.merged = undefined;
  }
}
