import { FieldValueError } from "../codec/field-checks.js";
import { Writer } from "../codec/writer.js";
import { encodeAbsentMarker, encodeEnvelope, type EnvelopeWriteOptions, type Stamp } from "../envelope/encode.js";
import { ConfigError, EncodeError, UnexpectedReplyError } from "../errors.js";
import { encodeTags } from "../invalidation/tag-keys.js";
import type { WriteOutcome } from "../stats.js";
import type { StoreWrite, StoreWriteResult, WriteGuard } from "../stores/store.js";
import type { Entity } from "./entity.js";
import { storedTtlOf } from "./freshness.js";
import type { LoadPolicy } from "./loading-options.js";
import { batchOf, writeOptionsOf, type ResolvedOptions, type WriteOptions } from "./options.js";
import type { Outcomes } from "./outcomes.js";
import type { StoreCalls } from "./store-calls.js";
import type { Transitions } from "./transitions.js";

const writer = new Writer();

/** The accessor's parts its writes use (built by the facade). */
export interface WriteParts<T, K> {
  readonly entity: Entity<T, K>;
  readonly options: ResolvedOptions<T>;
  readonly envelope: EnvelopeWriteOptions;
  readonly guard: WriteGuard | undefined;
  readonly io: StoreCalls;
  readonly outcomes: Outcomes;
  /** The accessor's loading policy: jitter and grace shape every write's Redis TTL. */
  readonly policy: LoadPolicy;
  keyOf(fields: K): string;
  transitions(): Transitions<T, K> | undefined;
}

/**
 * Every write of an accessor: `set` and `setMany` through the write guard
 * (with dual-writes to the previous major), and the envelopes every write
 * stores: written-at (now, a load's start, or an entry's own when it is
 * rewritten) and invalidation tags (docs/invalidation.md).
 */
export class Writes<T, K> {
  private readonly absent: Buffer;

  constructor(private readonly p: WriteParts<T, K>) {
    this.absent = encodeAbsentMarker(p.entity.current.schemaId, p.envelope, 0);
  }

  async set(value: T, options?: WriteOptions): Promise<WriteOutcome> {
    const { ttlSeconds, tags } = writeOptionsOf(options, this.p.options.ttlSeconds);
    const write = this.prepare(value, ttlSeconds, tags);
    const dual = this.p.transitions()?.dualWrite([value], ttlSeconds);
    let result: StoreWriteResult;
    try {
      result = await this.p.io.bounded(this.p.io.store.set(write, this.p.guard), "SET", write.key);
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    await dual;
    return this.p.outcomes.written(result, write.key);
  }

  async setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]> {
    const { ttlSeconds, tags } = writeOptionsOf(options, this.p.options.ttlSeconds);
    const writes = batchOf(values, "setMany(values)", this.p.options.maxBatchKeys).map((v) => this.prepare(v, ttlSeconds, tags));
    const dual = this.p.transitions()?.dualWrite(values, ttlSeconds);
    const results = await this.p.io.writeMany(writes, this.p.guard);
    await dual;
    let reported: Set<Error> | undefined;
    return writes.map((w, i) => {
      const result = results[i] ?? new UnexpectedReplyError("the store returned no result for this write");
      return this.p.outcomes.written(result, w.key, result instanceof Error ? (reported ??= new Set()) : undefined);
    });
  }

  private prepare(value: T, ttlSeconds: number, tags: readonly string[] | undefined): StoreWrite {
    const key = this.p.keyOf(value as unknown as K);
    const { jitter, graceSeconds } = this.p.policy;
    return { key, value: this.encode(value, key, tags === undefined ? undefined : { tags }), ttlSeconds: storedTtlOf(key, ttlSeconds, jitter, graceSeconds) };
  }

  /** Encoded tags of a write; a ConfigError without the `invalidation` option (nothing would check them). */
  private tagBytes(tags: readonly string[] | undefined): Buffer | undefined {
    if (tags === undefined || tags.length === 0) return undefined;
    if (this.p.options.invalidation === undefined) throw new ConfigError("tags", "tags need the accessor's invalidation option (docs/invalidation.md)");
    return encodeTags(tags);
  }

  /** An absent marker in the current revision, stamped like `encode`. */
  absentMarker(stamp?: Stamp): Buffer {
    const { entity, envelope } = this.p;
    return envelope.writtenAt ? encodeAbsentMarker(entity.current.schemaId, envelope, stamp?.writtenAt ?? Date.now(), this.tagBytes(stamp?.tags)) : this.absent;
  }

  /**
   * The envelope of `value`; `stamp` gives its written-at (default now: a
   * load's start, or an entry's own when it is rewritten) and tags.
   */
  encode(value: T, key: string | undefined, stamp?: Stamp): Buffer {
    const { entity, envelope } = this.p;
    const tags = this.tagBytes(stamp?.tags);
    try {
      return encodeEnvelope(writer, entity.current.schemaId, value, entity.encode, tags === undefined ? envelope : { ...envelope, writtenAt: true }, stamp?.writtenAt ?? Date.now(), tags);
    } catch (cause) {
      const field = cause instanceof FieldValueError ? cause.pathFrom(value) || undefined : undefined;
      throw new EncodeError(entity.typeName, key, cause instanceof Error ? cause.message : String(cause), { cause }, field);
    }
  }
}
