import { DecodeError } from "../errors.js";
import { ENVELOPE_VERSION, FIXED_HEADER_BYTES, Flags, MAGIC, MAX_TAG_BYTES, MAX_TAGS, SCHEMA_ID_OFFSET, type CompressionName } from "./format.js";

/** The parsed header of an envelope. */
export interface EnvelopeHeader {
  readonly version: number;
  readonly schemaId: number;
  readonly compression: CompressionName;
  /** Milliseconds since the epoch when the entry was written, if recorded. */
  readonly writtenAt: number | undefined;
  /** Free-form tag naming the writer (service, version), if recorded. */
  readonly writerTag: string | undefined;
  /** Offset where the (possibly compressed) payload starts. */
  readonly payloadStart: number;
  /** An absent marker (flag bit 4): no payload, the loader said the entity does not exist. */
  readonly absent: boolean;
  /** Invalidation tags (flag bit 5), in the order written; undefined when the entry has none. */
  readonly tags: readonly string[] | undefined;
}

const compressionByCode: readonly (CompressionName | undefined)[] = ["none", "gzip", "brotli", undefined];

/** True when the bytes start like an envelope of any version (the magic byte). */
export function isEnvelope(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === MAGIC;
}

/** Schema ID of an envelope header, or undefined when the bytes are too short or not an envelope. */
export function peekSchemaId(bytes: Uint8Array): number | undefined {
  if (bytes.length < FIXED_HEADER_BYTES || bytes[0] !== MAGIC) return undefined;
  const at = SCHEMA_ID_OFFSET;
  return ((bytes[at] as number) * 0x1000000 + ((bytes[at + 1] as number) << 16) + ((bytes[at + 2] as number) << 8) + (bytes[at + 3] as number)) >>> 0;
}

/**
 * Parses an envelope header; every length and flag is checked, and any
 * problem is a {@link DecodeError} (a newer envelope version included:
 * callers tell that case apart by `reason === "bad-version"`).
 */
export function readHeader(bytes: Uint8Array): EnvelopeHeader {
  if (bytes.length === 0 || bytes[0] !== MAGIC) throw new DecodeError("bad-magic", "not an envelope (first byte is not 0xC1)");
  if (bytes.length < FIXED_HEADER_BYTES) throw new DecodeError("truncated", `header needs ${FIXED_HEADER_BYTES} bytes, got ${bytes.length}`);
  const version = bytes[1] as number;
  const schemaId = peekSchemaId(bytes) as number;
  if (version !== ENVELOPE_VERSION) {
    throw new DecodeError("bad-version", `envelope version ${version} is not ${ENVELOPE_VERSION}`, schemaId);
  }
  if (schemaId === 0) throw new DecodeError("bad-schema-id", "schema ID 0 is reserved: no revision has it", schemaId);
  const flags = bytes[2] as number;
  const compression = compressionByCode[flags & Flags.compressionMask];
  if ((flags & Flags.reserved) !== 0 || compression === undefined) {
    throw new DecodeError("bad-flags", `flags 0x${flags.toString(16)} use reserved bits`, schemaId);
  }
  const absent = (flags & Flags.absent) !== 0;
  if (absent && compression !== "none") throw new DecodeError("bad-flags", `flags 0x${flags.toString(16)}: an absent marker has no payload to compress`, schemaId);
  let pos = FIXED_HEADER_BYTES;
  let writtenAt: number | undefined;
  if ((flags & Flags.writtenAt) !== 0) {
    if (bytes.length < pos + 6) throw new DecodeError("truncated", "written-at field cut short", schemaId);
    writtenAt = ((bytes[pos] as number) << 8 | (bytes[pos + 1] as number)) * 0x1_0000_0000 +
      (((bytes[pos + 2] as number) << 24) >>> 0) + ((bytes[pos + 3] as number) << 16) + ((bytes[pos + 4] as number) << 8) + (bytes[pos + 5] as number);
    pos += 6;
  }
  let writerTag: string | undefined;
  if ((flags & Flags.writerTag) !== 0) {
    const len = bytes[pos];
    if (len === undefined || bytes.length < pos + 1 + len) throw new DecodeError("truncated", "writer tag cut short", schemaId);
    if (len > 64) throw new DecodeError("bad-writer-tag", `writer tag of ${len} bytes exceeds 64`, schemaId);
    writerTag = Buffer.from(bytes.buffer, bytes.byteOffset + pos + 1, len).toString("utf8");
    pos += 1 + len;
  }
  let tags: string[] | undefined;
  if ((flags & Flags.tags) !== 0) {
    if ((flags & Flags.writtenAt) === 0) throw new DecodeError("bad-flags", `flags 0x${flags.toString(16)}: tags without written-at`, schemaId);
    const count = bytes[pos];
    if (count === undefined) throw new DecodeError("truncated", "tags cut short", schemaId);
    if (count === 0 || count > MAX_TAGS) throw new DecodeError("bad-tags", `${count} tags: an entry carries 1 to ${MAX_TAGS}`, schemaId);
    pos += 1;
    tags = [];
    for (let i = 0; i < count; i++) {
      const len = bytes[pos];
      if (len === undefined || bytes.length < pos + 1 + len) throw new DecodeError("truncated", "tags cut short", schemaId);
      if (len === 0 || len > MAX_TAG_BYTES) throw new DecodeError("bad-tags", `a tag of ${len} bytes: tags have 1 to ${MAX_TAG_BYTES}`, schemaId);
      tags.push(Buffer.from(bytes.buffer, bytes.byteOffset + pos + 1, len).toString("utf8"));
      pos += 1 + len;
    }
  }
  if (absent && pos !== bytes.length) throw new DecodeError("payload", `an absent marker has no payload, got ${bytes.length - pos} bytes after its header`, schemaId);
  return { version, schemaId, compression, writtenAt, writerTag, payloadStart: pos, absent, tags };
}
