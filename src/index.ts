/**
 * protocache: typed, version-aware cache accessors generated from Protocol
 * Buffers schemas. Generated modules give you `userCache(store)`; this entry
 * point gives you the stores, options, errors and envelope tools.
 * @packageDocumentation
 */
export type { CacheEntry, CloseOptions, EntityCache } from "./accessor/entity-cache.js";
export type { BatchLoadContext, BatchLoader, LoadContext, Loader } from "./accessor/loading.js";
export type { LoadEntryControl } from "./accessor/load-context.js";
export type { EntryOperations } from "./accessor/entry-ops.js";
export type { ReadOptions } from "./accessor/read-options.js";
export type { LoadCallOptions, LoadingOptions } from "./accessor/loading-options.js";
export type { L1Options } from "./accessor/l1-options.js";
export type { InvalidationOptions } from "./accessor/invalidation-options.js";
export { invalidateTags, type InvalidateTagsOptions } from "./invalidation/invalidate.js";
export { MAX_TAG_BYTES, MAX_TAGS } from "./envelope/format.js";
export type { FlushReason, InvalidationListener, InvalidationSource, InvalidationWatch } from "./l1/invalidation-source.js";
export type { L1Values } from "./l1/l1.js";
export { RedisTracking, type TrackingConnection, type TrackingConnectionEvents, type TrackingDriver, type TrackingOptions, type TrackingStats } from "./l1/redis-tracking.js";
export { ioredisTracking } from "./stores/ioredis/tracking-driver.js";
export { nodeRedisTracking } from "./stores/node-redis/tracking-driver.js";
export { MemoryTracking } from "./stores/memory/memory-tracking.js";
export type { Entity } from "./accessor/entity.js";
export type { LegacyObject, LegacySource } from "./accessor/legacy.js";
export type { Migrations } from "./accessor/migrations.js";
export type { AccessorOptions, WriteOptions } from "./accessor/options.js";
export { MAX_TTL_SECONDS } from "./validation/ttl.js";
export { unknownFields, unknownFieldsOf, type WithUnknownFields } from "./codec/unknown-fields.js";
export type { FromJsonOptions, Json, JsonObject, ToJsonOptions } from "./codec/json.js";
export { decompress } from "./envelope/compression.js";
export { Compression, ENVELOPE_VERSION, MAGIC, type CompressionName } from "./envelope/format.js";
export { isEnvelope, peekSchemaId, readHeader, type EnvelopeHeader } from "./envelope/header.js";
export {
  AccessorClosedError,
  ConfigError,
  KeyMismatchError,
  LoadContextError,
  LoaderError,
  LoaderResultError,
  LoadTimeoutError,
  DecodeError,
  EncodeError,
  InvalidationStateError,
  JsonError,
  KeyError,
  LegacyReaderError,
  LegacyValueError,
  LiveDataError,
  MigrationResultError,
  ProtocacheError,
  ReadCountsError,
  SCRIPT_ACL_HINT,
  ScriptPermissionError,
  ServerUnreachableError,
  StoreError,
  StoreTimeoutError,
  TimePrecisionError,
  TimeValueError,
  UnknownSchemaError,
  UpgradeError,
  RedisReplyError,
  UnexpectedReplyError,
  type ConfigErrorDetails,
  type DecodeFailure,
  type LiveSelector,
  type TimeType,
} from "./errors.js";
export {
  durationFromMillis,
  durationToMillis,
  timestampFromDate,
  timestampFromMillis,
  timestampToDate,
  timestampToMillis,
  type DurationValue,
  type TimeRounding,
  type TimestampValue,
  type ToMillisOptions,
} from "./time.js";
export { escapeKeyPart, keyBase, scanPattern, splitKeyParts, unescapeKeyPart } from "./keys.js";
export { SchemaRegistry, type SchemaEntry } from "./registry.js";
export { AGE_BOUNDS_MS, ageQuantile, SERVED_AGE_SOURCES, type AgeHistogram, type ServedAgeSource } from "./metrics/age-histogram.js";
export type { AuditOptions } from "./accessor/audit-options.js";
export type { AuditCounter, AuditStats, CacheStats, DeleteCounter, InvalidationCounter, L1Counter, L1Stats, LoadCounter, ReadOutcome, WriteCounter, WriteOutcome } from "./stats.js";
export { noopMetrics, type MetricRecorder, type MetricScope, type MetricsSink, type TimedCall } from "./metrics/sink.js";
export { census, type CensusGroup, type CensusOptions, type CensusReport } from "./ops/census.js";
export { cleanup, type CleanupOptions, type CleanupReport, type CleanupSelection } from "./ops/cleanup.js";
export { deprecatable, parseReadCounts, type DeprecationTarget, type DeprecationVerdict, type ReadCounts } from "./ops/deprecatable.js";
export { inspect, type InspectOptions, type InspectReport, type PayloadDecoder } from "./ops/inspect.js";
export type { KeySpaceSpec } from "./ops/key-space.js";
export { migrate, type MigrateOptions, type MigrateOutcome, type MigrateProgress, type MigrateReport, type MigrateStats } from "./ops/migrate.js";
export type { OutcomeCounts } from "./ops/tally.js";
export type { WalkOptions, WalkProgress, WalkTotals } from "./ops/walk.js";
export type {
  BulkStore,
  CreateItem,
  DeleteRule,
  DeleteTally,
  HeadClass,
  HeadTally,
  NodeInfo,
  ReplaceItem,
  ReplaceResult,
  ScanCapable,
  ScanNode,
  ScanPage,
  StoredValue,
} from "./stores/bulk.js";
export { MemoryStore, type MemoryStoreOptions } from "./stores/memory/memory-store.js";
export { NodeRedisStore } from "./stores/node-redis/node-redis-store.js";
export type { NodeRedisClient, NodeRedisCluster, NodeRedisTypeMapping } from "./stores/node-redis/client.js";
export { RedisStore } from "./stores/ioredis/ioredis-store.js";
export type { IoredisClient } from "./stores/ioredis/client.js";
export { GlideStore } from "./stores/valkey-glide/glide-store.js";
export type { ValkeyGlideBatch, ValkeyGlideClient, ValkeyGlideCluster, ValkeyGlideOptions, ValkeyGlideRoute } from "./stores/valkey-glide/transport.js";
export { RedisCacheStore } from "./stores/redis/redis-cache-store.js";
export type { CompareMode, RedisStoreOptions } from "./stores/redis/compare.js";
export type { Arg, Command, RedisTransport, Reply, ServerLink } from "./stores/redis/transport.js";
export type { CacheStore, Deadline, SetOutcome, StoreWrite, StoreWriteResult, TimedValue, WriteGuard } from "./stores/store.js";
