import { FieldValueError } from "../codec/field-checks.js";
import { describeValue, quoteCapped } from "../describe-value.js";
import { Writer } from "../codec/writer.js";
import { encodeEnvelope, type EnvelopeWriteOptions } from "../envelope/encode.js";
import { ConfigError, EncodeError, KeyError, LegacyReaderError, ProtocacheError, StoreError } from "../errors.js";
import { keyBase, KeyPartError } from "../keys.js";
import { StatsCounter, type CacheStats, type WriteOutcome } from "../stats.js";
import { MAX_KEYS_PER_ROUND_TRIP, MAX_WRITES_PER_ROUND_TRIP } from "../stores/batches.js";
import type { CacheStore, Deadline, StoreWrite, StoreWriteResult, WriteGuard } from "../stores/store.js";
import type { MetricRecorder, TimedCall } from "../metrics/sink.js";
import { deadlineOn } from "./deadline.js";
import type { Entity } from "./entity.js";
import { accessorInternals, type AccessorInternals, type WithInternals } from "./internals.js";
import { interpret, type Interpretation } from "./read.js";
import { checkKeys, checkTtl, resolveOptions, type AccessorOptions, type ResolvedOptions } from "./options.js";

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
  /** Values of many keys in order: one round trip per server and 1000 keys; at most `maxBatchKeys` keys. */
  getMany(fields: readonly K[]): Promise<(T | undefined)[]>;
  /** Like `get`, with the outcome and header details. */
  getEntry(fields: K): Promise<CacheEntry<T>>;
  /** Stores `value` under the key derived from its own key fields. */
  set(value: T, options?: WriteOptions): Promise<WriteOutcome>;
  /** Stores many values: one round trip per server and 250 values; at most `maxBatchKeys` values. */
  setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]>;
  /** Deletes the entry; resolves true if there was one. */
  delete(fields: K): Promise<boolean>;
  /** The Redis key for these key fields. */
  keyOf(fields: K): string;
  /** Outcome counters since creation. */
  stats(): CacheStats;
}

const writer = new Writer();
const storeMethods = ["get", "getMany", "set", "setMany", "delete", "replaceIfEqual", "deleteIfEqual"] as const;

/** Creates an accessor; generated factories such as `userCache(store, options)` call this. */
export function createEntityCache<T, K>(entity: Entity<T, K>, store: CacheStore, options?: AccessorOptions<T>): EntityCache<T, K> {
  checkStore(store);
  const resolved = resolveOptions(options, entity.ttlSeconds);
  if (resolved.minRevision > entity.current.revision) {
    throw new ConfigError("minRevision", `${entity.typeName} is at revision ${entity.current.revision}; minRevision ${resolved.minRevision} would reject every entry`);
  }
  return new EntityCacheImpl(entity, store, resolved);
}

/** Rejects anything but a CacheStore, naming the usual mistake (passing the Redis client itself). */
function checkStore(store: unknown): void {
  if (typeof store === "object" && store !== null && storeMethods.every((m) => typeof (store as Record<string, unknown>)[m] === "function")) return;
  let hint = "a RedisStore, NodeRedisStore or MemoryStore";
  if (typeof store === "object" && store !== null) {
    if ("getBuffer" in store) hint = "the ioredis client wrapped in a store: new RedisStore(client)";
    else if ("sendCommand" in store) hint = "the node-redis client wrapped in a store: new NodeRedisStore(client)";
  }
  throw new ConfigError("store", `expected ${hint}, got ${store === null ? "null" : typeof store === "object" ? "an object without the CacheStore methods" : describeValue(store)}`);
}

class EntityCacheImpl<T, K> implements EntityCache<T, K>, WithInternals<T> {
  private readonly base: string;
  private readonly envelope: EnvelopeWriteOptions;
  private readonly guard: WriteGuard | undefined;
  private readonly recorder: MetricRecorder | undefined;
  private readonly counter: StatsCounter;
  /** The recorder wants call durations: read the clock around each call. */
  private readonly timing: boolean;
  /** Bounds one store call; undefined with `deadlineMs: 0`. */
  private readonly deadline: Deadline | undefined;
  /** Outer bounds of batches by how many chunks one server may take in turn (a power of two); see {@link batchDeadline}. */
  private readonly batchDeadlines = new Map<number, Deadline>();

  constructor(
    private readonly entity: Entity<T, K>,
    private readonly store: CacheStore,
    private readonly options: ResolvedOptions<T>,
  ) {
    this.base = keyBase(options.prefix, entity.entity, entity.major, options.variant);
    const baseBytes = Buffer.byteLength(this.base);
    if (baseBytes >= options.maxKeyBytes) {
      throw new ConfigError("maxKeyBytes", `${options.maxKeyBytes} bytes leave no room for a key part after ${quoteCapped(this.base)} (${baseBytes} bytes)`);
    }
    this.envelope = {
      writtenAt: options.writtenAt,
      writerTag: options.writerTag,
      compression: options.compression,
      compressMinBytes: options.compressMinBytes,
      maxPayloadBytes: options.maxPayloadBytes,
    };
    this.guard = options.guardWrites ? { knownIds: entity.registry.knownIds } : undefined;
    this.recorder = options.metrics?.bind({
      message: entity.typeName,
      entity: entity.entity,
      major: entity.major,
      schemaId: entity.current.schemaId,
      variant: options.variant,
    });
    this.counter = new StatsCounter(this.recorder, entity.current.schemaId);
    this.timing = this.recorder?.duration !== undefined;
    const ms = options.deadlineMs;
    this.deadline = ms === 0 ? undefined : deadlineOn(store, ms);
  }

  keyOf(fields: K): string {
    let key: string;
    try {
      key = this.base + this.entity.key(fields);
    } catch (error) {
      if (error instanceof KeyPartError) throw new KeyError(this.entity.typeName, error.field, error.message);
      if (fields === null || typeof fields !== "object") {
        throw new KeyError(this.entity.typeName, this.entity.keyFields.join(", "), `expected an object with the key fields, got ${describeValue(fields)}`);
      }
      throw error;
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes: most keys need no byte count.
    const max = this.options.maxKeyBytes;
    if (key.length * 3 > max) {
      const bytes = Buffer.byteLength(key);
      if (bytes > max) throw new KeyError(this.entity.typeName, this.entity.keyFields.join(", "), `makes the key ${bytes} bytes, over maxKeyBytes (${max})`);
    }
    return key;
  }

  // Each call's start time when the metrics sink wants durations, else -1 (no clock read).
  get(fields: K): Promise<T | undefined> {
    return this.getNow(fields, this.timing ? performance.now() : -1);
  }

  getMany(fields: readonly K[]): Promise<(T | undefined)[]> {
    return this.getManyNow(fields, this.timing ? performance.now() : -1);
  }

  set(value: T, options?: WriteOptions): Promise<WriteOutcome> {
    return this.setNow(value, this.timing ? performance.now() : -1, options);
  }

  setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]> {
    return this.setManyNow(values, this.timing ? performance.now() : -1, options);
  }

  delete(fields: K): Promise<boolean> {
    return this.deleteNow(fields, this.timing ? performance.now() : -1);
  }

  [accessorInternals](): AccessorInternals<T> {
    return {
      entity: this.entity as unknown as Entity<T, never>,
      store: this.store,
      options: this.options,
      keyBase: this.base,
      interpret: (bytes) => this.interpret(bytes),
      encode: (value, key) => this.encode(value, key),
      recorder: this.recorder,
    };
  }

  /** The read path every read takes (the decision table); counts nothing. */
  private interpret(bytes: Buffer): Interpretation<T> {
    return interpret(this.entity, this.options, bytes);
  }

  /** Reports how long a call took (called as it settles, without a promise of its own). */
  private took(call: TimedCall, started: number): void {
    (this.recorder as MetricRecorder).duration?.(call, performance.now() - started);
  }

  private async getNow(fields: K, started: number): Promise<T | undefined> {
    try {
      const key = this.keyOf(fields);
      let bytes: Buffer | null;
      try {
        const read = this.store.get(key);
        bytes = await (this.deadline === undefined ? read : this.deadline.bound(read, "GET", key));
      } catch (error) {
        this.readFailed(error, key);
        return undefined;
      }
      return bytes === null ? this.missed() : this.settle(key, bytes, this.interpret(bytes)).value;
    } finally {
      if (started >= 0) this.took("get", started);
    }
  }

  async getEntry(fields: K): Promise<CacheEntry<T>> {
    const key = this.keyOf(fields);
    let bytes: Buffer | null;
    try {
      const read = this.store.get(key);
      bytes = await (this.deadline === undefined ? read : this.deadline.bound(read, "GET", key));
    } catch (error) {
      return { key, outcome: "error", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: this.readFailed(error, key) };
    }
    if (bytes === null) {
      this.missed();
      return { key, outcome: "miss", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: undefined };
    }
    const seen = this.settle(key, bytes, this.interpret(bytes));
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

  private async getManyNow(fields: readonly K[], started: number): Promise<(T | undefined)[]> {
    try {
      const keys = this.checkBatch(fields, "getMany(fields)").map((f) => this.keyOf(f));
      let found: (Buffer | null | Error)[];
      try {
        const read = this.store.getMany(keys, this.deadline);
        const bound = this.batchDeadline(keys.length, MAX_KEYS_PER_ROUND_TRIP);
        found = await (bound === undefined ? read : bound.bound(read, "MGET", keys[0]));
      } catch (error) {
        const failure = asStoreError(error, "MGET", keys[0]);
        found = keys.map(() => failure);
      }
      // A failed chunk is one error shared by its keys: each key is counted, the error reported once.
      let reported: Set<Error> | undefined;
      return found.map((bytes, i) => {
        if (bytes === null) return this.missed();
        if (bytes instanceof Error) {
          this.readFailed(bytes, keys[i], (reported ??= new Set()));
          return undefined;
        }
        return this.settle(keys[i] as string, bytes, this.interpret(bytes)).value;
      });
    } finally {
      if (started >= 0) this.took("getMany", started);
    }
  }

  private async setNow(value: T, started: number, options?: WriteOptions): Promise<WriteOutcome> {
    try {
      const write = this.prepare(value, this.ttlOf(options));
      let result: StoreWriteResult;
      try {
        const done = this.store.set(write, this.guard);
        result = await (this.deadline === undefined ? done : this.deadline.bound(done, "SET", write.key));
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      return this.written(result, write.key);
    } finally {
      if (started >= 0) this.took("set", started);
    }
  }

  private async setManyNow(values: readonly T[], started: number, options?: WriteOptions): Promise<WriteOutcome[]> {
    try {
      const ttlSeconds = this.ttlOf(options);
      const writes = this.checkBatch(values, "setMany(values)").map((v) => this.prepare(v, ttlSeconds));
      let results: StoreWriteResult[];
      try {
        const done = this.store.setMany(writes, this.guard, this.deadline);
        const bound = this.batchDeadline(writes.length, MAX_WRITES_PER_ROUND_TRIP);
        results = await (bound === undefined ? done : bound.bound(done, "SET", writes[0]?.key));
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        results = writes.map(() => failure);
      }
      let reported: Set<Error> | undefined;
      return writes.map((w, i) => {
        const result = results[i] ?? new Error("store returned no result");
        return this.written(result, w.key, result instanceof Error ? (reported ??= new Set()) : undefined);
      });
    } finally {
      if (started >= 0) this.took("setMany", started);
    }
  }

  private async deleteNow(fields: K, started: number): Promise<boolean> {
    try {
      const key = this.keyOf(fields);
      let n: number;
      try {
        const done = this.store.delete([key]);
        n = await (this.deadline === undefined ? done : this.deadline.bound(done, "DEL", key));
      } catch (error) {
        const failure = asStoreError(error, "DEL", key);
        this.counter.delete("error");
        this.report(failure);
        if (this.options.onStoreError === "throw") throw failure;
        return false;
      }
      this.counter.delete(n > 0 ? "deleted" : "absent");
      return n > 0;
    } finally {
      if (started >= 0) this.took("delete", started);
    }
  }

  stats(): CacheStats {
    return this.counter.snapshot();
  }

  /** Rejects a batch that is not an array or has more than `maxBatchKeys` entries, before any work. */
  private checkBatch<V>(values: readonly V[], argument: string): readonly V[] {
    checkArray(values, argument);
    const max = this.options.maxBatchKeys;
    if (values.length > max) throw new ConfigError(argument, `${values.length} entries, over maxBatchKeys (${max}): split the batch, or raise maxBatchKeys`);
    return values;
  }

  /**
   * Bounds a whole batch of `n` keys a little after {@link deadline}, which
   * the store applies per round trip (chunks of `perRoundTrip` keys, one
   * server's in turn): a deadline-aware store answers first with what
   * its live servers returned; any other store is still cut off. The bound
   * grows with the chunks one server may have to take in turn, so a large
   * batch is never cut off for its size alone.
   */
  private batchDeadline(n: number, perRoundTrip: number): Deadline | undefined {
    const ms = this.options.deadlineMs;
    if (ms === 0) return undefined;
    const rounds = 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(n / perRoundTrip))));
    let bound = this.batchDeadlines.get(rounds);
    if (bound === undefined) this.batchDeadlines.set(rounds, (bound = deadlineOn(this.store, rounds * (ms + Math.max(5, Math.ceil(ms / 4))), ms)));
    return bound;
  }

  /** The TTL of a write: the accessor's, or the per-call option (validated: a caller's mistake is a ConfigError). */
  private ttlOf(options: WriteOptions | undefined): number {
    if (options === undefined) return this.options.ttlSeconds;
    if (typeof options !== "object" || options === null || Array.isArray(options)) {
      throw new ConfigError("write options", `expected an object like { ttlSeconds: 60 } or nothing, got ${describeValue(options)}`);
    }
    checkKeys(options as Record<string, unknown>, "write options", ["ttlSeconds"]);
    return options.ttlSeconds === undefined ? this.options.ttlSeconds : checkTtl(options.ttlSeconds, "ttlSeconds");
  }

  private prepare(value: T, ttlSeconds: number): StoreWrite {
    const key = this.keyOf(value as unknown as K);
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

  /** Counts a write's outcome; an error is reported unless it is in `reported` (a batch's chunk already reported it). */
  private written(result: StoreWriteResult, key: string, reported?: Set<Error>): WriteOutcome {
    if (result instanceof Error) {
      this.counter.write("error");
      const failure = asStoreError(result, "SET", key);
      if (reported?.has(result) !== true) {
        reported?.add(result);
        this.report(failure);
      }
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
      case "foreign":
        // Too large to hand to the legacy reader (a DecodeError), or the reader threw: a miss, and reported.
        if (seen.error !== undefined) this.report(seen.error instanceof ProtocacheError ? seen.error : new LegacyReaderError(key, seen.error));
        break;
      case "corrupt":
        if (seen.error instanceof ProtocacheError) this.report(seen.error);
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

  /** Compare-and-set rewrite in the current revision, in the background; the TTL is kept and a changed key is left alone. */
  private rewrite(key: string, seenBytes: Buffer, value: T): void {
    let next: Buffer;
    try {
      next = this.encode(value, key);
    } catch (error) {
      this.counter.write("write_back_error");
      this.report(error as EncodeError);
      return;
    }
    this.background("CAS", key, () => this.store.replaceIfEqual(key, seenBytes, next)).then(
      (done) => this.counter.write(done ? "written_back" : "write_back_skipped"),
      (error: unknown) => {
        this.counter.write("write_back_error");
        this.report(asStoreError(error, "CAS", key));
      },
    );
  }

  /** Compare-and-delete of a corrupt or rejected entry, in the background. */
  private clean(key: string, seenBytes: Buffer): void {
    this.background("CAD", key, () => this.store.deleteIfEqual(key, seenBytes)).then(
      (done) => this.counter.delete(done ? "cleaned" : "clean_skipped"),
      (error: unknown) => {
        this.counter.delete("clean_error");
        this.report(asStoreError(error, "CAD", key));
      },
    );
  }

  /** Starts store work after the read has returned, bounded by the deadline like any call. */
  private background<R>(operation: string, key: string, work: () => Promise<R>): Promise<R> {
    const started = Promise.resolve().then(work);
    return this.deadline === undefined ? started : this.deadline.bound(started, operation, key);
  }

  /** Records a failed read (reported unless in `reported`); rethrows it when configured to, else returns it. */
  private readFailed(error: unknown, key: string | undefined, reported?: Set<unknown>): StoreError {
    const failure = asStoreError(error, "GET", key);
    this.counter.read("error", undefined);
    if (reported?.has(error) !== true) {
      reported?.add(error);
      this.report(failure);
    }
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

function asStoreError(error: unknown, operation: string, key: string | undefined): StoreError {
  return error instanceof StoreError ? error : new StoreError(operation, key, { cause: error });
}

function checkArray<V>(values: readonly V[], argument: string): readonly V[] {
  if (!Array.isArray(values)) throw new ConfigError(argument, `expected an array, got ${describeValue(values)}`);
  return values;
}
