import type { Stamp } from "../envelope/encode.js";
import { LegacyReaderError, ProtocacheError, type EncodeError } from "../errors.js";
import type { WriteCounter } from "../stats.js";
import { carry, type CarryResult } from "./carry.js";
import type { Entity } from "./entity.js";
import type { ResolvedOptions } from "./options.js";
import { asStoreError, type Outcomes } from "./outcomes.js";
import type { Interpretation } from "./read.js";
import type { StoreCalls } from "./store-calls.js";

/**
 * What a read leaves to do after it returned, in the background and each
 * bounded by the deadline: write-back of upgraded entries (compare-and-set,
 * TTL kept), rewriting adopted legacy values, deleting corrupt or rejected
 * entries (compare-and-delete), and copying entries found in another key
 * space (read-through, adoption).
 */
export class Maintenance<T> {
  constructor(
    private readonly entity: Entity<T, unknown>,
    private readonly options: ResolvedOptions<T>,
    private readonly io: StoreCalls,
    private readonly outcomes: Outcomes,
    /** The bytes `set` would store for a value. */
    private readonly encode: (value: T, key: string | undefined, stamp?: Stamp) => Buffer,
  ) {}

  /** Counts a read and starts its side effects (write-back, deletes); returns it. */
  settle(key: string, bytes: Buffer, seen: Interpretation<T>): Interpretation<T> {
    this.outcomes.counter.read(seen.outcome, seen.header?.schemaId);
    const o = this.options;
    switch (seen.outcome) {
      case "upgraded":
        if (o.writeBack && seen.envelope !== undefined) this.replace(key, bytes, seen.envelope);
        else if (o.writeBack && seen.value !== undefined) this.rewrite(key, bytes, seen.value, seen.header);
        break;
      case "legacy":
        if (o.rewriteLegacy && seen.envelope !== undefined) this.replace(key, bytes, seen.envelope);
        break;
      case "upgrade_failed":
      case "legacy_rejected":
      case "key_mismatch":
      case "over_budget":
        // An over_budget entry is never deleted: a reader with a larger budget may read it. A key_mismatch one is
        // well-formed: the next write of its key replaces it (a getOrSet's load at once).
        if (seen.error instanceof ProtocacheError) this.outcomes.report(seen.error);
        break;
      case "foreign":
        // Too large to hand to the legacy reader: a miss, and reported.
        if (seen.error !== undefined) this.outcomes.report(seen.error instanceof ProtocacheError ? seen.error : new LegacyReaderError(key, seen.error));
        break;
      case "corrupt":
        if (seen.error instanceof ProtocacheError) this.outcomes.report(seen.error);
        // An entry whose ID this code does not know may be a newer deploy's: never delete it.
        if (o.deleteCorrupt && seen.header !== undefined && seen.revision === undefined && !this.entity.registry.get(seen.header.schemaId)) break;
        if (o.deleteCorrupt) this.clean(key, bytes);
        break;
      case "rejected":
        if (o.deleteRejected) this.clean(key, bytes);
        break;
      default:
        break;
    }
    return seen;
  }

  /** Copies an entry found in another key space to `target`, keeping its expiry; counted with `counters` (done, skipped, failed). */
  carry(source: string, bytes: Buffer, target: string, value: Buffer, deleteSource: boolean, counters: readonly [WriteCounter, WriteCounter, WriteCounter]): void {
    const counter = this.outcomes.counter;
    // Each step of the copy has the deadline of one call (not the whole copy).
    this.io.track(Promise.resolve().then(() => carry(this.io.store, source, bytes, target, value, deleteSource, (work, operation, key) => this.io.bounded(work, operation, key)))).then(
      (done: CarryResult) => {
        counter.write(done === "created" ? counters[0] : counters[1]);
        if (deleteSource && done === "created") counter.delete("legacy_deleted");
      },
      (error: unknown) => {
        counter.write(counters[2]);
        this.outcomes.report(asStoreError(error, "COPY", target));
      },
    );
  }

  /** Compare-and-set rewrite in the current revision, in the background; the TTL, written-at and tags are kept and a changed key is left alone. */
  private rewrite(key: string, seenBytes: Buffer, value: T, stamp: Stamp | undefined): void {
    let next: Buffer;
    try {
      next = this.encode(value, key, stamp);
    } catch (error) {
      this.outcomes.counter.write("write_back_error");
      this.outcomes.report(error as EncodeError);
      return;
    }
    this.replace(key, seenBytes, next);
  }

  private replace(key: string, seenBytes: Buffer, next: Buffer): void {
    this.io.background("CAS", key, () => this.io.store.replaceIfEqual(key, seenBytes, next)).then(
      (done) => this.outcomes.counter.write(done ? "written_back" : "write_back_skipped"),
      (error: unknown) => {
        this.outcomes.counter.write("write_back_error");
        this.outcomes.report(asStoreError(error, "CAS", key));
      },
    );
  }

  /** Compare-and-delete of a corrupt or rejected entry, in the background. */
  private clean(key: string, seenBytes: Buffer): void {
    this.io.background("CAD", key, () => this.io.store.deleteIfEqual(key, seenBytes)).then(
      (done) => this.outcomes.counter.delete(done ? "cleaned" : "clean_skipped"),
      (error: unknown) => {
        this.outcomes.counter.delete("clean_error");
        this.outcomes.report(asStoreError(error, "CAD", key));
      },
    );
  }
}
