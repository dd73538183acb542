import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { UnknownSchemaError } from "../errors.js";
import { SchemaRegistry, type SchemaEntry } from "../registry.js";

/** A lock revision with its descriptor closure: what decoding a payload of that revision needs. */
export interface SchemaDescriptor extends SchemaEntry {
  /** Base64 FileDescriptorSet of the message's closure. */
  readonly descriptor: string;
}

/** Options for turning a decoded message into plain JSON-safe data. */
const plainObject: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: false,
};

/**
 * Decodes a payload of any locked revision into plain data, compiling each
 * revision's descriptors with protobufjs once, on first use. For inspection
 * and tooling (`inspect`-style commands, tests), never the hot path: generated
 * accessors use their own codecs and the small {@link SchemaRegistry}.
 * @example
 * ```ts
 * import { SchemaDecoder } from "protocache/descriptors";
 * import { schemaDescriptors } from "./generated/descriptors.js";
 * const decoder = new SchemaDecoder(schemaDescriptors);
 * console.log(decoder.decode(header.schemaId, payload));
 * ```
 */
export class SchemaDecoder {
  readonly registry: SchemaRegistry;
  private readonly byId = new Map<number, SchemaDescriptor>();
  private readonly types = new Map<number, protobuf.Type>();

  constructor(entries: readonly SchemaDescriptor[]) {
    this.registry = new SchemaRegistry(entries);
    for (const e of entries) this.byId.set(e.id, e);
  }

  /** The protobufjs type of a locked revision, compiled from its stored descriptors. */
  typeOf(id: number): protobuf.Type {
    const cached = this.types.get(id);
    if (cached !== undefined) return cached;
    const entry = this.byId.get(id);
    if (entry === undefined) throw new UnknownSchemaError(id);
    const root = protobuf.Root.fromDescriptor(Buffer.from(entry.descriptor, "base64"));
    const type = root.lookupType(entry.message);
    this.types.set(id, type);
    return type;
  }

  /**
   * Decodes a payload with the exact revision that wrote it, into plain data
   * (64-bit integers and enums as strings, bytes as base64).
   */
  decode(id: number, payload: Uint8Array): Record<string, unknown> {
    const type = this.typeOf(id);
    return type.toObject(type.decode(payload), plainObject);
  }
}
