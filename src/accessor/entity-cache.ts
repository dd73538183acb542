import { FieldValueError } from "../codec/field-checks.js";
import { Writer } from "../codec/writer.js";
import { encodeEnvelope, type EnvelopeWriteOptions } from "../envelope/encode.js";
import { EncodeError, KeyError, ProtocacheError, StoreError } from "../errors.js";
import { keyBase, KeyPartError } from "../keys.js";
import { StatsCounter, type CacheStats, type WriteOutcome } from "../stats.js";
import type { CacheStore, StoreWrite, StoreWriteResult, WriteGuard } from "../stores/store.js";
import type { Entity } from "./entity.js";
import { interpret, type Interpretation } from "./read.js";
import { checkKeys, checkTtl, resolveOptions, type AccessorOptions, type ResolvedOptions } from "./options.js";
import { ConfigError } from "../errors.js";

/** Per-write options. */
export interface WriteOptions {
  /** Time to live in whole seconds for this write; 0 for no expiry. Defaults to the accessor's. */
  readonly ttlSeconds?: number;
}

/** A read with everything known about the entry, for tools and diagnostics. */
export interface CacheEntry<T> {
  readonly key: string;
  readonly outcome: Interpretation<T>["outcome"];
  readonly value: T | undefined;
  /** Schema ID in the envelope header, if there was a readable header. */
  readonly schemaId: number | undefined;
  /** Revision of this message that wrote it, when the ID is one of ours. */
  readonly revision: number | undefined;
  readonly writtenAt: Date | undefined;
  readonly writerTag: string | undefined;
  readonly error: Error | undefined;
}

/**
 * Typed, version-aware cache accessor of one entity: what a generated
 * `userCache(store)` returns. Reads follow the decision table in
 * docs/policies.md and never throw on bad data; writes store envelopes and,
 * by default, never overwrite an entry written by a newer deploy.
 */
export interface EntityCache<T, K> {
  /** The value at the key made of `fields`, or undefined on any kind of miss. */
  get(fields: K): Promise<T | undefined>;
  /** Values of many keys in order, fetched in one round trip per server. */
  getMany(fields: readonly K[]): Promise<(T | undefined)[]>;
  /** Like `get`, with the outcome and header details. */
  getEntry(fields: K): Promise<CacheEntry<T>>;
  /** Stores `value` under the key derived from its own key fields. */
  set(value: T, options?: WriteOptions): Promise<WriteOutcome>;
  /** Stores many values, one round trip per server. */
  setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]>;
  /** Deletes the entry; resolves true if there was one. */
  delete(fields: K): Promise<boolean>;
  /** The Redis key for these key fields. */
  keyOf(fields: K): string;
  /** Outcome counters since creation. */
  stats(): CacheStats;
}

const writer = new Writer();

/** Creates an accessor; generated factories such as `userCache(store, options)` call this. */
export function createEntityCache<T, K>(entity: Entity<T, K>, store: CacheStore, options?: AccessorOptions<T>): EntityCache<T, K> {
  const resolved = resolveOptions(options, entity.ttlSeconds);
  if (resolved.minRevision > entity.current.revision) {
    throw new ConfigError("minRevision", `${entity.typeName} is at revision ${entity.current.revision}; minRevision ${resolved.minRevision} would reject every entry`);
  }
  return new EntityCacheImpl(entity, store, resolved);
}

class EntityCacheImpl<T, K> implements EntityCache<T, K> {
  private readonly base: string;
  private readonly envelope: EnvelopeWriteOptions;
  private readonly guard: WriteGuard | undefined;
  private readonly counter = new StatsCounter();

  constructor(
    private readonly entity: Entity<T, K>,
    private readonly store: CacheStore,
    private readonly options: ResolvedOptions<T>,
  ) {
    this.base = keyBase(options.prefix, entity.entity, entity.major, options.variant);
    this.envelope = {
      writtenAt: options.writtenAt,
      writerTag: options.writerTag,
      compression: options.compression,
      compressMinBytes: options.compressMinBytes,
      maxPayloadBytes: options.maxPayloadBytes,
    };
    this.guard = options.guardWrites ? { knownIds: entity.registry.knownIds } : undefined;
  }

  keyOf(fields: K): string {
    try {
      return this.base + this.entity.key(fields);
    } catch (error) {
      if (error instanceof KeyPartError) throw new KeyError(this.entity.typeName, error.field, error.message);
      if (fields === null || typeof fields !== "object") {
        throw new KeyError(this.entity.typeName, this.entity.keyFields.join(", "), `expected an object with the key fields, got ${String(fields)}`);
      }
      throw error;
    }
  }

  async get(fields: K): Promise<T | undefined> {
    const key = this.keyOf(fields);
    let bytes: Buffer | null;
    try {
      bytes = await this.store.get(key);
    } catch (error) {
      this.storeFailed(error, key);
      return undefined;
    }
    return bytes === null ? this.missed() : this.settle(key, bytes, interpret(this.entity, this.options, bytes)).value;
  }

  async getEntry(fields: K): Promise<CacheEntry<T>> {
    const key = this.keyOf(fields);
    let bytes: Buffer | null;
    try {
      bytes = await this.store.get(key);
    } catch (error) {
      return { key, outcome: "error", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: this.storeFailed(error, key) };
    }
    if (bytes === null) {
      this.missed();
      return { key, outcome: "miss", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: undefined };
    }
    const seen = this.settle(key, bytes, interpret(this.entity, this.options, bytes));
    const header = seen.header;
    return {
      key,
      outcome: seen.outcome,
      value: seen.value,
      schemaId: header?.schemaId,
      revision: seen.revision?.revision,
      writtenAt: header?.writtenAt === undefined ? undefined : new Date(header.writtenAt),
      writerTag: header?.writerTag,
      error: seen.error,
    };
  }

  async getMany(fields: readonly K[]): Promise<(T | undefined)[]> {
    const keys = fields.map((f) => this.keyOf(f));
    let found: (Buffer | null | Error)[];
    try {
      found = await this.store.getMany(keys);
    } catch (error) {
      found = keys.map((k) => (error instanceof StoreError ? error : new StoreError("GET", k, { cause: error })));
    }
    return found.map((bytes, i) => {
      if (bytes === null) return this.missed();
      if (bytes instanceof Error) {
        this.storeFailed(bytes, keys[i]);
        return undefined;
      }
      return this.settle(keys[i] as string, bytes, interpret(this.entity, this.options, bytes)).value;
    });
  }

  async set(value: T, options?: WriteOptions): Promise<WriteOutcome> {
    const write = this.prepare(value, options);
    let result: StoreWriteResult | undefined;
    try {
      [result] = await this.store.setMany([write], this.guard);
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    return this.written(result ?? new Error("store returned no result"), write.key);
  }

  async setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]> {
    const writes = values.map((v) => this.prepare(v, options));
    let results: StoreWriteResult[];
    try {
      results = await this.store.setMany(writes, this.guard);
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      results = writes.map(() => failure);
    }
    return writes.map((w, i) => this.written(results[i] ?? new Error("store returned no result"), w.key));
  }

  async delete(fields: K): Promise<boolean> {
    const key = this.keyOf(fields);
    try {
      return (await this.store.delete([key])) > 0;
    } catch (error) {
      this.storeFailed(error, key);
      return false;
    }
  }

  stats(): CacheStats {
    return this.counter.snapshot();
  }

  private prepare(value: T, options: WriteOptions | undefined): StoreWrite {
    const key = this.keyOf(value as unknown as K);
    let ttlSeconds = this.options.ttlSeconds;
    if (options !== undefined) {
      checkKeys(options as Record<string, unknown>, "write options", ["ttlSeconds"]);
      if (options.ttlSeconds !== undefined) ttlSeconds = checkTtl(options.ttlSeconds, "ttlSeconds");
    }
    return { key, value: this.encode(value, key), ttlSeconds };
  }

  private encode(value: T, key: string | undefined): Buffer {
    try {
      return encodeEnvelope(writer, this.entity.current.schemaId, value, this.entity.encode, this.envelope, Date.now());
    } catch (cause) {
      const field = cause instanceof FieldValueError ? cause.pathFrom(value) || undefined : undefined;
      throw new EncodeError(this.entity.typeName, key, cause instanceof Error ? cause.message : String(cause), { cause }, field);
    }
  }

  private written(result: StoreWriteResult, key: string): WriteOutcome {
    if (result instanceof Error) {
      this.counter.write("error");
      const failure = result instanceof StoreError ? result : new StoreError("SET", key, { cause: result });
      this.report(failure);
      if (this.options.onStoreError === "throw") throw failure;
      return "error";
    }
    this.counter.write(result);
    return result;
  }

  private missed(): undefined {
    this.counter.read("miss", undefined);
    return undefined;
  }

  /** Counts a read and runs its side effects (write-back, deletes) in the background. */
  private settle(key: string, bytes: Buffer, seen: Interpretation<T>): Interpretation<T> {
    this.counter.read(seen.outcome, seen.header?.schemaId);
    const o = this.options;
    switch (seen.outcome) {
      case "upgraded":
        if (o.writeBack && seen.value !== undefined) this.rewrite(key, bytes, seen.value);
        break;
      case "legacy":
        if (o.rewriteLegacy && seen.value !== undefined) this.rewrite(key, bytes, seen.value);
        break;
      case "corrupt":
        if (seen.error instanceof ProtocacheError) this.report(seen.error);
        // An entry whose ID this code does not know may be a newer deploy's: never delete it.
        if (o.deleteCorrupt && seen.header !== undefined && seen.revision === undefined && !this.entity.registry.get(seen.header.schemaId)) break;
        if (o.deleteCorrupt) this.background(() => this.store.deleteIfEqual(key, bytes), key);
        break;
      case "rejected":
        if (o.deleteRejected) this.background(() => this.store.deleteIfEqual(key, bytes), key);
        break;
      default:
        break;
    }
    return seen;
  }

  /** Compare-and-set rewrite in the current revision; the TTL is kept and a changed key is left alone. */
  private rewrite(key: string, seenBytes: Buffer, value: T): void {
    let next: Buffer;
    try {
      next = this.encode(value, key);
    } catch (error) {
      this.report(error as EncodeError);
      return;
    }
    Promise.resolve()
      .then(() => this.store.replaceIfEqual(key, seenBytes, next))
      .then(
        (done) => this.counter.write(done ? "written_back" : "write_back_skipped"),
        (error: unknown) => this.report(error instanceof StoreError ? error : new StoreError("CAS", key, { cause: error })),
      );
  }

  /** Runs store work after the read returned; failures are reported, never thrown. */
  private background(work: () => Promise<unknown>, key: string): void {
    Promise.resolve()
      .then(work)
      .catch((error: unknown) => this.report(error instanceof StoreError ? error : new StoreError("DEL", key, { cause: error })));
  }

  /** Records a failed store call; rethrows it when configured to, else returns it. */
  private storeFailed(error: unknown, key: string | undefined): StoreError {
    const failure = error instanceof StoreError ? error : new StoreError("GET", key, { cause: error });
    this.counter.read("error", undefined);
    this.report(failure);
    if (this.options.onStoreError === "throw") throw failure;
    return failure;
  }

  private report(error: ProtocacheError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error hook must not turn a fail-open read into a crash.
    }
  }
}
