/** First byte of every envelope; never the first byte of JSON, msgpack, gzip, zstd, Confluent or Avro framing. */
export const MAGIC = 0xc1;
/** The envelope layout this code writes and reads. */
export const ENVELOPE_VERSION = 1;
/** Bytes before the optional fields: magic, version, flags, schema ID. */
export const FIXED_HEADER_BYTES = 7;
/** Offset of the big-endian uint32 schema ID (fixed, so Lua and GETRANGE can read it). */
export const SCHEMA_ID_OFFSET = 3;
/** Longest writer tag, in UTF-8 bytes. */
export const MAX_WRITER_TAG_BYTES = 64;
/** Most invalidation tags one entry carries. */
export const MAX_TAGS = 32;
/** Longest invalidation tag, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 128;

/** Flag bits of byte 2. */
export const Flags = {
  compressionMask: 0b0000_0011,
  writtenAt: 0b0000_0100,
  writerTag: 0b0000_1000,
  /**
   * An absent marker (docs/loading.md): the loader said the entity does not
   * exist; no payload follows the header, and compression bits are 0.
   * Runtimes before the loading cache treat this bit as reserved, so they
   * read a marker as a `corrupt` miss, never as a value.
   */
  absent: 0b0001_0000,
  /**
   * Invalidation tags follow the writer tag (docs/invalidation.md): a count
   * byte, then each tag as a length byte and UTF-8. Needs the written-at
   * flag (an entry's tags are compared with its written-at). Runtimes before
   * tags treat this bit as reserved, so they read a tagged entry as a
   * `corrupt` miss, never as a value an invalidation may have retired.
   */
  tags: 0b0010_0000,
  reserved: 0b1100_0000,
} as const;

/** Payload compression codes stored in flag bits 0-1 (3 is reserved). */
export const Compression = { none: 0, gzip: 1, brotli: 2 } as const;

/** Name of a payload compression. */
export type CompressionName = keyof typeof Compression;
