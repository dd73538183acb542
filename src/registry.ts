/** One revision from the schema lock, as embedded in generated code: what accessors need, no descriptors. */
export interface SchemaEntry {
  readonly id: number;
  /** Full message name, e.g. `acme.user.v1.User`. */
  readonly message: string;
  readonly major: number;
  /** 1-based revision ordinal of this message. */
  readonly revision: number;
}

/**
 * Every schema revision the code was generated with, as a small ID table:
 * tells known IDs from unknown ones (the write guard's list) and which
 * message and revision an ID is. Decoding payloads of any revision needs the
 * descriptors, which live behind `protocache/descriptors` so the hot path
 * never loads them.
 */
export class SchemaRegistry {
  readonly entries: readonly SchemaEntry[];
  /** Every known ID as concatenated big-endian uint32s: the write guard's argument. */
  readonly knownIds: Buffer;
  private readonly byId = new Map<number, SchemaEntry>();

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
}
