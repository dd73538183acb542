/**
 * protocache: typed, version-aware cache accessors generated from Protocol
 * Buffers schemas. Generated modules give you `userCache(store)`; this entry
 * point gives you the stores, options, errors and envelope tools.
 * @packageDocumentation
 */
export type { CacheEntry, EntityCache, WriteOptions } from "./accessor/entity-cache.js";
export type { Entity } from "./accessor/entity.js";
export type { LegacyObject, LegacySource } from "./accessor/legacy.js";
export type { Migrations } from "./accessor/migrations.js";
export type { AccessorOptions } from "./accessor/options.js";
export { unknownFields, unknownFieldsOf, type WithUnknownFields } from "./codec/unknown-fields.js";
export { decompress } from "./envelope/compression.js";
export { Compression, ENVELOPE_VERSION, MAGIC, type CompressionName } from "./envelope/format.js";
export { isEnvelope, peekSchemaId, readHeader, type EnvelopeHeader } from "./envelope/header.js";
export {
  ConfigError,
  DecodeError,
  EncodeError,
  KeyError,
  LegacyReaderError,
  LegacyValueError,
  ProtocacheError,
  SCRIPT_ACL_HINT,
  ScriptPermissionError,
  StoreError,
  StoreTimeoutError,
  UnknownSchemaError,
  UpgradeError,
  type DecodeFailure,
} from "./errors.js";
export { escapeKeyPart, keyBase, scanPattern, splitKeyParts, unescapeKeyPart } from "./keys.js";
export { SchemaRegistry, type SchemaEntry } from "./registry.js";
export type { CacheStats, DeleteCounter, ReadOutcome, WriteCounter, WriteOutcome } from "./stats.js";
export { MemoryStore, type MemoryStoreOptions } from "./stores/memory-store.js";
export { NodeRedisStore, type NodeRedisClient, type NodeRedisCluster, type NodeRedisTypeMapping } from "./stores/node-redis-store.js";
export type { CompareMode, RedisStoreOptions } from "./stores/compare-commands.js";
export { RedisStore } from "./stores/redis-store.js";
export type { CacheStore, Deadline, StoredValue, StoreWrite, StoreWriteResult, WriteGuard } from "./stores/store.js";
