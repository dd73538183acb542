/**
 * `protocache/descriptors`: decoding of payloads of any locked revision from
 * the lock's stored descriptors (loads protobufjs). For inspection tools and
 * tests; accessors never need it, so it is a separate entry point.
 * @packageDocumentation
 */
export { SchemaDecoder, type SchemaDescriptor } from "./schema-decoder.js";
