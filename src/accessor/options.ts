import { ConfigError, type ProtocacheError } from "../errors.js";
import type { EnvelopeWriteOptions } from "../envelope/encode.js";
import { MAX_WRITER_TAG_BYTES, type CompressionName } from "../envelope/format.js";
import { checkWellFormed, validatePrefix } from "../keys.js";
import type { MetricsSink } from "../metrics/sink.js";
import {
  boolean,
  func,
  integer,
  invalid,
  oneOf,
  optional,
  options,
  refine,
  satisfies,
  text,
  ttlSeconds,
  withDefault,
  type Check,
  type Checked,
  type ShapeOf,
} from "../validation/index.js";
import { DEFAULT_BATCH_WORK, DEFAULT_READ_WORK, MAX_WORK } from "../codec/work.js";
import { readJson, type LegacyObject, type LegacySource, type ResolvedLegacy } from "./legacy.js";
import { auditCheck, type AuditOptions, type ResolvedAudit } from "./audit-options.js";
import { invalidationCheck, writeTagsCheck, type InvalidationOptions, type ResolvedInvalidation } from "./invalidation-options.js";
import { l1Check, type L1Options, type ResolvedL1 } from "./l1-options.js";
import { loadingCheck, type LoadingOptions, type ResolvedLoading } from "./loading-options.js";

/** The largest string value Redis stores (512 MiB): no payload can be larger, on any Node.js line (whose Buffer limits differ). */
const maxRedisValueBytes = 512 * 1024 * 1024;

/** Options of a generated accessor (`userCache(store, options)`). Every field is optional. */
export interface AccessorOptions<T, K = unknown> {
  /** Prepended to every key, e.g. `"myapp:"`. May not contain `* ? [ ] \ { }`. Default `""`. */
  readonly prefix?: string;
  /** Isolates entries of an A/B arm or region that must not share entries with others. */
  readonly variant?: string;
  /** Overrides the schema's `ttl_seconds` for writes without their own, in whole seconds up to 315 576 000 (10 years, `MAX_TTL_SECONDS`); 0 for no expiry. */
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
  /**
   * The loading cache (`getOrSet`, `getManyOrSet`): grace, TTL jitter,
   * absent markers, timeouts, eager refresh and the cross-instance lease
   * (docs/loading.md). Jitter and grace shape every write's Redis TTL.
   */
  readonly loading?: LoadingOptions;
  /**
   * An in-process L1 in front of Redis, invalidated by Redis itself
   * (docs/l1.md): `get`, `getMany`, `getOrSet` and `getManyOrSet` look in
   * it first. Default none.
   */
  readonly l1?: L1Options;
  /**
   * Record the age of every value served (now less its envelope's
   * written-at) by source, L1 hits included, in `stats().servedAge` and the
   * metrics sink (docs/served-age.md). Default true: it costs an L1 hit a
   * few percent (docs/benchmarks.md, "served-age histogram on vs off").
   */
  readonly servedAge?: boolean;
  /**
   * The staleness audit (docs/served-age.md): a sample of `getOrSet` and
   * `getManyOrSet` hits also calls the loader in the background and
   * compares its value with the one served, counted in `stats().audit`.
   * It costs the source `sampleRate` × hits loader calls a second, at most
   * `maxPerSecond`. Default off.
   *
   * @example
   * ```ts
   * const users = userCache(store, { audit: { sampleRate: 0.01, maxPerSecond: 5 } });
   * ```
   */
  readonly audit?: AuditOptions | false;
  /**
   * Tags on writes and `clear()` of the key space (docs/invalidation.md):
   * every read checks its entry's written-at against the states of its
   * tags and of its key space, held in process and kept valid by Redis's
   * own tracking. Every instance reading the key space needs it, or that
   * instance ignores invalidations. Default off.
   */
  readonly invalidation?: boolean | InvalidationOptions;
}

/** Per-write options (`set(value, options)`, `setMany(values, options)`). */
export interface WriteOptions {
  /** Time to live in whole seconds for this write, up to 315 576 000 (10 years, `MAX_TTL_SECONDS`); 0 for no expiry. Defaults to the accessor's. */
  readonly ttlSeconds?: number;
  /** Invalidation tags of the entries written (docs/invalidation.md): `invalidateTags` of any of them makes these entries misses. Up to 32 distinct strings of at most 128 UTF-8 bytes. Needs the accessor's `invalidation` option. */
  readonly tags?: readonly string[];
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
  readonly loading: ResolvedLoading;
  readonly l1: ResolvedL1 | undefined;
  readonly servedAge: boolean;
  readonly audit: ResolvedAudit | undefined;
  readonly invalidation: ResolvedInvalidation | undefined;
}

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

/** The accessor's TTL and a write's: whole seconds up to MAX_TTL_SECONDS (10 years), 0 for no expiry. */
const ttlCheck = ttlSeconds("no expiry");

const functionOrSource = "a function (a reader) or an object like { key, read }";

/** `legacy`: a reader function, or a source saying where old entries live and how to read them. */
const legacySourceCheck = refine(
  options(
    {
      key: optional(func<(fields: unknown) => string>()),
      prefix: optional(refine(text(), checkWellFormed)),
      read: optional(func<(bytes: Buffer, key: string) => unknown>()),
      adopt: withDefault(boolean(), true),
      deleteOld: withDefault(boolean(), false),
    },
    { expected: functionOrSource, optional: false },
  ),
  (source, path) => {
    if (source.key !== undefined && source.prefix !== undefined) throw new ConfigError(path, "give either key or prefix, not both");
    return source;
  },
);

const legacyCheck: Check<LegacySpec | undefined> = (value, path) => {
  if (value === undefined) return undefined;
  if (typeof value === "function") return { reader: value as (bytes: Buffer) => unknown };
  return { source: legacySourceCheck(value, path) };
};

type LegacySpec = { readonly reader: (bytes: Buffer) => unknown } | { readonly source: Checked<typeof legacySourceCheck> };

/** `compression`: off (`false` or left out), or an algorithm and a threshold. */
const compressionCheck = (value: unknown, path: string): { algorithm: "gzip" | "brotli"; minBytes: number } | undefined =>
  value === undefined || value === false
    ? undefined
    : options({ algorithm: oneOf(["gzip", "brotli"] as const), minBytes: withDefault(integer(0), 1024) }, { optional: false })(value, path);

const writerTagCheck = refine(refine(text(), checkWellFormed), (tag, path) => {
  const bytes = Buffer.from(tag, "utf8");
  if (bytes.length === 0 || bytes.length > MAX_WRITER_TAG_BYTES) throw new ConfigError(path, `must be 1 to ${MAX_WRITER_TAG_BYTES} UTF-8 bytes, got ${bytes.length}`);
  return bytes;
});

/** `variant`: a non-empty, well-formed string (shared by the accessor and key spaces). */
export const variantCheck = refine(text(), (variant, path) => {
  if (variant === "") throw new ConfigError(path, "may not be empty (omit it for no variant)");
  return checkWellFormed(variant, path);
});

/** `metrics`: a {@link MetricsSink} (shared by the accessor and key spaces). */
export const metricsCheck = satisfies<MetricsSink>(
  (v) => typeof v === "object" && v !== null && typeof (v as MetricsSink).bind === "function",
  "a MetricsSink (an object with bind(scope))",
);

/** `prefix`: empty, or `:`-terminated segments without glob characters or a major-like segment (shared by the accessor and key spaces). */
export const prefixCheck = refine(text(), (prefix, path) => validatePrefix(prefix, path));

/** The spec of {@link AccessorOptions}: one check per option (`ttlSeconds` and `rewriteLegacy` get their defaults in {@link resolveOptions}). */
const accessorOptions = options(
  {
    prefix: withDefault(prefixCheck, ""),
    variant: optional(variantCheck),
    ttlSeconds: optional(ttlCheck),
    writerTag: optional(writerTagCheck),
    writtenAt: withDefault(boolean(), true),
    compression: compressionCheck,
    maxPayloadBytes: withDefault(integer(1, maxRedisValueBytes), 8 * 1024 * 1024),
    maxReadWork: withDefault(integer(1, MAX_WORK), DEFAULT_READ_WORK),
    maxBatchWork: optional(integer(1, MAX_WORK)),
    onOlderRevision: withDefault(oneOf(["upgrade", "miss"] as const), "upgrade"),
    minRevision: withDefault(integer(1), 1),
    deleteRejected: withDefault(boolean(), false),
    deleteCorrupt: withDefault(boolean(), false),
    writeBack: withDefault(boolean(), true),
    guardWrites: withDefault(boolean(), true),
    onGuarded: withDefault(oneOf(["delete", "keep"] as const), "delete"),
    legacy: legacyCheck,
    rewriteLegacy: optional(boolean()),
    previousMajor: withDefault(oneOf(["read-through", "dual-write", "off"] as const), "read-through"),
    onStoreError: withDefault(oneOf(["miss", "throw"] as const), "miss"),
    onError: optional(func<(error: ProtocacheError) => void>()),
    deadlineMs: withDefault(integer(0, 600_000), DEFAULT_DEADLINE_MS),
    maxKeyBytes: withDefault(integer(1, 65_536), DEFAULT_MAX_KEY_BYTES),
    maxBatchKeys: withDefault(integer(1, 10_000_000), DEFAULT_MAX_BATCH_KEYS),
    metrics: optional(metricsCheck),
    // Checked in resolveOptions, once writtenAt is known (grace needs it).
    loading: (v: unknown) => v as LoadingOptions | undefined,
    l1: l1Check,
    servedAge: withDefault(boolean(), true),
    audit: auditCheck,
    // Checked in resolveOptions, once writtenAt is known (tags are compared with it).
    invalidation: (v: unknown) => v,
  } satisfies ShapeOf<AccessorOptions<unknown>>,
  { name: "options" },
);

/** Checks every option (unknown names included) and applies defaults; `keyFields` names the entity's key fields (for `legacy.prefix`). */
export function resolveOptions<T, K = unknown>(options: AccessorOptions<T, K> | undefined, schemaTtl: number, keyFields: readonly string[] = []): ResolvedOptions<T> {
  const o = accessorOptions(options, "");
  const legacy = legacyOf(o.legacy, keyFields);
  const maxBatchWork = o.maxBatchWork ?? Math.max(DEFAULT_BATCH_WORK, o.maxReadWork);
  if (maxBatchWork < o.maxReadWork) throw new ConfigError("maxBatchWork", `${maxBatchWork} is below maxReadWork (${o.maxReadWork}): a batch must afford at least one read`);
  return {
    prefix: o.prefix,
    variant: o.variant,
    ttlSeconds: o.ttlSeconds ?? schemaTtl,
    writerTag: o.writerTag,
    writtenAt: o.writtenAt,
    compression: o.compression?.algorithm ?? "none",
    compressMinBytes: o.compression?.minBytes ?? 1024,
    maxPayloadBytes: o.maxPayloadBytes,
    maxReadWork: o.maxReadWork,
    maxBatchWork,
    onOlderRevision: o.onOlderRevision,
    minRevision: o.minRevision,
    deleteRejected: o.deleteRejected,
    deleteCorrupt: o.deleteCorrupt,
    writeBack: o.writeBack,
    guardWrites: o.guardWrites,
    onGuarded: o.onGuarded,
    legacy,
    rewriteLegacy: o.rewriteLegacy ?? (o.legacy !== undefined && "source" in o.legacy && o.legacy.source.adopt),
    previousMajor: o.previousMajor,
    onStoreError: o.onStoreError,
    onError: o.onError,
    deadlineMs: o.deadlineMs,
    maxKeyBytes: o.maxKeyBytes,
    maxBatchKeys: o.maxBatchKeys,
    metrics: o.metrics,
    loading: loadingCheck(o.writtenAt)(o.loading, "loading"),
    l1: o.l1,
    servedAge: o.servedAge,
    audit: o.audit,
    invalidation: invalidationCheck(o.writtenAt)(o.invalidation, "invalidation"),
  };
}

const writeOptions = options({ ttlSeconds: optional(ttlCheck), tags: writeTagsCheck } satisfies ShapeOf<WriteOptions>, {
  expected: "an object like { ttlSeconds: 60, tags: [\"shop:1\"] } or nothing",
});

/** One write's TTL and tags: the per-call options, checked like every option; the TTL defaults to `fallback` (the accessor's). */
export function writeOptionsOf(options: unknown, fallback: number): { readonly ttlSeconds: number; readonly tags: readonly string[] | undefined } {
  if (options === undefined) return { ttlSeconds: fallback, tags: undefined }; // the hot path: most writes pass no options
  const o = writeOptions(options, "write options");
  return { ttlSeconds: o.ttlSeconds ?? fallback, tags: o.tags !== undefined && o.tags.length > 0 ? o.tags : undefined };
}

/** A batch argument (`getMany(fields)`, `setMany(values)`): an array of at most `maxBatchKeys` entries, else a ConfigError before any work. */
export function batchOf<V>(values: readonly V[], argument: string, maxBatchKeys: number): readonly V[] {
  if (!Array.isArray(values)) throw invalid(argument, "an array", values);
  if (values.length > maxBatchKeys) throw new ConfigError(argument, `${values.length} entries, over maxBatchKeys (${maxBatchKeys}): split the batch, or raise maxBatchKeys`);
  return values;
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

function legacyOf(spec: LegacySpec | undefined, keyFields: readonly string[]): ResolvedLegacy | undefined {
  if (spec === undefined) return undefined;
  if ("reader" in spec) return { key: undefined, read: spec.reader, json: false, adopt: false, deleteOld: false };
  const { key, prefix, read, adopt, deleteOld } = spec.source;
  const byPrefix =
    prefix === undefined ? undefined
    : (fields: unknown) => prefix + keyFields.map((k) => String((fields as Record<string, unknown>)[k])).join(":");
  return { key: key ?? byPrefix, read: read ?? readJson, json: read === undefined, adopt, deleteOld };
}
