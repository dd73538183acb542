import { FieldValueError } from "../codec/field-checks.js";
import { describeValue, quoteCapped } from "../describe-value.js";
import { Writer } from "../codec/writer.js";
import { encodeEnvelope, type EnvelopeWriteOptions } from "../envelope/encode.js";
import { ConfigError, EncodeError, KeyError, LegacyReaderError, ProtocacheError, StoreError, UpgradeError } from "../errors.js";
import { keyBase, KeyPartError } from "../keys.js";
import { StatsCounter, type CacheStats, type WriteCounter, type WriteOutcome } from "../stats.js";
import { MAX_KEYS_PER_ROUND_TRIP, MAX_WRITES_PER_ROUND_TRIP } from "../stores/batches.js";
import type { CacheStore, Deadline, StoreWrite, StoreWriteResult, WriteGuard } from "../stores/store.js";
import type { MetricRecorder, TimedCall } from "../metrics/sink.js";
import { CallBudget } from "./call-budget.js";
import { carry, type CarryResult } from "./carry.js";
import { deadlineOn } from "./deadline.js";
import type { Entity } from "./entity.js";
import { accessorInternals, type AccessorInternals, type WithInternals } from "./internals.js";
import { migrationsOf, type Migrations } from "./migrations.js";
import { checkedResult, interpret, type Interpretation } from "./read.js";
import { checkKeys, checkTtl, envelopeOptionsOf, resolveOptions, type AccessorOptions, type ResolvedOptions } from "./options.js";

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
 * by default, never overwrite an entry written by a newer deploy (a refused
 * write deletes it instead, see `onGuarded`).
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
const storeMethods = ["get", "getMany", "set", "setMany", "delete", "replaceIfEqual", "deleteIfEqual", "getWithExpiry", "createIfAbsent"] as const;

/** Creates an accessor; generated factories such as `userCache(store, options)` call this. */
export function createEntityCache<T, K>(entity: Entity<T, K>, store: CacheStore, options?: AccessorOptions<T, K>): EntityCache<T, K> {
  checkStore(store);
  const resolved = resolveOptions(options, entity.ttlSeconds, entity.keyFields);
  if (resolved.minRevision > entity.current.revision) {
    throw new ConfigError("minRevision", `${entity.typeName} is at revision ${entity.current.revision}; minRevision ${resolved.minRevision} would reject every entry`);
  }
  const previousMajor = (options as Record<string, unknown> | undefined)?.["previousMajor"];
  if (entity.previous === undefined && previousMajor !== undefined) {
    throw new ConfigError("previousMajor", `${entity.typeName} has no migrates_from: there is no previous major to read through or dual-write`);
  }
  if (entity.previous !== undefined) {
    const m = migrationsOf(entity);
    if (m?.fromPrevious === undefined) {
      throw new ConfigError("migrations", `${entity.typeName} migrates from ${entity.previous.entity.typeName}: create its accessors with the generated define…Cache({ fromPrevious, … }) factory`);
    }
    if (resolved.previousMajor === "dual-write" && m.toPrevious === undefined) {
      throw new ConfigError("previousMajor", `"dual-write" needs toPrevious in ${entity.typeName}'s migrations`);
    }
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

/** The previous major as one accessor uses it: resolved once. */
interface PreviousSide<T, K> {
  readonly entity: Entity<unknown, unknown>;
  readonly base: string;
  readonly options: ResolvedOptions<unknown>;
  readonly migrations: Migrations<T, K>;
  /** This major's key fields → the previous major's. */
  readonly mapKey: (fields: K) => unknown;
}

class EntityCacheImpl<T, K> implements EntityCache<T, K>, WithInternals<T, K> {
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
  /** The previous major, for an entity with `migrates_from`. */
  private readonly previous: PreviousSide<T, K> | undefined;

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
    this.envelope = envelopeOptionsOf(options);
    this.guard = options.guardWrites ? { knownIds: entity.registry.knownIds, invalidate: options.onGuarded === "delete" } : undefined;
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
    const previous = entity.previous;
    const migrations = migrationsOf(entity);
    if (previous !== undefined && migrations !== undefined) {
      const mapKey = previous.key ?? (migrations.previousKey as (fields: K) => unknown);
      this.previous = {
        entity: previous.entity,
        base: keyBase(options.prefix, previous.entity.entity, previous.entity.major, options.variant),
        // The previous major's entries are read as its own accessors read them, without side effects.
        options: { ...options, legacy: undefined, rewriteLegacy: false, minRevision: 1, onOlderRevision: "upgrade", writeBack: false, deleteCorrupt: false, deleteRejected: false },
        migrations,
        mapKey,
      };
    }
  }

  keyOf(fields: K): string {
    return this.keyIn(this.base, this.entity, fields);
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
        bytes = await this.bounded(read, "GET", key);
      } catch (error) {
        this.readFailed(error, key);
        return undefined;
      }
      if (bytes !== null) return this.settle(key, bytes, interpret(this.entity, this.options, bytes, key, fields)).value;
      if (!this.hasFallback()) return this.missed();
      return ((await this.fallback([fields], [key]))[0] ?? this.miss()).value;
    } finally {
      if (started >= 0) this.took("get", started);
    }
  }

  async getEntry(fields: K): Promise<CacheEntry<T>> {
    const key = this.keyOf(fields);
    let bytes: Buffer | null;
    try {
      const read = this.store.get(key);
      bytes = await this.bounded(read, "GET", key);
    } catch (error) {
      return { key, outcome: "error", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: this.readFailed(error, key) };
    }
    let seen: Interpretation<T>;
    if (bytes !== null) seen = this.settle(key, bytes, interpret(this.entity, this.options, bytes, key, fields));
    else seen = (this.hasFallback() ? (await this.fallback([fields], [key]))[0] : undefined) ?? this.miss();
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
      const found = await this.readMany(keys, "MGET");
      // A failed chunk is one error shared by its keys: each key is counted, the error reported once.
      let reported: Set<Error> | undefined;
      // One work budget for the whole call: past it, entries are over_budget misses, reported once.
      const budget = new CallBudget(this.options);
      const out = found.map((bytes, i) => {
        if (bytes === null) return undefined;
        if (bytes instanceof Error) {
          this.readFailed(bytes, keys[i], (reported ??= new Set()));
          return null;
        }
        const limit = budget.next();
        const seen = budget.spent ? budget.skip<T>() : budget.charge(interpret(this.entity, this.options, bytes, keys[i], fields[i], limit), limit);
        return this.settle(keys[i] as string, bytes, seen).value ?? null;
      });
      const absent = out.flatMap((v, i) => (v === undefined ? [i] : []));
      if (absent.length > 0) {
        const more = this.hasFallback() ? await this.fallback(absent.map((i) => fields[i] as K), absent.map((i) => keys[i] as string), budget) : [];
        absent.forEach((i, j) => (out[i] = (more[j] ?? this.miss()).value ?? null));
      }
      const spent = budget.error("getMany", keys.length);
      if (spent !== undefined) this.report(spent);
      return out.map((v) => v ?? undefined);
    } finally {
      if (started >= 0) this.took("getMany", started);
    }
  }

  private async setNow(value: T, started: number, options?: WriteOptions): Promise<WriteOutcome> {
    try {
      const ttlSeconds = this.ttlOf(options);
      const write = this.prepare(value, ttlSeconds);
      const dual = this.dualWrite([value], ttlSeconds);
      let result: StoreWriteResult;
      try {
        const done = this.store.set(write, this.guard);
        result = await this.bounded(done, "SET", write.key);
      } catch (error) {
        result = error instanceof Error ? error : new Error(String(error));
      }
      await dual;
      return this.written(result, write.key);
    } finally {
      if (started >= 0) this.took("set", started);
    }
  }

  private async setManyNow(values: readonly T[], started: number, options?: WriteOptions): Promise<WriteOutcome[]> {
    try {
      const ttlSeconds = this.ttlOf(options);
      const writes = this.checkBatch(values, "setMany(values)").map((v) => this.prepare(v, ttlSeconds));
      const dual = this.dualWrite(values, ttlSeconds);
      const results = await this.writeMany(writes, this.guard);
      await dual;
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
      return await this.deleteKeys(fields);
    } finally {
      if (started >= 0) this.took("delete", started);
    }
  }

  private async deleteKeys(fields: K): Promise<boolean> {
    const key = this.keyOf(fields);
    // Older copies go first (the legacy key, the previous major's): a read-through or adoption racing this
    // delete then finds its source gone and undoes its copy, so nothing deleted comes back.
    const keys = [key];
    if (this.previous !== undefined && this.options.previousMajor !== "off") keys.unshift(this.previousKeyOf(fields));
    const legacy = this.options.legacy;
    if (legacy?.key !== undefined) keys.unshift(this.legacyKeyOf(legacy.key, fields));
    let n = 0;
    try {
      for (const k of keys) {
        const done = this.store.delete([k]);
        n += await this.bounded(done, "DEL", k);
      }
    } catch (error) {
      const failure = asStoreError(error, "DEL", key);
      this.counter.delete("error");
      this.report(failure);
      if (this.options.onStoreError === "throw") throw failure;
      return false;
    }
    this.counter.delete(n > 0 ? "deleted" : "absent");
    return n > 0;
  }

  stats(): CacheStats {
    return this.counter.snapshot();
  }

  [accessorInternals](): AccessorInternals<T, K> {
    const p = this.previous;
    return {
      entity: this.entity,
      store: this.store,
      options: this.options,
      keyBase: this.base,
      keyOf: (fields) => this.keyOf(fields),
      // The read path of get, counting nothing (an operation's reads are not traffic).
      interpret: (bytes, key, budget) => interpret(this.entity, this.options, bytes, key, undefined, budget),
      encode: (value, key) => this.encode(value, key),
      recorder: this.recorder,
      previous:
        p === undefined ? undefined : (
          {
            entity: p.entity,
            keyBase: p.base,
            keyOf: (fields) => this.previousKeyOf(fields),
            convert: (bytes, key, budget) => this.convertPrevious(p, bytes, key, budget),
            toPrevious: p.migrations.toPrevious,
          }
        ),
    };
  }

  private keyIn<E, F>(base: string, entity: Entity<E, F>, fields: F): string {
    let key: string;
    try {
      key = base + entity.key(fields);
    } catch (error) {
      if (error instanceof KeyPartError) throw new KeyError(entity.typeName, error.field, error.message);
      if (fields === null || typeof fields !== "object") {
        throw new KeyError(entity.typeName, entity.keyFields.join(", "), `expected an object with the key fields, got ${describeValue(fields)}`);
      }
      throw error;
    }
    // A UTF-16 unit is at most 3 UTF-8 bytes: most keys need no byte count.
    const max = this.options.maxKeyBytes;
    if (key.length * 3 > max) {
      const bytes = Buffer.byteLength(key);
      if (bytes > max) throw new KeyError(entity.typeName, entity.keyFields.join(", "), `makes the key ${bytes} bytes, over maxKeyBytes (${max})`);
    }
    return key;
  }

  private previousKeyOf(fields: K): string {
    const p = this.previous as PreviousSide<T, K>;
    return this.keyIn(p.base, p.entity, p.mapKey(fields));
  }

  /** True when a miss here may be found elsewhere: the previous major, or a legacy key space. */
  private hasFallback(): boolean {
    return (this.previous !== undefined && this.options.previousMajor !== "off") || this.options.legacy?.key !== undefined;
  }

  /**
   * Misses at this accessor's keys, looked up where older data lives: the
   * previous major's keys (read-through), then the legacy key space
   * (adoption), one batched read each. Returns a settled (counted)
   * interpretation per key, or undefined where nothing usable was found.
   */
  private async fallback(fields: readonly K[], keys: readonly string[], budget?: CallBudget): Promise<(Interpretation<T> | undefined)[]> {
    const out: (Interpretation<T> | undefined)[] = keys.map(() => undefined);
    const p = this.previous;
    if (p !== undefined && this.options.previousMajor !== "off") {
      const from = this.mappedKeys(fields, (f) => this.previousKeyOf(f), "previousKey");
      const found = await this.readMany(from.map((k) => k ?? ""), "GET");
      found.forEach((bytes, i) => {
        const source = from[i];
        if (source !== undefined && bytes instanceof Buffer) out[i] = this.withinCall(budget, () => this.readThrough(p, keys[i] as string, source, bytes, budget));
        else if (bytes instanceof Error) this.report(asStoreError(bytes, "GET", source));
      });
    }
    const legacy = this.options.legacy;
    const todo = out.flatMap((seen, i) => (seen === undefined ? [i] : []));
    if (legacy?.key !== undefined && todo.length > 0) {
      const legacyKey = legacy.key;
      const from = this.mappedKeys(todo.map((i) => fields[i] as K), (f) => this.legacyKeyOf(legacyKey, f), "legacy.key");
      const found = await this.readMany(from.map((k) => k ?? ""), "GET");
      found.forEach((bytes, j) => {
        const i = todo[j] as number;
        const source = from[j];
        if (source !== undefined && bytes instanceof Buffer) out[i] = this.withinCall(budget, () => this.adopt(keys[i] as string, fields[i] as K, source, bytes, budget));
        else if (bytes instanceof Error) this.report(asStoreError(bytes, "GET", source));
      });
    }
    return out;
  }

  /** A fallback read, unless its call's budget is spent: then not decoded, a counted over_budget miss. */
  private withinCall(budget: CallBudget | undefined, read: () => Interpretation<T> | undefined): Interpretation<T> | undefined {
    if (budget === undefined || !budget.spent) return read();
    this.counter.read("over_budget", undefined);
    return budget.skip<T>();
  }

  /** Interprets within a call's budget when there is one (charging it), else within the read's own. */
  private within(budget: CallBudget | undefined, read: (limit?: number) => Interpretation<T>): Interpretation<T> {
    if (budget === undefined) return read();
    const limit = budget.next();
    return budget.charge(read(limit), limit);
  }

  /** Keys of another key space for each key's fields; a mapping that throws is reported and that key skipped. */
  private mappedKeys(fields: readonly K[], map: (fields: K) => string, what: string): (string | undefined)[] {
    return fields.map((f) => {
      try {
        return map(f);
      } catch (error) {
        this.report(error instanceof ProtocacheError ? error : new UpgradeError(this.entity.typeName, undefined, what, error));
        return undefined;
      }
    });
  }

  private legacyKeyOf(map: (fields: unknown) => string, fields: K): string {
    const key = map(fields);
    if (typeof key !== "string" || key === "") throw new ConfigError("legacy.key", `expected a non-empty string key, got ${typeof key === "string" ? '""' : typeof key}`);
    return key;
  }

  /** The previous major's entry → this major's value (the previous entity's decision table, then fromPrevious). */
  private convertPrevious(p: PreviousSide<T, K>, bytes: Buffer, key: string | undefined, limit?: number): Interpretation<T> {
    const seen = interpret(p.entity, p.options, bytes, key, undefined, limit);
    if (seen.value === undefined) return { ...seen, value: undefined, revision: undefined };
    try {
      const value = checkedResult((p.migrations.fromPrevious as (old: unknown) => T)(seen.value));
      return { outcome: "read_through", value, header: seen.header, revision: undefined, error: undefined, work: seen.work ?? 0 };
    } catch (error) {
      return { outcome: "upgrade_failed", value: undefined, header: seen.header, revision: undefined, error: new UpgradeError(this.entity.typeName, key, "fromPrevious", error), work: seen.work ?? 0 };
    }
  }

  /** A miss here found in the previous major: converted, returned, and copied here in the background with its expiry. */
  private readThrough(p: PreviousSide<T, K>, key: string, source: string, bytes: Buffer, budget?: CallBudget): Interpretation<T> | undefined {
    let seen = this.within(budget, (limit) => this.convertPrevious(p, bytes, source, limit));
    let next: Buffer | undefined;
    if (seen.outcome === "read_through") {
      try {
        next = this.encode(seen.value as T, key);
      } catch (error) {
        seen = { ...seen, outcome: "upgrade_failed", value: undefined, error: new UpgradeError(this.entity.typeName, source, "fromPrevious", error) };
      }
    }
    if (seen.outcome !== "read_through" && seen.outcome !== "upgrade_failed" && seen.outcome !== "over_budget") {
      // Nothing usable in the previous major (a miss there too): reported if damaged, counted as this read's miss.
      if (seen.error instanceof ProtocacheError) this.report(seen.error);
      return undefined;
    }
    this.counter.read(seen.outcome, seen.header?.schemaId);
    if (seen.error instanceof ProtocacheError) this.report(seen.error);
    if (next !== undefined) this.carryInBackground(source, bytes, key, next, false, ["migrated", "migrate_skipped", "migrate_error"]);
    return seen;
  }

  /** A miss here found in the legacy key space: converted, returned, and (with `adopt`) written here with its expiry. */
  private adopt(key: string, fields: K, source: string, bytes: Buffer, budget?: CallBudget): Interpretation<T> | undefined {
    const seen = this.within(budget, (limit) => interpret(this.entity, this.options, bytes, source, fields, limit));
    if (seen.outcome !== "legacy" && seen.outcome !== "legacy_rejected" && seen.outcome !== "over_budget") {
      // Not a legacy value (the reader declined, or an envelope sits at the old key): a miss here.
      if (seen.error instanceof ProtocacheError) this.report(seen.error);
      return undefined;
    }
    this.counter.read(seen.outcome, undefined);
    if (seen.error instanceof ProtocacheError) this.report(seen.error);
    const legacy = this.options.legacy;
    if (seen.envelope !== undefined && legacy?.adopt === true) {
      this.carryInBackground(source, bytes, key, seen.envelope, legacy.deleteOld, ["adopted", "adopt_skipped", "adopt_error"]);
    }
    return seen;
  }

  private carryInBackground(source: string, bytes: Buffer, target: string, value: Buffer, deleteSource: boolean, counters: readonly [WriteCounter, WriteCounter, WriteCounter]): void {
    // Each step of the copy has the deadline of one call (not the whole copy).
    Promise.resolve().then(() => carry(this.store, source, bytes, target, value, deleteSource, (work, operation, key) => this.bounded(work, operation, key))).then(
      (done: CarryResult) => {
        this.counter.write(done === "created" ? counters[0] : counters[1]);
        if (deleteSource && done === "created") this.counter.delete("legacy_deleted");
      },
      (error: unknown) => {
        this.counter.write(counters[2]);
        this.report(asStoreError(error, "COPY", target));
      },
    );
  }

  /** Dual-write: the previous major's entries for `values`, written beside this major's (counted, never failing the write). */
  private async dualWrite(values: readonly T[], ttlSeconds: number): Promise<void> {
    const p = this.previous;
    if (p === undefined || this.options.previousMajor !== "dual-write") return;
    const toPrevious = p.migrations.toPrevious as (value: T) => unknown;
    const writes: StoreWrite[] = [];
    for (const value of values) {
      try {
        const old = checkedResult(toPrevious(value));
        const key = this.keyIn(p.base, p.entity, old);
        writes.push({ key, value: encodeEnvelope(writer, p.entity.current.schemaId, old, p.entity.encode, this.envelope, Date.now()), ttlSeconds });
      } catch (error) {
        this.counter.write("dual_write_error");
        this.report(error instanceof ProtocacheError ? error : new UpgradeError(this.entity.typeName, undefined, "toPrevious", error));
      }
    }
    if (writes.length === 0) return;
    const guard = this.guard === undefined ? undefined : { ...this.guard, knownIds: p.entity.registry.knownIds };
    const results = await this.writeMany(writes, guard);
    results.forEach((r, i) => {
      if (r === "written") this.counter.write("dual_written");
      else if (r === "guarded" || r === "invalidated") {
        this.counter.write("dual_write_guarded");
        if (r === "invalidated") this.counter.delete("guard_deleted");
      }
      else {
        this.counter.write("dual_write_error");
        this.report(asStoreError(r, "SET", writes[i]?.key));
      }
    });
  }

  /** Reads many keys in one round trip per server; an Error in place of each value that could not be read. */
  private async readMany(keys: readonly string[], operation: string): Promise<(Buffer | null | Error)[]> {
    try {
      const read = this.store.getMany(keys, this.deadline);
      const bound = this.batchDeadline(keys.length, MAX_KEYS_PER_ROUND_TRIP);
      return await (bound === undefined ? read : bound.bound(read, operation, keys[0]));
    } catch (error) {
      return keys.map((k) => asStoreError(error, operation, k));
    }
  }

  private async writeMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined): Promise<StoreWriteResult[]> {
    if (writes.length === 1) {
      const w = writes[0] as StoreWrite;
      try {
        const done = this.store.set(w, guard);
        return [await this.bounded(done, "SET", w.key)];
      } catch (error) {
        return [error instanceof Error ? error : new Error(String(error))];
      }
    }
    try {
      const done = this.store.setMany(writes, guard, this.deadline);
      const bound = this.batchDeadline(writes.length, MAX_WRITES_PER_ROUND_TRIP);
      return await (bound === undefined ? done : bound.bound(done, "SET", writes[0]?.key));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return writes.map(() => failure);
    }
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
    if (result === "invalidated") {
      this.counter.write("guarded");
      this.counter.delete("guard_deleted");
      return "guarded";
    }
    this.counter.write(result);
    return result;
  }

  private missed(): undefined {
    this.counter.read("miss", undefined);
    return undefined;
  }

  /** A counted miss, as an interpretation. */
  private miss(): Interpretation<T> {
    this.counter.read("miss", undefined);
    return { outcome: "miss", value: undefined, header: undefined, revision: undefined, error: undefined };
  }

  /** Counts a read and runs its side effects (write-back, deletes) in the background. */
  private settle(key: string, bytes: Buffer, seen: Interpretation<T>): Interpretation<T> {
    this.counter.read(seen.outcome, seen.header?.schemaId);
    const o = this.options;
    switch (seen.outcome) {
      case "upgraded":
        if (o.writeBack && seen.envelope !== undefined) this.replace(key, bytes, seen.envelope);
        else if (o.writeBack && seen.value !== undefined) this.rewrite(key, bytes, seen.value);
        break;
      case "legacy":
        if (o.rewriteLegacy && seen.envelope !== undefined) this.replace(key, bytes, seen.envelope);
        break;
      case "upgrade_failed":
      case "legacy_rejected":
      case "over_budget":
        // An over_budget entry is never deleted: a reader with a larger budget may read it.
        if (seen.error instanceof ProtocacheError) this.report(seen.error);
        break;
      case "foreign":
        // Too large to hand to the legacy reader: a miss, and reported.
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
    this.replace(key, seenBytes, next);
  }

  private replace(key: string, seenBytes: Buffer, next: Buffer): void {
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
    return this.bounded(Promise.resolve().then(work), operation, key);
  }

  /** `work`, bounded by the per-call deadline when there is one. */
  private bounded<R>(work: Promise<R>, operation: string, key: string): Promise<R> {
    return this.deadline === undefined ? work : this.deadline.bound(work, operation, key);
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
