import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { Reader } from "../codec/reader.js";
import { walkWire, type WireField, type WireShape } from "../codec/wire-walk.js";
import { DEFAULT_READ_WORK, objectWeight } from "../codec/work.js";
import { UnknownSchemaError } from "../errors.js";
import { SchemaRegistry, type SchemaEntry } from "../registry.js";

/** A lock revision with its descriptor closure: what decoding a payload of that revision needs. */
export interface SchemaDescriptor extends SchemaEntry {
  /** Base64 FileDescriptorSet of the message's closure. */
  readonly descriptor: string;
}

/** Wire types of protobuf scalar types other than varints. */
const scalarWire: Record<string, 1 | 5> = { double: 1, fixed64: 1, sfixed64: 1, float: 5, fixed32: 5, sfixed32: 5 };

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
  private readonly shapes = new Map<protobuf.Type, WireShape>();

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
   * (64-bit integers and enums as strings, bytes as base64). The payload is
   * walked first within `maxWork` work units (default 2^19, the accessors'
   * default `maxReadWork`; src/codec/work.ts), charged as a generated
   * decoder of the revision would charge them: a costlier one throws
   * `WorkBudgetError` before protobufjs builds anything.
   */
  decode(id: number, payload: Uint8Array, maxWork = DEFAULT_READ_WORK): Record<string, unknown> {
    const type = this.typeOf(id);
    const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    walkWire(new Reader(bytes, 0, bytes.length, maxWork), bytes.length, this.shapeOf(type));
    return type.toObject(type.decode(payload), plainObject);
  }

  /** How {@link walkWire} sees a protobufjs type (made once per type). */
  private shapeOf(type: protobuf.Type): WireShape {
    const known = this.shapes.get(type);
    if (known !== undefined) return known;
    type.resolveAll();
    const fields = type.fieldsArray;
    const byId = new Map<number, WireField>();
    const shape: WireShape = {
      weight: objectWeight({
        fields: fields.length,
        maps: fields.filter((f) => f.map).length,
        lists: fields.filter((f) => f.repeated && !f.map).length,
        bytes: fields.filter((f) => !f.repeated && !f.map && f.type === "bytes" && f.partOf === null).length,
      }),
      field: (n) => byId.get(n),
    };
    this.shapes.set(type, shape);
    for (const f of fields) {
      const value = this.fieldOf(f.type, f.resolvedType);
      byId.set(f.id, f.map ? { kind: "map", key: this.fieldOf((f as unknown as protobuf.MapField).keyType, null), value } : value);
    }
    return shape;
  }

  private fieldOf(name: string, resolved: protobuf.ReflectionObject | null): WireField {
    if (resolved instanceof protobuf.Type) {
      const type = resolved;
      return { kind: "message", shape: () => this.shapeOf(type) };
    }
    if (resolved instanceof protobuf.Enum) return { kind: "scalar", wire: 0, packable: true };
    if (name === "string") return { kind: "string" };
    if (name === "bytes") return { kind: "bytes" };
    return { kind: "scalar", wire: scalarWire[name] ?? 0, packable: true };
  }
}
