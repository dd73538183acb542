/**
 * Entry point for generated code only: codec primitives, entity definition
 * and key formatting. Applications import from `protocache` instead.
 * @packageDocumentation
 */
export { Reader } from "../codec/reader.js";
export { Writer } from "../codec/writer.js";
export { checkDuration, checkTimestamp, invalidField, isFloat32, isInt64, isUint64 } from "../codec/field-checks.js";
export { copyUnknownFields } from "../codec/unknown-fields.js";
export {
  decodeBoolValue,
  decodeBytesValue,
  decodeDoubleValue,
  decodeFieldMask,
  decodeFloatValue,
  decodeInt32Value,
  decodeInt64Value,
  decodeListValue,
  decodeStringValue,
  decodeStruct,
  decodeUInt32Value,
  decodeUInt64Value,
  decodeValue,
  encodeBoolValue,
  encodeBytesValue,
  encodeDoubleValue,
  encodeFieldMask,
  encodeFloatValue,
  encodeInt32Value,
  encodeInt64Value,
  encodeListValue,
  encodeStringValue,
  encodeStruct,
  encodeUInt32Value,
  encodeUInt64Value,
  encodeValue,
} from "../codec/well-known.js";
export { defineEntity, previousMajor, type Entity, type EntityDefinition, type PreviousMajor, type RevisionInfo } from "../accessor/entity.js";
export { createEntityCache, type EntityCache } from "../accessor/entity-cache.js";
export { accessorInternals, internalsOf, type AccessorInternals } from "../accessor/internals.js";
export { defineMigrations, migrationsOf, type Migrations } from "../accessor/migrations.js";
export { interpret, type Interpretation } from "../accessor/read.js";
export type { AccessorOptions } from "../accessor/options.js";
export { keyBigint, keyBool, keyInt, keyString } from "../keys.js";
export { SchemaRegistry, type SchemaEntry } from "../registry.js";
export type { CacheStore } from "../stores/store.js";
