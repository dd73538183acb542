import type { Writer } from "../codec/writer.js";
import { compress } from "./compression.js";
import { Compression, ENVELOPE_VERSION, FIXED_HEADER_BYTES, Flags, MAGIC, type CompressionName } from "./format.js";

/** How envelopes are written; fixed per accessor, so it is resolved once. */
export interface EnvelopeWriteOptions {
  /** Record the write time (6 bytes). */
  readonly writtenAt: boolean;
  /** Writer tag, already UTF-8 encoded and at most 64 bytes. */
  readonly writerTag: Buffer | undefined;
  readonly compression: CompressionName;
  /** Payloads smaller than this are stored uncompressed. */
  readonly compressMinBytes: number;
  /** Largest payload (before compression) to write: what readers accept. Default: no limit. */
  readonly maxPayloadBytes?: number;
}

/**
 * What a write records besides the value: its written-at (epoch ms; default
 * the clock when it is encoded) and invalidation tags. A load passes its
 * start (what the source was read at); a rewrite of an entry (write-back,
 * read-through, migration) passes the entry's own header, so that neither
 * its freshness nor its tags change.
 */
export interface Stamp {
  readonly writtenAt?: number | undefined;
  readonly tags?: readonly string[] | undefined;
}

/**
 * The bytes of an absent marker: a version-1 header with the absent flag,
 * `schemaId` (the writer's current revision), written-at and writer tag as
 * `options` say, and no payload (docs/envelope.md).
 */
export function encodeAbsentMarker(schemaId: number, options: Pick<EnvelopeWriteOptions, "writtenAt" | "writerTag">, now: number, tags?: Buffer): Buffer {
  const tag = options.writerTag;
  if (tags !== undefined && !options.writtenAt) throw new RangeError("tags need written-at");
  const out = Buffer.allocUnsafe(FIXED_HEADER_BYTES + (options.writtenAt ? 6 : 0) + (tag === undefined ? 0 : 1 + tag.length) + (tags?.length ?? 0));
  out[0] = MAGIC;
  out[1] = ENVELOPE_VERSION;
  out.writeUInt32BE(schemaId >>> 0, 3);
  let flags = Flags.absent;
  let p = FIXED_HEADER_BYTES;
  if (options.writtenAt) {
    flags |= Flags.writtenAt;
    out.writeUIntBE(now, p, 6);
    p += 6;
  }
  if (tag !== undefined) {
    flags |= Flags.writerTag;
    out[p++] = tag.length;
    tag.copy(out, p);
    p += tag.length;
  }
  if (tags !== undefined) {
    flags |= Flags.tags;
    tags.copy(out, p);
  }
  out[2] = flags;
  return out;
}

/** A payload encoder, as generated for each message. */
export type PayloadEncoder<T> = (w: Writer, value: T) => void;

/**
 * Writes header and payload into the shared writer in one pass and returns a
 * detached copy. `tags` are invalidation tags encoded by `encodeTags`. Compression is applied only when it makes the payload
 * smaller. A payload larger than `maxPayloadBytes` throws: readers with the
 * same limit would count it as corrupt.
 */
export function encodeEnvelope<T>(
  w: Writer,
  schemaId: number,
  value: T,
  encode: PayloadEncoder<T>,
  options: EnvelopeWriteOptions,
  now: number,
  tags?: Buffer,
): Buffer {
  w.reset();
  if (tags !== undefined && !options.writtenAt) throw new RangeError("tags need written-at");
  w.ensure(FIXED_HEADER_BYTES + 6 + 65 + (tags?.length ?? 0));
  const b = w.buf;
  let flags = 0;
  b[0] = MAGIC;
  b[1] = ENVELOPE_VERSION;
  b[3] = schemaId >>> 24;
  b[4] = (schemaId >>> 16) & 0xff;
  b[5] = (schemaId >>> 8) & 0xff;
  b[6] = schemaId & 0xff;
  let p = FIXED_HEADER_BYTES;
  if (options.writtenAt) {
    flags |= Flags.writtenAt;
    const hi = Math.floor(now / 0x1_0000_0000);
    const lo = now >>> 0;
    b[p] = (hi >>> 8) & 0xff;
    b[p + 1] = hi & 0xff;
    b[p + 2] = lo >>> 24;
    b[p + 3] = (lo >>> 16) & 0xff;
    b[p + 4] = (lo >>> 8) & 0xff;
    b[p + 5] = lo & 0xff;
    p += 6;
  }
  const tag = options.writerTag;
  if (tag !== undefined) {
    flags |= Flags.writerTag;
    b[p++] = tag.length;
    tag.copy(b, p);
    p += tag.length;
  }
  if (tags !== undefined) {
    flags |= Flags.tags;
    tags.copy(b, p);
    p += tags.length;
  }
  b[2] = flags;
  w.pos = p;
  const headerEnd = p;
  encode(w, value);
  const size = w.pos - headerEnd;
  if (options.maxPayloadBytes !== undefined && size > options.maxPayloadBytes) {
    throw new RangeError(`payload of ${size} bytes exceeds maxPayloadBytes (${options.maxPayloadBytes}): readers would reject it`);
  }
  if (options.compression !== "none" && w.pos - headerEnd >= options.compressMinBytes) {
    const packed = compress(options.compression, w.buf.subarray(headerEnd, w.pos));
    if (packed.length < w.pos - headerEnd) {
      const out = Buffer.allocUnsafe(headerEnd + packed.length);
      w.buf.copy(out, 0, 0, headerEnd);
      out[2] = flags | Compression[options.compression];
      packed.copy(out, headerEnd);
      return out;
    }
  }
  return w.copy();
}
