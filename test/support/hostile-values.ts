import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { sessionEntity } from "../../generated/acme/session/v1/session.cache.js";
import { userEntity } from "../../generated/acme/user/v1/user.cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { readHeader } from "../../src/envelope/header.js";
import type { DecodeFailure } from "../../src/errors.js";
import type { ReadOutcome } from "../../src/stats.js";
import { envelope } from "./entries.js";
import { cacheKey, cachedBytes } from "./build-cache.js";

/**
 * The hostile stored values of docs/reliability.md ("Hostile stored
 * values"), shared by test/unit/hostile-reads.test.ts (which asserts each
 * outcome and bound) and `npm run hostile` (bench/hostile.ts, which
 * measures each in a fresh process and rewrites the table). Each name says
 * exactly what its bytes hold; `holds` says it again as a number a test
 * checks by decoding the payload without a budget.
 */
export interface HostileValue {
  readonly name: string;
  readonly entity: "user" | "session";
  /** The stored bytes (an envelope, or legacy text for `legacy` cases). */
  readonly bytes: () => Buffer;
  /** Accessor options besides the defaults (a legacy reader, say). */
  readonly options?: AccessorOptions<never, never>;
  readonly outcome: ReadOutcome;
  /** The DecodeError reason of a `corrupt` or `over_budget` outcome. */
  readonly reason?: DecodeFailure;
  /** Of the decoded payload (no budget): this field has this many map entries / elements. Checked by the test. */
  readonly holds?: { readonly field: string; readonly count: number; readonly distinct?: boolean };
}

const MiB = 1024 * 1024;
/** The default maxPayloadBytes. */
export const maxPayload = 8 * MiB;
const userId = userEntity.current.schemaId;
const sessionId = sessionEntity.current.schemaId;

/** Appends a varint to `out` at `at`; returns the new end. */
function putVarint(out: Buffer, at: number, v: number): number {
  while (v > 127) {
    out[at++] = (v & 127) | 128;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/** `count` records written by `write(out, at, i)` (each at most `most` bytes), concatenated. */
function records(count: number, most: number, write: (out: Buffer, at: number, i: number) => number): Buffer {
  const out = Buffer.alloc(count * most);
  let at = 0;
  for (let i = 0; i < count; i++) at = write(out, at, i);
  if (at > maxPayload) throw new Error(`hostile value of ${at} bytes exceeds maxPayloadBytes: not what its name says`);
  return out.subarray(0, at);
}

/** `pattern` repeated `times` times. */
function repeated(pattern: readonly number[], times: number): Buffer {
  const out = Buffer.alloc(pattern.length * times);
  out.set(pattern);
  for (let filled = pattern.length; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  return out;
}

const gzip = (payload: Buffer): Buffer => gzipSync(payload, { level: 9 });
/**
 * Brotli at quality 11 (the smallest stored value): seconds for 8 MB, so kept in the build cache by the payload's
 * digest (test/support/build-cache.ts); a saved one is used only if it decompresses to the payload.
 */
const brotli = (payload: Buffer): Buffer =>
  cachedBytes(
    `brotli-q11-${cacheKey(payload)}.br`,
    () => brotliCompressSync(payload, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: payload.length } }),
    (saved) => {
      try {
        return brotliDecompressSync(saved, { maxOutputLength: payload.length + 1 }).equals(payload);
      } catch {
        return false;
      }
    },
  );

/** `build`, made once per process (quality-11 brotli of 8 MB takes seconds). */
function once(build: () => Buffer): () => Buffer {
  let made: Buffer | undefined;
  return () => (made ??= build());
}

/** Session.previous_clients (field 16, map<int64, Client>) with keys 1..n, each value an empty Client. */
function int64Map(n: number, first = 1): Buffer {
  return records(n, 12, (out, at, i) => {
    out[at] = 0x82;
    out[at + 1] = 0x01;
    const lenAt = at + 2;
    out[at + 3] = 0x08;
    let p = putVarint(out, at + 4, first + i);
    out[p++] = 0x12;
    out[p++] = 0x00;
    out[lenAt] = p - lenAt - 1;
    return p;
  });
}

/** Session.attributes (field 7, map<string, string>) with n distinct keys (i in base 36), each value "". */
function stringMap(n: number): Buffer {
  return records(n, 16, (out, at, i) => {
    const key = i.toString(36);
    out[at] = 0x3a;
    out[at + 1] = key.length + 2;
    out[at + 2] = 0x0a;
    out[at + 3] = key.length;
    return at + 4 + out.write(key, at + 4, "latin1");
  });
}

/** Session.scopes (field 6) with n distinct strings (i in base 36). */
function distinctStrings(n: number): Buffer {
  return records(n, 8, (out, at, i) => {
    const s = i.toString(36);
    out[at] = 0x32;
    out[at + 1] = s.length;
    return at + 2 + out.write(s, at + 2, "latin1");
  });
}

/** Session.recent_status_codes (field 13) packed: n elements of value 5 in one field. */
function packedInt32(n: number): Buffer {
  const head = Buffer.alloc(6);
  head[0] = 0x6a;
  const end = putVarint(head, 1, n);
  return Buffer.concat([head.subarray(0, end), Buffer.alloc(n, 0x05)]);
}

/** User.name (field 2) holding one string of `bytes` UTF-8 bytes made of `char`. */
function oneString(char: string, bytes: number): Buffer {
  const text = Buffer.from(char.repeat(Math.floor(bytes / Buffer.byteLength(char))));
  const head = Buffer.alloc(6);
  head[0] = 0x12;
  return Buffer.concat([head.subarray(0, putVarint(head, 1, text.length)), text]);
}

const oneMillion = 1_000_000;
/** 4 000 000 unknown one-byte fields (field 7, varint 0): 8 MB. */
const unknownFlood = (): Buffer => repeated([0x38, 0x00], 4 * oneMillion);
const session = (payload: Buffer, flags = 0): Buffer => envelope(sessionId, payload, { flags });
const user = (payload: Buffer, flags = 0): Buffer => envelope(userId, payload, { flags });
const json = (text: string): Buffer => Buffer.from(text);
const legacyJson = { legacy: {} } as const;
const brotliMap = once(() => session(brotli(int64Map(900_000)), 2));

/** Per-read hostile values: each read alone, with the default options unless said. */
export const hostileValues: readonly HostileValue[] = [
  // Maps with distinct keys: what issue 19 measured at ~800 ms and +218 MB per read.
  { name: "map<int64, Client> with 900 000 distinct keys (8.1 MB)", entity: "session", bytes: () => session(int64Map(900_000)), outcome: "over_budget", reason: "over-budget", holds: { field: "previousClients", count: 900_000, distinct: true } },
  { name: "map<int64, Client> with 900 000 distinct keys, brotli-compressed (8.1 MB decompressed)", entity: "session", bytes: brotliMap, outcome: "over_budget", reason: "over-budget" },
  { name: "map<string, string> with 1 000 000 distinct keys (8 MB)", entity: "session", bytes: () => session(stringMap(oneMillion)), outcome: "over_budget", reason: "over-budget", holds: { field: "attributes", count: oneMillion, distinct: true } },
  { name: "map<int64, Client> with 24 000 distinct keys (within the default budget)", entity: "session", bytes: () => session(int64Map(24_000)), outcome: "hit", holds: { field: "previousClients", count: 24_000, distinct: true } },
  { name: "one map<int64, Client> entry repeated 1 200 000 times (one distinct key), its value with an unknown field (8.4 MB)", entity: "session", bytes: () => session(repeated([0x82, 0x01, 0x04, 0x12, 0x02, 0x38, 0x00], 1_198_000)), outcome: "over_budget", reason: "over-budget", holds: { field: "previousClients", count: 1 } },
  // Repeated elements.
  { name: "packed repeated int32 of 8 000 000 elements (8 MB)", entity: "session", bytes: () => session(packedInt32(8 * oneMillion)), outcome: "over_budget", reason: "over-budget", holds: { field: "recentStatusCodes", count: 8 * oneMillion } },
  { name: "repeated string of 4 000 000 empty strings (8 MB)", entity: "session", bytes: () => session(repeated([0x32, 0x00], 4 * oneMillion)), outcome: "over_budget", reason: "over-budget", holds: { field: "scopes", count: 4 * oneMillion } },
  { name: "repeated string of 1 000 000 distinct 1-4 character strings (6 MB)", entity: "session", bytes: () => session(distinctStrings(oneMillion)), outcome: "over_budget", reason: "over-budget", holds: { field: "scopes", count: oneMillion, distinct: true } },
  { name: "a bytes field repeated 4 000 000 times, each empty (8 MB)", entity: "session", bytes: () => session(repeated([0x72, 0x00], 4 * oneMillion)), outcome: "over_budget", reason: "over-budget" },
  // Unknown fields (kept as bytes: cheap each, but each is a field).
  { name: "4 000 000 unknown fields (8 MB), gzip-compressed", entity: "user", bytes: () => user(gzip(unknownFlood()), 1), outcome: "over_budget", reason: "over-budget" },
  { name: "4 000 000 unknown fields (8 MB), brotli-compressed", entity: "user", bytes: () => user(brotli(unknownFlood()), 2), outcome: "over_budget", reason: "over-budget" },
  { name: "4 000 000 unknown fields (8 MB), uncompressed", entity: "user", bytes: () => user(unknownFlood()), outcome: "over_budget", reason: "over-budget" },
  { name: "400 000 unknown fields (800 KB, within the default budget)", entity: "user", bytes: () => user(repeated([0x38, 0x00], 400_000)), outcome: "hit" },
  { name: "2 000 000 known and unknown fields interleaved (8 MB)", entity: "user", bytes: () => user(repeated([0x0a, 0x00, 0x38, 0x00], 2 * oneMillion)), outcome: "over_budget", reason: "over-budget" },
  { name: "one message field repeated 2 000 000 times (merged), each with an unknown field (8 MB)", entity: "session", bytes: () => session(repeated([0x42, 0x02, 0x38, 0x00], 2 * oneMillion)), outcome: "over_budget", reason: "over-budget" },
  // Bytes alone.
  { name: "one ASCII string of 8 MB", entity: "user", bytes: () => user(oneString("a", maxPayload - 16)), outcome: "hit" },
  { name: "one string of 8 MB of two-byte UTF-8 characters", entity: "user", bytes: () => user(oneString("é", maxPayload - 16)), outcome: "over_budget", reason: "over-budget" },
  { name: "one ASCII string of 8 MB, brotli-compressed", entity: "user", bytes: () => user(brotli(oneString("a", maxPayload - 16)), 2), outcome: "over_budget", reason: "over-budget" },
  { name: "one ASCII string of 4 MB, gzip-compressed", entity: "user", bytes: () => user(gzip(oneString("a", 4 * MiB)), 1), outcome: "hit" },
  { name: "gzip bomb (64 MiB of zeros)", entity: "user", bytes: () => user(gzip(Buffer.alloc(64 * MiB)), 1), outcome: "corrupt", reason: "too-large" },
  // Brotli output costs twice gzip's per byte: at the default budget decompression stops at 4 MiB, before maxPayloadBytes.
  { name: "brotli bomb (64 MiB of zeros)", entity: "user", bytes: () => user(brotli(Buffer.alloc(64 * MiB)), 2), outcome: "over_budget", reason: "over-budget" },
  { name: "100 MB uncompressed value", entity: "user", bytes: () => user(Buffer.alloc(100_000_000, 0x61)), outcome: "corrupt", reason: "too-large" },
  { name: "groups nested 4 000 000 deep (8 MB)", entity: "user", bytes: () => user(Buffer.alloc(4 * oneMillion * 2, 0x3b)), outcome: "corrupt", reason: "payload" },
  // The default legacy JSON reader.
  { name: "legacy JSON: arrays nested 4 000 000 deep (8 MB)", entity: "user", options: legacyJson, bytes: () => json(`{"id":"1","x":${"[".repeat(4 * oneMillion)}${"]".repeat(4 * oneMillion)}}`), outcome: "legacy_rejected" },
  { name: "legacy JSON: objects nested 1 000 000 deep in an unknown property (6 MB)", entity: "user", options: legacyJson, bytes: () => json(`{"id":"1","x":${'{"a":'.repeat(oneMillion)}0${"}".repeat(oneMillion)}}`), outcome: "legacy_rejected" },
  { name: "legacy JSON: an object of 800 000 distinct properties (8 MB)", entity: "user", options: legacyJson, bytes: () => json(`{"id":"1",${Array.from({ length: 800_000 }, (_, i) => `"p${i.toString(36)}":0`).join(",")}}`), outcome: "over_budget", reason: "over-budget" },
  { name: "legacy JSON: an array of 4 000 000 numbers in an unknown property (8 MB)", entity: "user", options: legacyJson, bytes: () => json(`{"id":"1","x":[${"0,".repeat(4 * oneMillion - 1)}0]}`), outcome: "over_budget", reason: "over-budget" },
  { name: "legacy JSON: a user nested 31 levels deep in an unknown property (within the depth limit)", entity: "user", options: legacyJson, bytes: () => json(`{"id":"1","name":"ada","x":${"[".repeat(30)}${"]".repeat(30)}}`), outcome: "legacy" },
];

/** The value of `getMany`'s hostile batch: the brotli-compressed 900 000-key map (~124 KB stored, 8.1 MB decompressed). */
export function worstBatchValue(): Buffer {
  return brotliMap();
}

/**
 * A Session envelope `stored` with the key fields `tenantId` and
 * `sessionId` added after its payload (compressed again as it was, brotli at
 * quality 5 for speed): what the entry at that key holds. Read at a key its
 * value's key fields do not make, a decoded value is a `key_mismatch` miss.
 */
export function sessionAt(stored: Buffer, tenantId: string, sessionId: string): Buffer {
  const fields = Buffer.concat([Buffer.from([0x0a, tenantId.length]), Buffer.from(tenantId, "latin1"), Buffer.from([0x12, sessionId.length]), Buffer.from(sessionId, "latin1")]);
  const header = readHeader(stored);
  const head = stored.subarray(0, header.payloadStart);
  const payload = stored.subarray(header.payloadStart);
  switch (header.compression) {
    case "none":
      return Buffer.concat([stored, fields]);
    case "gzip":
      return Buffer.concat([head, gzipSync(Buffer.concat([gunzipSync(payload), fields]))]);
    case "brotli":
      return Buffer.concat([head, brotliCompressSync(Buffer.concat([brotliDecompressSync(payload), fields]), { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } })]);
  }
}

const varint = (v: number): number[] => {
  const out: number[] = [];
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};

/** Small malformed (or odd but well-formed) stored values: each a counted outcome in microseconds. */
export const malformedValues: readonly HostileValue[] = [
  { name: "length of 2^32 - 1", entity: "user", bytes: () => user(Buffer.from([0x0a, ...varint(2 ** 32 - 1), 0x61])), outcome: "corrupt" },
  { name: "length varint above 2^32", entity: "user", bytes: () => user(Buffer.from([0x0a, 0x80, 0x80, 0x80, 0x80, 0x10])), outcome: "corrupt" },
  { name: "11-byte varint", entity: "user", bytes: () => user(Buffer.from([0x28, ...Array<number>(10).fill(0xff), 0x01])), outcome: "corrupt" },
  { name: "10-byte varint above 64 bits", entity: "user", bytes: () => user(Buffer.from([0x28, ...Array<number>(9).fill(0xff), 0x7f])), outcome: "corrupt" },
  { name: "tag above 32 bits", entity: "user", bytes: () => user(Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x7f, 0x00])), outcome: "corrupt" },
  { name: "field number 0", entity: "user", bytes: () => user(Buffer.from([0x00, 0x00])), outcome: "corrupt" },
  { name: "wire type 6", entity: "user", bytes: () => user(Buffer.from([0x0e, 0x00])), outcome: "corrupt" },
  { name: "wire type 7", entity: "user", bytes: () => user(Buffer.from([0x0f, 0x00])), outcome: "corrupt" },
  { name: "end-group without start (wire type 4)", entity: "user", bytes: () => user(Buffer.from([0x3c])), outcome: "corrupt" },
  { name: "truncated fixed64 (wire type 1)", entity: "user", bytes: () => user(Buffer.from([0x39, 0x01, 0x02])), outcome: "corrupt" },
  { name: "truncated fixed32 (wire type 5)", entity: "user", bytes: () => user(Buffer.from([0x3d, 0x01])), outcome: "corrupt" },
  { name: "unknown fixed64 and fixed32 fields (wire types 1 and 5)", entity: "user", bytes: () => user(Buffer.from([0x39, 1, 2, 3, 4, 5, 6, 7, 8, 0x3d, 1, 2, 3, 4])), outcome: "hit" },
  { name: "unknown group nested 99 deep (wire types 3 and 4)", entity: "user", bytes: () => user(Buffer.from([...Array<number>(99).fill(0x3b), ...Array<number>(99).fill(0x3c)])), outcome: "hit" },
  { name: "group closed by another field's end tag", entity: "user", bytes: () => user(Buffer.from([0x3b, 0x44])), outcome: "corrupt" },
  { name: "nested message overrunning its length", entity: "session", bytes: () => session(Buffer.from([0x42, 0x02, 0x0a, 0x05, 0x61, 0x62, 0x63])), outcome: "corrupt" },
  { name: "invalid UTF-8 in a string field", entity: "user", bytes: () => user(Buffer.from([0x12, 0x02, 0xc3, 0x28])), outcome: "corrupt" },
  { name: "Timestamp with nanos of 1e9 (out of its range; the encoder refuses to write one)", entity: "session", bytes: () => session(Buffer.from([0x8a, 0x01, 0x06, 0x10, ...varint(1e9)])), outcome: "corrupt" },
  { name: "UTF-16 surrogate encoded as UTF-8 in a map key", entity: "session", bytes: () => session(Buffer.from([0x3a, 0x05, 0x0a, 0x03, 0xed, 0xa0, 0x80])), outcome: "corrupt" },
];
