/**
 * `protocache/runtime`, the entry point for generated code only: exactly
 * what the generator's emitters import (codec primitives, well-known type
 * codecs, entity definition, key formatting, the accessor factory), as a
 * test checks. Applications import from `protocache`; tools from
 * `protocache/tools`.
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
export {
  anyJson,
  boolJson,
  bytesJson,
  checkJsonMessage,
  doubleJson,
  duplicateJsonField,
  durationJson,
  enumJson,
  fieldMaskJson,
  floatJson,
  int32Json,
  int64Json,
  jsonAny,
  jsonArray,
  jsonBool,
  jsonBytes,
  jsonDouble,
  jsonDuration,
  jsonEnum,
  jsonFieldMask,
  jsonFloat,
  jsonInt32,
  jsonInt64,
  jsonKeyBool,
  jsonKeyStep,
  jsonMessage,
  jsonListValue,
  jsonObject,
  jsonPath,
  jsonSet,
  jsonString,
  jsonStruct,
  jsonTimestamp,
  jsonUint32,
  jsonUint64,
  jsonValue,
  listValueJson,
  nullJsonValue,
  nullValueJson,
  nullValueNames,
  stringJson,
  structJson,
  timestampJson,
  toJsonError,
  uint32Json,
  uint64Json,
  unknownJsonField,
  valueJson,
  wellKnownAnyTypes,
  type AnyJsonType,
  type FromJsonOptions,
  type Json,
  type JsonObject,
  type ToJsonOptions,
} from "../codec/json.js";
export { defineEntity, previousMajor, type Entity } from "../accessor/entity.js";
export { createEntityCache, type EntityCache } from "../accessor/entity-cache.js";
export { accessorFactory } from "../accessor/factory.js";
export { defineMigrations } from "../accessor/migrations.js";
export type { AccessorOptions } from "../accessor/options.js";
export { keyBigint, keyBool, keyInt, keyString } from "../keys.js";
export { SchemaRegistry } from "../registry.js";
export type { CacheStore } from "../stores/store.js";
