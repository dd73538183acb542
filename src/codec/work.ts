/**
 * Work units: what a read's work budget (the accessor option `maxReadWork`)
 * and a call's (`maxBatchWork`) count. One unit is about what decoding one
 * small value costs: on the reference machine (docs/reliability.md, "Work
 * budget", where the figures behind each weight are) about 25-35 ns and
 * 20-30 bytes of heap. Decoding charges every unit before doing the work
 * it stands for, so no read does much more than its budget allows.
 *
 * Generated decoders charge objects they create with a weight the
 * generator computes from the message's fields (codegen/emit-decode.ts,
 * `objectWeight`), in the same units.
 */
export const Work = {
  /** Every field on the wire (its tag): known or unknown, in a map entry, a group or a well-known type. */
  field: 1,
  /** Every element of a packed repeated field (charged for the whole field before its first element is read). */
  packedElement: 1,
  /** A map entry (a Map or Struct insertion, measured at ~16 times a repeated element), besides its fields. */
  mapEntry: 16,
  /** A `bytes` value (a new Uint8Array costs ~16 times a small value), besides its field and its length; also a message's kept unknown fields (their own Uint8Array). */
  bytesValue: 16,
  /** A string of fewer than 8 bytes, per byte (built one character at a time). */
  shortStringByte: 1,
  /** A string made by a native call (8 bytes or more, or not ASCII), besides its bytes. */
  nativeString: 4,
  /** Bytes of a string that is all ASCII per unit (cut from the input as Latin-1: ~0.4 ns a byte). */
  asciiBytesPerUnit: 64,
  /** Bytes of a string with non-ASCII characters per unit (validated and decoded as UTF-8: ~4 ns a byte). */
  utf8BytesPerUnit: 8,
  /** Bytes of a `bytes` value per unit (one copy). */
  copiedBytesPerUnit: 64,
  /** Bytes of gzip-decompressed payload per unit (~0.5-2 ns a byte). */
  gunzippedBytesPerUnit: 16,
  /** Bytes of brotli-decompressed payload per unit (~2-4 ns a byte: brotli costs about twice gzip to decompress). */
  unbrotliedBytesPerUnit: 8,
  /** A new message object, besides what its fields allocate (see the next three). */
  object: 1,
  /** Fields of a new message object per unit (one slot each). */
  objectFieldsPerUnit: 4,
  /** An empty Map a new message object holds for a map field (~184 bytes, ~200 ns). */
  newMap: 8,
  /** An empty array a new message object holds for a repeated field. */
  newList: 1,
} as const;

/** What a new message object holds, for {@link objectWeight}. */
export interface ObjectShape {
  readonly fields: number;
  readonly maps: number;
  readonly lists: number;
  /** Singular `bytes` fields outside oneofs (each starts as its own empty Uint8Array). */
  readonly bytes: number;
}

/**
 * Work units a decoder charges for a new message object: one, one per
 * four fields, and what its zero value allocates (an empty Map per map
 * field, an array per repeated field, a Uint8Array per bytes field). The
 * generator bakes this into each decoder (`r.enter(weight)`); schema-driven
 * walks ({@link walkWire}) use it too. `newSession()` of the example
 * domain (17 fields, two maps, two lists, a bytes field) weighs 40; it
 * measures ~780 bytes and ~1 µs.
 */
export function objectWeight(shape: ObjectShape): number {
  return Work.object + Math.ceil(shape.fields / Work.objectFieldsPerUnit) + shape.maps * Work.newMap + shape.lists * Work.newList + shape.bytes * Work.bytesValue;
}

/**
 * Default `maxReadWork`: the most work units one read may take, 2^19. At
 * this budget the costliest stored values measured (docs/reliability.md,
 * "Work budget") take under 40 ms and 17 MiB each on the reference
 * machine, within the promised 50 ms and 32 MB; gunzipping a full 8 MiB
 * payload (the default `maxPayloadBytes`) is exactly this much work, and a
 * typical entry of the example entities takes tens to hundreds of units.
 */
export const DEFAULT_READ_WORK = 524_288;

/** Largest `maxReadWork` and `maxBatchWork`: the counter stays a small integer (and no read is unbounded). */
export const MAX_WORK = 1_000_000_000;

/**
 * Default `maxBatchWork`: the most work units one `getMany` (or one batch
 * of an operation) may take in all, 16 reads at their full budget (2^23):
 * no batch size can exhaust the heap (a few hundred MB at most), and
 * 100 000 entries of ~80 units each fit.
 */
export const DEFAULT_BATCH_WORK = 16 * DEFAULT_READ_WORK;

/**
 * Work units a batch (a `getMany`, a batch of an operation) decodes before
 * it yields to the event loop (`setImmediate`), 2^16: about 1-3 ms on the
 * reference machine (docs/reliability.md, "Work budget"). A read is not
 * interruptible, so a batch holds the loop for at most a slice and one
 * read (less than 2^16 + `maxReadWork` units: 1.125 full reads at the
 * defaults), whatever its size and `maxBatchWork`. A batch that does less
 * in all never yields: 100 of the benchmark's 1.2 KB Sessions take about
 * 55 000 units, 100 of its Users about 3 000.
 */
export const SLICE_WORK = 65_536;

/**
 * Thrown by the {@link Reader} (and the legacy JSON reader's pre-scan) when
 * a value needs more work than its budget: the read is a counted
 * `over_budget` miss, never a throw from the accessor.
 */
export class WorkBudgetError extends Error {
  override readonly name = "WorkBudgetError";

  constructor(
    /** The budget that was exceeded, in work units. */
    readonly budget: number,
    what = "decoding",
  ) {
    super(`${what} needs more than ${budget} work units`);
  }
}
