import { SchemaDecoder } from "../../src/descriptors/index.js";
import { schemaDescriptors } from "../../generated/descriptors.js";

/** Decodes payloads of every revision in the example lock (protobufjs, from the stored descriptors). */
export const schemaDecoder = new SchemaDecoder(schemaDescriptors);
