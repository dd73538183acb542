import { describeValue } from "../describe-value.js";
import { ConfigError, type ProtocacheError } from "../errors.js";
import type { EnvelopeWriteOptions } from "../envelope/encode.js";
import { MAX_WRITER_TAG_BYTES, type CompressionName } from "../envelope/format.js";
import { checkWellFormed, validatePrefix } from "../keys.js";
import { DEFAULT_BATCH_WORK, DEFAULT_READ_WORK, MAX_WORK } from "../codec/work.js";
import { readJson, type LegacyObject, type LegacySource, type ResolvedLegacy } from "./legacy.js";
import type { MetricsSink } from "../metrics/sink.js";

/** The largest string value Redis stores (512 MiB): no payload can be larger, on any Node.js line (whose Buffer limits differ). */
const maxRedisValueBytes = 512 * 1024 * 1024;

/** Options of a generated accessor (`userCache(store, options)`). Every field is optional. */
export interface AccessorOptions<T, K = unknown> {
  /** Prepended to every key, e.g. `"myapp:"`. May not contain `* ? [ ] \ { }`. Default `""`. */
  readonly prefix?: string;
  /** Isolates entries of an A/B arm or region that must not share entries with others. */
  readonly variant?: string;
  /** Overrides the schema's `ttl_seconds` for writes without their own; 0 for no expiry. */
  readonly ttlSeconds?: number;
  /** Names the writer in each envelope (service and version), at most 64 UTF-8 bytes. */
  readonly writerTag?: string;
  /** Record the write time in each envelope (6 bytes). Default true. */
  readonly writtenAt?: boolean;
  /** Compress payloads of at least `minBytes` (default 1024) when that makes them smaller. Default off. */
  readonly compression?: { readonly algorithm: "gzip" | "brotli"; readonly minBytes?: number } | false;
  /** Largest payload in bytes, compressed or not: larger entries are `corrupt` before any work (legacy values are not given to `legacy`), and `set` refuses to write one. Default 8 MiB, at most 512 MiB (the largest string Redis stores). */
  readonly maxPayloadBytes?: number;
  /**
   * Most work units one read may take (docs/reliability.md, "Work budget"):
   * every field, packed element, map entry, new object, decompressed byte
   * and string byte is charged before it is decoded, and an entry that needs
   * more is an `over_budget` miss (reported, never deleted), as is a legacy
   * value whose JSON needs more. Default 524 288 (2^19), which keeps every
   * stored value under 50 ms and 32 MB on the reference machine; raise it
   * for an entity whose values legitimately need more (from 1 to 10^9).
   * `set` does not check it: a value over its readers' budget is written,
   * and read as an `over_budget` miss naming this option.
   */
  readonly maxReadWork?: number;
  /**
   * Most work units one `getMany` may take in all (reads over their own
   * budget included): once spent, the remaining entries are `over_budget`
   * misses, reported once per call, so no batch size can exhaust the heap.
   * `migrate` decodes each batch in parts of at most this much. Default
   * 8 388 608 (2^23, 16 reads at the default `maxReadWork`; at least
   * `maxReadWork` when that is raised); from `maxReadWork` to 10^9.
   */
  readonly maxBatchWork?: number;
  /** What to do with entries of an older revision: upgrade with declared defaults (default) or treat as a miss. */
  readonly onOlderRevision?: "upgrade" | "miss";
  /** Oldest revision still read; older entries are `rejected` misses. Default 1 (all). */
  readonly minRevision?: number;
  /** Delete entries that are `rejected` by the revision window or policy. Default false. */
  readonly deleteRejected?: boolean;
  /** Delete malformed (`corrupt`) entries. Default false. */
  readonly deleteCorrupt?: boolean;
  /**
   * Rewrite upgraded entries in the current revision by compare-and-set:
   * only if unchanged since read, keeping their TTL exactly (a deleted key is
   * never re-created). Default true (docs/migrations.md says why, and when to
   * turn it off).
   */
  readonly writeBack?: boolean;
  /** Never overwrite an entry whose schema ID this code does not know (a newer deploy's). Default true. */
  readonly guardWrites?: boolean;
  /**
   * What a write refused by the guard does to the newer entry it could not
   * replace: `"delete"` (default) removes it in the same atomic step, so
   * readers miss and reload instead of keeping data the write meant to
   * replace; `"keep"` leaves it (fewer misses, possibly stale until its TTL).
   * Has no effect with `guardWrites: false`. docs/policies.md says when to
   * choose which.
   */
  readonly onGuarded?: "delete" | "keep";
  /**
   * Values stored before protocache: a reader (`(bytes) => object`, for
   * non-envelope values at this accessor's own keys), or a
   * {@link LegacySource} saying where the old entries live (a key function or
   * prefix) and how to read them (JSON by default). Converted values get
   * declared defaults for missing fields and are checked against the
   * current type; return undefined to treat a value as a `foreign` miss.
   */
  readonly legacy?: ((bytes: Buffer) => LegacyObject<T> | undefined) | LegacySource<K, T>;
  /** Rewrite converted legacy values found at this accessor's own keys as envelopes (compare-and-set, TTL kept). Default: the source's `adopt` (true), false for a plain reader function. */
  readonly rewriteLegacy?: boolean;
  /**
   * For an entity with `migrates_from`, how the previous major is used while
   * both run: `"read-through"` (default: a miss reads the previous major's
   * entry, converts it with `fromPrevious` and writes it here with its
   * expiry; deletes remove both keys), `"dual-write"` (also writes every
   * value to the previous major with `toPrevious`, so its readers keep
   * hitting), or `"off"` (the transition is over: this major alone).
   */
  readonly previousMajor?: "read-through" | "dual-write" | "off";
  /** Store failures: `"miss"` fails open (reads miss, writes resolve `"error"`), `"throw"` rejects. Default `"miss"`. */
  readonly onStoreError?: "miss" | "throw";
  /** Called with every error that was absorbed (store failures, corrupt entries, failed write-backs). */
  readonly onError?: (error: ProtocacheError) => void;
  /**
   * Milliseconds a call may wait for the store; then reads fail open and
   * writes resolve `"error"` (a `StoreTimeoutError`), whatever the Redis
   * client's own timeouts, and a late reply is dropped. 0 turns it off.
   * Default 200.
   */
  readonly deadlineMs?: number;
  /**
   * Longest key in UTF-8 bytes (prefix, entity, variant and escaped key
   * fields together): a longer one is a KeyError before any I/O. Default
   * 1024, at most 65536.
   */
  readonly maxKeyBytes?: number;
  /**
   * Most keys one `getMany` or `setMany` may take: a larger batch is a
   * ConfigError before any work. Batches go to Redis in chunks of 1000 keys
   * per server whatever this is. Default 100000.
   */
  readonly maxBatchKeys?: number;
  /** Receives every outcome `stats()` counts, with entity, major and schema ID, and get/set latencies (e.g. `openTelemetryMetrics(meter)` from `protocache/otel`). Default none. */
  readonly metrics?: MetricsSink;
}

/** {@link AccessorOptions} with defaults applied and values checked (the type parameter only names the entity). */
export interface ResolvedOptions<_T = unknown> {
  readonly prefix: string;
  readonly variant: string | undefined;
  readonly ttlSeconds: number;
  readonly writerTag: Buffer | undefined;
  readonly writtenAt: boolean;
  readonly compression: CompressionName;
  readonly compressMinBytes: number;
  readonly maxPayloadBytes: number;
  readonly maxReadWork: number;
  readonly maxBatchWork: number;
  readonly onOlderRevision: "upgrade" | "miss";
  readonly minRevision: number;
  readonly deleteRejected: boolean;
  readonly deleteCorrupt: boolean;
  readonly writeBack: boolean;
  readonly guardWrites: boolean;
  readonly onGuarded: "delete" | "keep";
  readonly legacy: ResolvedLegacy | undefined;
  readonly rewriteLegacy: boolean;
  readonly previousMajor: "read-through" | "dual-write" | "off";
  readonly onStoreError: "miss" | "throw";
  readonly onError: ((error: ProtocacheError) => void) | undefined;
  readonly deadlineMs: number;
  readonly maxKeyBytes: number;
  readonly maxBatchKeys: number;
  readonly metrics: MetricsSink | undefined;
}

const known = new Set([
  "prefix", "variant", "ttlSeconds", "writerTag", "writtenAt", "compression", "maxPayloadBytes", "maxReadWork", "maxBatchWork", "onOlderRevision",
  "minRevision", "deleteRejected", "deleteCorrupt", "writeBack", "guardWrites", "onGuarded", "legacy", "rewriteLegacy",
  "previousMajor", "onStoreError", "onError", "deadlineMs", "maxKeyBytes", "maxBatchKeys", "metrics",
]);

/**
 * Default longest key: Redis's own documentation calls a 1024-byte key "a bad idea" (memory,
 * and costly key comparisons on lookup), so no sane key template needs more.
 */
export const DEFAULT_MAX_KEY_BYTES = 1024;

/**
 * Default largest batch: 100 chunks of 1000 keys per server, a fraction of a second of
 * round trips, while the values decoded for one call stay a bounded amount of work.
 */
export const DEFAULT_MAX_BATCH_KEYS = 100_000;

/** Default per-call deadline: far above a healthy Redis round trip, far below what a request can afford to hang. */
export const DEFAULT_DEADLINE_MS = 200;

/** Checks every option (unknown names included) and applies defaults; `keyFields` names the entity's key fields (for `legacy.prefix`). */
export function resolveOptions<T, K = unknown>(options: AccessorOptions<T, K> | undefined, schemaTtl: number, keyFields: readonly string[] = []): ResolvedOptions<T> {
  const o: Record<string, unknown> = options === undefined ? {} : checkObject(options, "options");
  for (const name of Object.keys(o)) {
    if (!known.has(name)) throw new ConfigError(name, `unknown option; valid options are ${[...known].join(", ")}`);
  }
  const compression = o["compression"] === undefined || o["compression"] === false ? undefined : checkObject(o["compression"], "compression");
  if (compression !== undefined) checkKeys(compression, "compression", ["algorithm", "minBytes"]);
  const algorithm = compression === undefined ? "none" : oneOf(compression["algorithm"], "compression.algorithm", ["gzip", "brotli"] as const, undefined);
  const legacy = legacyOf(o["legacy"], keyFields);
  const maxReadWork = int(o["maxReadWork"], "maxReadWork", DEFAULT_READ_WORK, 1, MAX_WORK);
  const maxBatchWork = int(o["maxBatchWork"], "maxBatchWork", Math.max(DEFAULT_BATCH_WORK, maxReadWork), 1, MAX_WORK);
  if (maxBatchWork < maxReadWork) throw new ConfigError("maxBatchWork", `${maxBatchWork} is below maxReadWork (${maxReadWork}): a batch must afford at least one read`);
  return {
    prefix: validatePrefix(str(o["prefix"], "prefix", "")),
    variant: variantOf(o["variant"]),
    ttlSeconds: o["ttlSeconds"] === undefined ? schemaTtl : checkTtl(o["ttlSeconds"], "ttlSeconds"),
    writerTag: writerTagOf(o["writerTag"]),
    writtenAt: bool(o["writtenAt"], "writtenAt", true),
    compression: algorithm,
    compressMinBytes: int(compression?.["minBytes"], "compression.minBytes", 1024, 0),
    maxPayloadBytes: int(o["maxPayloadBytes"], "maxPayloadBytes", 8 * 1024 * 1024, 1, maxRedisValueBytes),
    maxReadWork,
    maxBatchWork,
    onOlderRevision: oneOf(o["onOlderRevision"], "onOlderRevision", ["upgrade", "miss"] as const, "upgrade"),
    minRevision: int(o["minRevision"], "minRevision", 1, 1),
    deleteRejected: bool(o["deleteRejected"], "deleteRejected", false),
    deleteCorrupt: bool(o["deleteCorrupt"], "deleteCorrupt", false),
    writeBack: bool(o["writeBack"], "writeBack", true),
    guardWrites: bool(o["guardWrites"], "guardWrites", true),
    onGuarded: oneOf(o["onGuarded"], "onGuarded", ["delete", "keep"] as const, "delete"),
    legacy,
    rewriteLegacy: bool(o["rewriteLegacy"], "rewriteLegacy", legacy !== undefined && typeof o["legacy"] !== "function" && legacy.adopt),
    previousMajor: oneOf(o["previousMajor"], "previousMajor", ["read-through", "dual-write", "off"] as const, "read-through"),
    onStoreError: oneOf(o["onStoreError"], "onStoreError", ["miss", "throw"] as const, "miss"),
    onError: fn<(error: ProtocacheError) => void>(o["onError"], "onError"),
    deadlineMs: int(o["deadlineMs"], "deadlineMs", DEFAULT_DEADLINE_MS, 0, 600_000),
    maxKeyBytes: int(o["maxKeyBytes"], "maxKeyBytes", DEFAULT_MAX_KEY_BYTES, 1, 65_536),
    maxBatchKeys: int(o["maxBatchKeys"], "maxBatchKeys", DEFAULT_MAX_BATCH_KEYS, 1, 10_000_000),
    metrics: metricsOf(o["metrics"]),
  };
}

/** How an accessor with these options writes envelopes. */
export function envelopeOptionsOf(options: ResolvedOptions<unknown>): EnvelopeWriteOptions {
  return {
    writtenAt: options.writtenAt,
    writerTag: options.writerTag,
    compression: options.compression,
    compressMinBytes: options.compressMinBytes,
    maxPayloadBytes: options.maxPayloadBytes,
  };
}

/** Rejects keys of an options object that are not among `allowed` (typos must not pass silently). */
export function checkKeys(object: Record<string, unknown>, option: string, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw new ConfigError(`${option}.${key}`, `unknown option; valid options are ${allowed.join(", ")}`);
  }
}

/** Checks a TTL in seconds: a whole number, 0 meaning no expiry. */
export function checkTtl(value: unknown, option: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigError(option, `expected whole seconds >= 0 (0: no expiry), got ${describeValue(value)}`);
  }
  return value;
}

function checkObject(value: unknown, option: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ConfigError(option, `expected an object, got ${describeValue(value)}`);
  return value as Record<string, unknown>;
}

function str(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string") throw new ConfigError(option, `expected a string, got ${describeValue(value)}`);
  return value;
}

function bool(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new ConfigError(option, `expected true or false, got ${describeValue(value)}`);
  return value;
}

function int(value: unknown, option: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(option, `expected a whole number from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}

function oneOf<const C extends readonly string[]>(value: unknown, option: string, choices: C, fallback: C[number] | undefined): C[number] {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "string" || !choices.includes(value)) {
    throw new ConfigError(option, `expected one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${describeValue(value)}`);
  }
  return value;
}

function fn<F>(value: unknown, option: string): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new ConfigError(option, `expected a function, got ${describeValue(value)}`);
  return value as F;
}

function variantOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const variant = str(value, "variant", "");
  if (variant === "") throw new ConfigError("variant", "may not be empty (omit it for no variant)");
  return checkWellFormed(variant, "variant");
}

function writerTagOf(value: unknown): Buffer | undefined {
  if (value === undefined) return undefined;
  const bytes = Buffer.from(checkWellFormed(str(value, "writerTag", ""), "writerTag"), "utf8");
  if (bytes.length === 0 || bytes.length > MAX_WRITER_TAG_BYTES) {
    throw new ConfigError("writerTag", `must be 1 to ${MAX_WRITER_TAG_BYTES} UTF-8 bytes, got ${bytes.length}`);
  }
  return bytes;
}

function legacyOf(value: unknown, keyFields: readonly string[]): ResolvedLegacy | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "function") return { key: undefined, read: value as (bytes: Buffer) => unknown, json: false, adopt: false, deleteOld: false };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ConfigError("legacy", `expected a function (a reader) or an object like { key, read }, got ${describeValue(value)}`);
  }
  const source = value as Record<string, unknown>;
  checkKeys(source, "legacy", ["key", "prefix", "read", "adopt", "deleteOld"]);
  const key = fn<(fields: unknown) => string>(source["key"], "legacy.key");
  const prefix = source["prefix"] === undefined ? undefined : checkWellFormed(str(source["prefix"], "legacy.prefix", ""), "legacy.prefix");
  if (key !== undefined && prefix !== undefined) throw new ConfigError("legacy", "give either key or prefix, not both");
  const byPrefix =
    prefix === undefined ? undefined
    : (fields: unknown) => prefix + keyFields.map((k) => String((fields as Record<string, unknown>)[k])).join(":");
  const read = fn<(bytes: Buffer, key: string) => unknown>(source["read"], "legacy.read");
  return {
    key: key ?? byPrefix,
    read: read ?? readJson,
    json: read === undefined,
    adopt: bool(source["adopt"], "legacy.adopt", true),
    deleteOld: bool(source["deleteOld"], "legacy.deleteOld", false),
  };
}

function metricsOf(value: unknown): MetricsSink | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "object" || value === null || typeof (value as MetricsSink).bind !== "function") {
    throw new ConfigError("metrics", `expected a MetricsSink (an object with bind(scope)), got ${describeValue(value)}`);
  }
  return value as MetricsSink;
}
