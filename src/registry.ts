import protobuf from "protobufjs";
import "protobufjs/ext/descriptor.js";
import { UnknownSchemaError } from "./errors.js";

/** One revision from the schema lock, as embedded in generated code. */
export interface SchemaEntry {
  readonly id: number;
  /** Full message name, e.g. `acme.user.v1.User`. */
  readonly message: string;
  readonly major: number;
  /** 1-based revision ordinal of this message. */
  readonly revision: number;
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
 * Every schema revision the code was generated with. Answers "which message
 * and revision is this ID" and decodes a payload of any locked revision,
 * compiling each revision's descriptors once, on first use, synchronously.
 */
export class SchemaRegistry {
  readonly entries: readonly SchemaEntry[];
  /** Every known ID as concatenated big-endian uint32s: the write guard's argument. */
  readonly knownIds: Buffer;
  private readonly byId = new Map<number, SchemaEntry>();
  private readonly types = new Map<number, protobuf.Type>();

  constructor(entries: readonly SchemaEntry[]) {
    this.entries = entries;
    this.knownIds = Buffer.alloc(entries.length * 4);
    entries.forEach((e, i) => {
      this.byId.set(e.id, e);
      this.knownIds.writeUInt32BE(e.id, i * 4);
    });
  }

  /** The lock entry of an ID, or undefined when this code does not know it. */
  get(id: number): SchemaEntry | undefined {
    return this.byId.get(id);
  }

  /** All revisions of one message, oldest first. */
  revisionsOf(message: string): SchemaEntry[] {
    return this.entries.filter((e) => e.message === message);
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
   * (64-bit integers and enums as strings, bytes as base64): for inspection
   * and tooling, not the hot path.
   */
  decode(id: number, payload: Uint8Array): Record<string, unknown> {
    const type = this.typeOf(id);
    return type.toObject(type.decode(payload), plainObject);
  }
}
