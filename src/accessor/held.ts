import type { CompressionName } from "../envelope/format.js";
import type { EnvelopeHeader } from "../envelope/header.js";
import type { ReadOutcome } from "../stats.js";
import type { RevisionInfo } from "./entity.js";
import type { Interpretation } from "./read.js";

/**
 * What an L1 holds of an interpretation (docs/l1.md "Memory"): one object
 * that is both the interpretation and its envelope header, with only what
 * differs between entries as its own fields (the value, the written-at,
 * the tags). The rest (outcome, revision, schema ID, version, compression,
 * writer tag, payload start, absent) is shared by every entry read with
 * the same, through {@link HeldShapes}. A held entry costs one 56-byte
 * object where a decoded interpretation and its header cost 184 bytes and
 * two boxed numbers.
 */

/** Fields every held entry read with the same outcome, revision and header fields shares. */
interface Shared<T> {
  readonly outcome: ReadOutcome;
  readonly revision: RevisionInfo<T> | undefined;
  readonly version: number;
  readonly schemaId: number;
  readonly compression: CompressionName;
  readonly writerTag: string | undefined;
  readonly payloadStart: number;
  readonly absent: boolean;
  /** The start of the entries' written-at window, in epoch milliseconds. */
  readonly window: number;
}

/**
 * A written-at is held as milliseconds into its window of {@link WINDOW}
 * milliseconds of the epoch (the window is part of the shared part): a
 * small integer stored in the object itself, where an epoch millisecond
 * count is a boxed number.
 */
const WINDOW = 2 ** 30;

/** A written-at that is not a whole number of milliseconds: held as it is, in an object, so that the field never becomes a double field for every entry. */
interface OddWrittenAt {
  readonly ms: number;
}

/**
 * A held interpretation (see the module comment). Its `header` is itself.
 * Its shared fields are getters: a spread, `Object.keys` or
 * `structuredClone` of it sees only the value, the tags and its internals
 * (copy it with {@link Held.withValue}).
 */
export class Held<T> implements Interpretation<T>, EnvelopeHeader {
  constructor(
    readonly value: T | undefined,
    private readonly shared: Shared<T>,
    /** Milliseconds into the shared part's window (a small integer), an OddWrittenAt, or undefined (no written-at). */
    private readonly at: number | OddWrittenAt | undefined,
    readonly tags: readonly string[] | undefined,
  ) {}

  get outcome(): ReadOutcome {
    return this.shared.outcome;
  }

  get revision(): RevisionInfo<T> | undefined {
    return this.shared.revision;
  }

  get header(): EnvelopeHeader {
    return this;
  }

  get error(): undefined {
    return undefined;
  }

  get version(): number {
    return this.shared.version;
  }

  get schemaId(): number {
    return this.shared.schemaId;
  }

  get compression(): CompressionName {
    return this.shared.compression;
  }

  get writerTag(): string | undefined {
    return this.shared.writerTag;
  }

  get payloadStart(): number {
    return this.shared.payloadStart;
  }

  get absent(): boolean {
    return this.shared.absent;
  }

  get writtenAt(): number | undefined {
    const at = this.at;
    return typeof at === "number" ? this.shared.window + at : at?.ms;
  }

  /** The same entry holding `value` instead (an L1's copy of it). */
  withValue(value: T | undefined): Held<T> {
    return new Held(value, this.shared, this.at, this.tags);
  }
}

/** Shared parts kept per L1 at most: past it they are forgotten (entries keep theirs) and made again. */
const MAX_SHAPES = 256;

/** The shared parts of one L1's held entries, made once per distinct outcome, revision and header fields. */
export class HeldShapes<T> {
  private readonly shapes = new Map<string, Shared<T>>();

  /** What an L1 holds of `seen`: a {@link Held} when it has a header, else a plain copy (no envelope, no error). */
  hold(seen: Interpretation<T>): Interpretation<T> {
    const h = seen.header;
    if (h === undefined) return { outcome: seen.outcome, value: seen.value, header: undefined, revision: seen.revision, error: undefined };
    const writtenAt = h.writtenAt;
    let at: number | OddWrittenAt | undefined;
    let window = 0;
    if (writtenAt !== undefined) {
      if (Number.isSafeInteger(writtenAt)) {
        window = Math.floor(writtenAt / WINDOW) * WINDOW;
        // `| 0`: a small integer even where the subtraction made a boxed one (before the code is optimized).
        at = (writtenAt - window) | 0;
      } else at = { ms: writtenAt };
    }
    return new Held(seen.value, this.shared(seen, h, window), at, h.tags);
  }

  private shared(seen: Interpretation<T>, h: EnvelopeHeader, window: number): Shared<T> {
    const revision = seen.revision;
    const id = `${seen.outcome} ${h.schemaId} ${revision?.revision ?? "-"} ${h.version} ${h.compression} ${h.payloadStart} ${h.absent ? 1 : 0} ${window} ${h.writerTag === undefined ? "-" : `=${h.writerTag}`}`;
    let shared = this.shapes.get(id);
    if (shared === undefined) {
      if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
      shared = { outcome: seen.outcome, revision, version: h.version, schemaId: h.schemaId, compression: h.compression, writerTag: h.writerTag, payloadStart: h.payloadStart, absent: h.absent, window };
      this.shapes.set(id, shared);
    }
    return shared;
  }
}
