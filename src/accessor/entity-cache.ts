import { FieldValueError } from "../codec/field-checks.js";
import { Writer } from "../codec/writer.js";
import { encodeAbsentMarker, encodeEnvelope, type EnvelopeWriteOptions, type Stamp } from "../envelope/encode.js";
import { AccessorClosedError, ConfigError, EncodeError, UnexpectedReplyError } from "../errors.js";
import type { MetricRecorder, TimedCall } from "../metrics/sink.js";
import type { CacheStats, WriteOutcome } from "../stats.js";
import type { CacheStore, StoreWrite, StoreWriteResult, WriteGuard } from "../stores/store.js";
import { previousSide, setupOf } from "./accessor-setup.js";
import { CallBudget } from "./call-budget.js";
import type { Entity } from "./entity.js";
import { EntryOps, type EntryOperations } from "./entry-ops.js";
import { storedTtlOf } from "./freshness.js";
import { Loading, type BatchLoader, type Loader, type Looked } from "./loading.js";
import { loadPolicyOf, type LoadCallOptions, type LoadPolicy } from "./loading-options.js";
import { accessorInternals, type AccessorInternals, type WithInternals } from "./internals.js";
import { KeySpace } from "./key-space.js";
import { droppingStore, L1Tier } from "./l1-tier.js";
import { Maintenance } from "./maintenance.js";
import { batchOf, envelopeOptionsOf, writeOptionsOf, type AccessorOptions, type ResolvedOptions, type WriteOptions } from "./options.js";
import { Invalidation } from "./invalidation.js";
import { encodeTags } from "../invalidation/tag-keys.js";
import { Outcomes } from "./outcomes.js";
import { interpret, type Interpretation } from "./read.js";
import { freshOnly, type ReadOptions } from "./read-options.js";
import { FROM_L1, FROM_REDIS, servedAgeOf, type ServedAge } from "./served-age.js";
import { StoreCalls } from "./store-calls.js";
import { convertPrevious, transitionsOf, type Transitions } from "./transitions.js";
import { integer, options as optionsOf } from "../validation/index.js";

export type { WriteOptions } from "./options.js";

/** Options of `close()`. */
export interface CloseOptions {
  /** Longest wait, in milliseconds, for background work (write-backs, refreshes, copies, dual-writes, lease releases). Default 5000. */
  readonly timeoutMs?: number;
}

const closeOptions = optionsOf({ timeoutMs: (v: unknown, p: string) => (v === undefined ? 5000 : integer(0, 600_000, "whole milliseconds from 0 to 600000")(v, p)) }, { name: "close options" });

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
export interface EntityCache<T, K> extends EntryOperations<K> {
  /** The value at the key made of `fields`, or undefined on any kind of miss (and, with `{ allowStale: false }`, past its fresh TTL). */
  get(fields: K, options?: ReadOptions): Promise<T | undefined>;
  /** Values of many keys in order: one round trip per server and 1000 keys; at most `maxBatchKeys` keys. Options as `get`'s. */
  getMany(fields: readonly K[], options?: ReadOptions): Promise<(T | undefined)[]>;
  /** Like `get`, with the outcome and header details. */
  getEntry(fields: K): Promise<CacheEntry<T>>;
  /** Stores `value` under the key derived from its own key fields. */
  set(value: T, options?: WriteOptions): Promise<WriteOutcome>;
  /** Stores many values: one round trip per server and 250 values; at most `maxBatchKeys` values. */
  setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]>;
  /**
   * The value at the key of `fields`; on a miss, `loader`'s value, written
   * through the write guard (an absent marker when it returns undefined).
   * Callers of one key in this process share one load (and its error, which
   * is never cached); across instances, a lease in Redis lets one load while
   * the others wait for its write. An entry past its fresh TTL but within
   * `loading.graceSeconds` is returned at once and refreshed in the
   * background; when the loader fails or passes `softTimeoutMs`, a stale
   * value is returned if there is one (docs/loading.md).
   *
   * @example
   * ```ts
   * const users = userCache(new RedisStore(redis), { loading: { graceSeconds: 300 } });
   * const user = await users.getOrSet({ id }, async ({ id }, { signal }) => db.findUser(id, { signal }));
   * ```
   */
  getOrSet(fields: K, loader: Loader<T, K>, options?: LoadCallOptions): Promise<T | undefined>;
  /**
   * Values of many keys in order, like `getOrSet`: one read per server, then
   * one loader call with all the keys that missed (and are not being loaded
   * already in this process), its results written in one batch. No lease
   * across instances.
   *
   * @example
   * ```ts
   * const found = await users.getManyOrSet(ids.map((id) => ({ id })), async (missing) => {
   *   const rows = await db.findUsers(missing.map((f) => f.id));
   *   return missing.map((f) => rows.get(f.id)); // one entry per key, undefined for "does not exist"
   * });
   * ```
   */
  getManyOrSet(fields: readonly K[], loader: BatchLoader<T, K>, options?: LoadCallOptions): Promise<(T | undefined)[]>;
  /**
   * Makes every entry carrying any of `tags` a miss, in every process
   * (docs/invalidation.md): one small write per tag, whatever the number of
   * entries. Rejects with a StoreError when it could not be written.
   *
   * @example
   * ```ts
   * await products.set(product, { tags: [`shop:${product.shopId}`] });
   * await products.invalidateTags([`shop:${shopId}`]); // after a bulk price update
   * ```
   */
  invalidateTags(tags: readonly string[]): Promise<void>;
  /**
   * Makes every entry of this accessor's key space (entity, major and
   * variant) written before now a miss, in every process, with one write
   * whatever the number of entries. Needs the `invalidation` option.
   */
  clear(): Promise<void>;
  /** The Redis key for these key fields. */
  keyOf(fields: K): string;
  /** Outcome counters since creation. */
  stats(): CacheStats;
  /**
   * Resolves true once the L1's tracking is live on every server (until
   * then, reads go to Redis and fill nothing), false after `timeoutMs`
   * (default 5000) or without the `l1` option. Optional: a service may wait
   * for it at startup to have L1 hits from its first requests.
   */
  l1Ready(timeoutMs?: number): Promise<boolean>;
  /**
   * Waits, at most `timeoutMs` (default 5000), for the work reads and loads
   * left running (write-backs, refreshes, copies, dual-writes, lease
   * releases); resolves how many were still running then. Every later call
   * rejects with an AccessorClosedError. The store (and its client) stays
   * open: close the client after the accessors.
   */
  close(options?: CloseOptions): Promise<number>;
  /** `close()` for `await using users = userCache(store)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const writer = new Writer();

/** Creates an accessor; generated factories such as `userCache(store, options)` call this. */
export function createEntityCache<T, K>(entity: Entity<T, K>, store: CacheStore, options?: AccessorOptions<T, K>): EntityCache<T, K> {
  return new EntityCacheImpl(entity, store, setupOf(entity, store, options));
}

/** An accessor's parts, each one job (docs/architecture.md): the facade below only sequences them. */
class EntityCacheImpl<T, K> implements EntityCache<T, K>, WithInternals<T, K> {
  private readonly envelope: EnvelopeWriteOptions;
  private readonly guard: WriteGuard | undefined;
  private readonly recorder: MetricRecorder | undefined;
  /** The metrics sink wants call durations: read the clock around each call. */
  private readonly timing: boolean;
  private readonly keys: KeySpace<T, K>;
  private readonly io: StoreCalls;
  private readonly outcomes: Outcomes;
  private readonly maintenance: Maintenance<T>;
  /** Read-through, adoption and dual-write; undefined when the accessor has none. */
  private readonly transitions: Transitions<T, K> | undefined;
  /** getOrSet and getManyOrSet. */
  private readonly loading: Loading<T, K>;
  /** has, delete, deleteMany, expire. */
  private readonly entries: EntryOps<T, K>;
  /** The loading policy of a call without options (the accessor's). */
  private readonly policy: LoadPolicy;
  /** Where every value served is told (its age, the staleness audit). */
  private readonly served: ServedAge<T, K>;
  /** The in-process L1 (the `l1` option), undefined without it. */
  private readonly tier: L1Tier<T> | undefined;
  /** Ends the metrics sink's gauges of the L1, on close. */
  private readonly unobserve: (() => void) | undefined;
  /** Tags and clear() (the `invalidation` option); made on first need for a tagged entry read without the option. */
  private checks: Invalidation<T> | undefined;
  /** A failed TTL read was reported (once: it is a setting, not traffic). */
  private ttlUnreadReported = false;
  /** Set by close(): every later call rejects. */
  private closing: Promise<number> | undefined;

  constructor(
    private readonly entity: Entity<T, K>,
    private readonly store: CacheStore,
    private readonly options: ResolvedOptions<T>,
  ) {
    this.keys = new KeySpace(entity, options, previousSide(entity, options));
    this.envelope = envelopeOptionsOf(options);
    this.guard = options.guardWrites ? { knownIds: entity.registry.knownIds, invalidate: options.onGuarded === "delete" } : undefined;
    this.recorder = options.metrics?.bind({
      message: entity.typeName,
      entity: entity.entity,
      major: entity.major,
      schemaId: entity.current.schemaId,
      variant: options.variant,
    });
    this.timing = this.recorder?.duration !== undefined;
    this.outcomes = new Outcomes(this.recorder, entity.current.schemaId, options);
    this.tier = options.l1 === undefined ? undefined : new L1Tier<T>(this.keys.base, options.l1, store, (c) => this.outcomes.counter.l1(c));
    const tier = this.tier;
    this.unobserve = tier === undefined ? undefined : this.recorder?.held?.(() => ({ entries: tier.l1.entries, bytes: tier.l1.bytes }));
    this.io = new StoreCalls(this.tier === undefined ? store : droppingStore(store, this.tier as L1Tier<unknown>), options.deadlineMs);
    const encode = (value: T, key: string | undefined, stamp?: Stamp): Buffer => this.encode(value, key, stamp);
    this.maintenance = new Maintenance(entity as Entity<T, unknown>, options, this.io, this.outcomes, encode);
    this.transitions = transitionsOf({ entity, options, keys: this.keys, io: this.io, outcomes: this.outcomes, maintenance: this.maintenance, envelope: this.envelope, guard: this.guard, encode });
    this.policy = { ...options.loading, ttlSeconds: options.ttlSeconds };
    if (options.invalidation !== undefined) this.checks = this.invalidationChecks(true);
    this.served = servedAgeOf(entity, options, this.outcomes.counter, this.io, (key) => this.loading.pending(key));
    const absent = encodeAbsentMarker(entity.current.schemaId, this.envelope, 0);
    this.loading = new Loading<T, K>({
      typeName: entity.typeName,
      io: this.io,
      outcomes: this.outcomes,
      guard: this.guard,
      writtenAt: options.writtenAt,
      keyOf: (fields) => this.keyOf(fields),
      leaseKeyOf: (key) => this.keys.leaseKeyOf(key),
      // With an L1, getOrSet hands the loading cache its read through the L1 (lookedUp): this is the read without one.
      lookup: (fields, key) => this.lookup(fields, key).then((l) => this.checked(l, key)),
      lookupMany: (fields, keys) => this.lookupThroughL1(fields, keys).then((l) => this.checkedMany(l, keys)),
      read: (key, bytes, fields) => this.read(key, bytes, fields),
      check: (looked, key) => this.checked(looked, key),
      encode: (value, key, stamp) => this.encode(value, key, stamp),
      absentMarker: (stamp) =>
        this.envelope.writtenAt ? encodeAbsentMarker(entity.current.schemaId, this.envelope, stamp?.writtenAt ?? Date.now(), this.tagBytes(stamp?.tags)) : absent,
      dualWrite: (values, ttlSeconds) => this.transitions?.dualWrite(values, ttlSeconds),
      hits: this.served,
    });
    const { maxBatchKeys, deadlineMs, writtenAt } = options;
    this.entries = new EntryOps<T, K>({ io: this.io, outcomes: this.outcomes, maxBatchKeys, deadlineMs, writtenAt, policy: this.policy, keyOf: (f) => this.keyOf(f), deleteOrder: (f, key) => this.transitions?.deleteOrder(f, key) ?? [key], get: (f, o) => this.get(f, o) });
  }

  getOrSet(fields: K, loader: Loader<T, K>, options?: LoadCallOptions): Promise<T | undefined> {
    if (this.closing !== undefined) return this.closed("getOrSet");
    let policy: LoadPolicy;
    try {
      policy = loadPolicyOf(this.policy, options, this.options.writtenAt);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const tier = this.tier;
    if (tier === undefined || typeof loader !== "function" || policy.forceFresh === true) return this.loading.get(fields, loader, policy);
    // The L1 hit path: synchronous up to one resolved promise when the held value is fresh.
    let key: string;
    try {
      key = this.keyOf(fields);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const held = this.heldValue(tier, key);
    if (held !== undefined && this.loading.servesAsIs(key, held, policy)) return Promise.resolve(this.served.hit("l1", held, key, fields, loader, false, policy, tier.l1.lastNow));
    const lookedUp = held !== undefined ? Promise.resolve({ seen: held, failed: false, l1: true }) : this.readThroughL1(tier, fields, key);
    return this.loading.get(fields, loader, policy, lookedUp);
  }

  getManyOrSet(fields: readonly K[], loader: BatchLoader<T, K>, options?: LoadCallOptions): Promise<(T | undefined)[]> {
    if (this.closing !== undefined) return this.closed("getManyOrSet");
    try {
      const policy = loadPolicyOf(this.policy, options, this.options.writtenAt);
      return this.loading.getMany(this.checkBatch(fields, "getManyOrSet(fields)"), loader, policy);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  close(options?: CloseOptions): Promise<number> {
    const { timeoutMs } = closeOptions(options, "close options");
    this.closing ??= this.io.drain(timeoutMs).finally(() => {
      this.tier?.close();
      this.checks?.close();
      this.unobserve?.();
    });
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private closed<R>(call: string): Promise<R> {
    return Promise.reject(new AccessorClosedError(this.entity.typeName, call));
  }

  keyOf(fields: K): string {
    return this.keys.keyOf(fields);
  }

  get(fields: K, options?: ReadOptions): Promise<T | undefined> {
    if (this.closing !== undefined) return this.closed("get");
    let fresh: boolean;
    try {
      fresh = freshOnly(options);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (fresh) return this.timed("get", this.getFresh(fields));
    return this.timed("get", this.tier === undefined ? this.getValue(fields) : this.getThroughL1(this.tier, fields));
  }

  /** `get` with an L1: a held value synchronously up to one resolved promise, else the key's read from Redis (joined per key). */
  private getThroughL1(tier: L1Tier<T>, fields: K): Promise<T | undefined> {
    let key: string;
    try {
      key = this.keyOf(fields);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const held = this.heldValue(tier, key);
    if (held !== undefined) return Promise.resolve(this.served.value(FROM_L1, held, tier.l1.lastNow));
    return this.readThroughL1(tier, fields, key).then((l) => this.served.value(FROM_REDIS, l.seen));
  }

  /** What the L1 holds of `key` and may serve now: undefined when it holds nothing, or a value an invalidation retired (dropped) or whose states are not held. */
  private heldValue(tier: L1Tier<T>, key: string): Interpretation<T> | undefined {
    const held = tier.l1.get(key);
    if (held === undefined) return undefined;
    const checks = this.checks ?? (held.header?.tags === undefined ? undefined : this.invalidationChecks(false));
    if (checks === undefined) return held;
    const valid = checks.heldValid(held);
    if (valid === false) tier.drop([key]);
    return valid === true ? held : undefined;
  }

  /** An L1 miss's read of `key` (joined per key), checked for this caller. */
  private readThroughL1(tier: L1Tier<T>, fields: K, key: string): Promise<Looked<T>> {
    return tier.read(key, () => this.lookup(fields, key, true)).then((l) => this.checked(l, key));
  }

  /** The Invalidation of this accessor: with the option, or (`scoped` false) made on the first tagged entry read without it. */
  private invalidationChecks(scoped: boolean): Invalidation<T> {
    const inv = this.options.invalidation;
    let tracking = inv?.tracking ?? this.options.l1?.tracking;
    if (tracking === undefined && typeof this.store.tracking === "function") {
      try {
        tracking = this.store.tracking();
      } catch {
        // A store that cannot track (GLIDE without a source): every check reads its states from Redis.
      }
    }
    return (this.checks ??= new Invalidation<T>(this.options.prefix, this.keys.base, scoped, inv?.clockSkewMs ?? 0, this.store, tracking, this.io, this.outcomes));
  }

  /** `looked` as this caller may have it (see Invalidation.check); an L1 entry an invalidation retired is dropped. */
  private checked(looked: Looked<T>, key: string): Looked<T> | Promise<Looked<T>> {
    const seen = looked.seen;
    const checks = this.checks ?? (seen?.header?.tags === undefined ? undefined : this.invalidationChecks(false));
    if (checks === undefined) return looked;
    const out = checks.check(looked);
    if (out === looked) return looked;
    return Promise.resolve(out).then((l) => {
      if (l.seen === undefined && seen !== undefined) this.tier?.drop([key]);
      return l;
    });
  }

  /** Many `looked`, checked like `checked`. */
  private async checkedMany(looked: Looked<T>[], keys: readonly string[]): Promise<Looked<T>[]> {
    const checks = this.checks ?? (looked.some((l) => l.seen?.header?.tags !== undefined) ? this.invalidationChecks(false) : undefined);
    if (checks === undefined) return looked;
    const { looked: out, refused } = await checks.checkMany(looked);
    if (refused.length > 0) this.tier?.drop(refused.map((i) => keys[i] as string));
    return out;
  }

  invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.closing !== undefined) return this.closed("invalidateTags");
    return this.timed("invalidateTags", this.invalidationChecks(false).invalidateTags(tags));
  }

  clear(): Promise<void> {
    if (this.closing !== undefined) return this.closed("clear");
    if (this.options.invalidation === undefined) return Promise.reject(new ConfigError("invalidation", "clear() needs the accessor's invalidation option (every instance reading the key space needs it)"));
    return this.timed("clear", this.invalidationChecks(true).clear());
  }

  /** `get(fields, { allowStale: false })`: the value only while within its fresh TTL. */
  private async getFresh(fields: K): Promise<T | undefined> {
    const key = this.keyOf(fields);
    const [looked] = await this.checkedMany(await this.lookupThroughL1([fields], [key]), [key]);
    return this.loading.isFresh(key, looked?.seen, this.policy) ? this.served.value(looked?.l1 === true ? FROM_L1 : FROM_REDIS, looked?.seen) : undefined;
  }

  getMany(fields: readonly K[], options?: ReadOptions): Promise<(T | undefined)[]> {
    if (this.closing !== undefined) return this.closed("getMany");
    try {
      return this.timed("getMany", this.getValues(fields, freshOnly(options)));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  has(fields: K, options?: ReadOptions): Promise<boolean> {
    return this.closing !== undefined ? this.closed("has") : this.entries.has(fields, options);
  }

  deleteMany(fields: readonly K[]): Promise<number> {
    return this.closing !== undefined ? this.closed("deleteMany") : this.timed("delete", this.entries.deleteMany(fields));
  }

  expire(fields: K): Promise<boolean> {
    return this.closing !== undefined ? this.closed("expire") : this.entries.expire(fields);
  }

  set(value: T, options?: WriteOptions): Promise<WriteOutcome> {
    if (this.closing !== undefined) return this.closed("set");
    return this.timed("set", this.setValue(value, options));
  }

  setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]> {
    if (this.closing !== undefined) return this.closed("setMany");
    return this.timed("setMany", this.setValues(values, options));
  }

  delete(fields: K): Promise<boolean> {
    if (this.closing !== undefined) return this.closed("delete");
    return this.timed("delete", this.entries.delete(fields));
  }

  async getEntry(fields: K): Promise<CacheEntry<T>> {
    if (this.closing !== undefined) return this.closed("getEntry");
    const key = this.keyOf(fields);
    let bytes: Buffer | null;
    try {
      bytes = await this.io.bounded(this.store.get(key), "GET", key);
    } catch (error) {
      return { key, outcome: "error", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: this.outcomes.readFailed(error, key) };
    }
    const seen = bytes !== null ? this.read(key, bytes, fields) : ((await this.elsewhere([fields], [key]))[0] ?? this.outcomes.miss<T>());
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

  l1Ready(timeoutMs = 5000): Promise<boolean> {
    try {
      const ms = integer(0, 600_000, "whole milliseconds from 0 to 600000")(timeoutMs, "timeoutMs");
      return this.tier === undefined ? Promise.resolve(false) : this.tier.l1.ready(ms);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  stats(): CacheStats {
    return this.outcomes.counter.snapshot(this.tier === undefined ? undefined : { entries: this.tier.l1.entries, bytes: this.tier.l1.bytes });
  }

  [accessorInternals](): AccessorInternals<T, K> {
    const p = this.keys.previous;
    return {
      entity: this.entity,
      store: this.store,
      options: this.options,
      keyBase: this.keys.base,
      keyOf: (fields) => this.keyOf(fields),
      // The read path of get, counting nothing (an operation's reads are not traffic).
      interpret: (bytes, key, budget) => interpret(this.entity, this.options, bytes, key, undefined, budget),
      encode: (value, key, stamp) => this.encode(value, key, stamp),
      recorder: this.recorder,
      l1: this.tier?.l1,
      invalidationReady: (timeoutMs) => this.checks?.ready(timeoutMs) ?? Promise.resolve(false),
      previous:
        p === undefined ? undefined : (
          {
            entity: p.entity,
            keyBase: p.base,
            keyOf: (fields) => this.keys.previousKeyOf(fields),
            convert: (bytes, key, budget) => convertPrevious(this.entity, p, bytes, key, budget),
            toPrevious: p.migrations.toPrevious,
          }
        ),
    };
  }

  /** Reports how long `call` took when the metrics sink wants durations (no clock read otherwise). */
  private timed<R>(call: TimedCall, work: Promise<R>): Promise<R> {
    if (!this.timing) return work;
    const started = performance.now();
    const took = (): void => (this.recorder as MetricRecorder).duration?.(call, performance.now() - started);
    work.then(took, took);
    return work;
  }

  private async getValue(fields: K): Promise<T | undefined> {
    const key = this.keyOf(fields);
    let bytes: Buffer | null;
    try {
      bytes = await this.io.bounded(this.store.get(key), "GET", key);
    } catch (error) {
      this.outcomes.readFailed(error, key);
      return undefined;
    }
    let seen: Interpretation<T>;
    if (bytes !== null) seen = this.read(key, bytes, fields);
    else if (this.transitions?.readsElsewhere !== true) {
      this.outcomes.counter.read("miss", undefined);
      return undefined;
    } else seen = (await this.transitions.fallback([fields], [key]))[0] ?? this.outcomes.miss<T>();
    return this.served.value(FROM_REDIS, (await this.checked({ seen, failed: false }, key)).seen);
  }

  /**
   * `get`'s read for the loading cache: the settled interpretation
   * (undefined for a plain miss) and whether the store failed. `timed`
   * (the reads behind an L1) reads the key's remaining TTL in the same
   * round trip, for the L1 to hold the value no longer.
   */
  private async lookup(fields: K, key: string, timed = false): Promise<Looked<T>> {
    let bytes: Buffer | null;
    let ttlMs: number | undefined;
    try {
      if (timed) {
        const found = await this.io.readTimed(key);
        bytes = found === null ? null : found.value;
        ttlMs = found === null ? undefined : (found.ttlMs ?? Infinity);
        if (found?.ttlError !== undefined) this.ttlUnread(found.ttlError);
      } else bytes = await this.io.bounded(this.store.get(key), "GET", key);
    } catch (error) {
      this.outcomes.readFailed(error, key);
      return { seen: undefined, failed: true };
    }
    if (bytes !== null) return { seen: this.read(key, bytes, fields), failed: false, ttlMs };
    if (this.transitions?.readsElsewhere !== true) {
      this.outcomes.counter.read("miss", undefined);
      return { seen: undefined, failed: false };
    }
    return { seen: (await this.transitions.fallback([fields], [key]))[0] ?? this.outcomes.miss<T>(), failed: false };
  }

  private async getValues(fields: readonly K[], fresh: boolean): Promise<(T | undefined)[]> {
    const keys = this.checkBatch(fields, "getMany(fields)").map((f) => this.keyOf(f));
    const looked = await this.checkedMany(await this.lookupThroughL1(fields, keys), keys);
    // allowStale: false serves only values within their fresh TTL; what is served has its age recorded.
    return this.served.values(fresh ? looked.map((l, i) => (this.loading.isFresh(keys[i] as string, l.seen, this.policy) ? l : { ...l, seen: undefined })) : looked);
  }

  /** `lookupMany` behind the L1, when there is one: only the keys it does not hold are read. */
  private lookupThroughL1(fields: readonly K[], keys: readonly string[]): Promise<Looked<T>[]> {
    if (this.tier === undefined) return this.lookupMany(fields, keys);
    return this.tier.many(keys, (positions) => this.lookupMany(positions.map((i) => fields[i] as K), positions.map((i) => keys[i] as string), true));
  }

  /**
   * `getMany`'s read: one settled interpretation per key (undefined for a
   * plain miss), within one call's work budget. `timed` (the reads behind
   * an L1) reads each key's remaining TTL in the same round trips.
   */
  private async lookupMany(fields: readonly K[], keys: readonly string[], timed = false): Promise<Looked<T>[]> {
    let found: (Buffer | null | Error)[];
    let ttls: (number | undefined)[] | undefined;
    if (timed) {
      const read = await this.io.readManyTimed(keys, "MGET");
      ttls = read.map((r) => (r === null || r instanceof Error ? undefined : (r.ttlMs ?? Infinity)));
      const unread = read.find((r) => r !== null && !(r instanceof Error) && r.ttlError !== undefined);
      if (unread !== null && unread !== undefined && !(unread instanceof Error)) this.ttlUnread(unread.ttlError as Error);
      found = read.map((r) => (r === null || r instanceof Error ? r : r.value));
    } else found = await this.io.readMany(keys, "MGET");
    // A failed chunk is one error shared by its keys: each key is counted, the error reported once.
    let reported: Set<Error> | undefined;
    // One work budget for the whole call: past it, entries are over_budget misses, reported once.
    const budget = new CallBudget(this.options);
    // Decoded in slices: the event loop runs between them, never waiting for more than a slice and one read.
    const out = await budget.slice.map(found, (bytes, i): Looked<T> | undefined => {
      if (bytes === null) return undefined;
      if (bytes instanceof Error) {
        this.outcomes.readFailed(bytes, keys[i], (reported ??= new Set()));
        return { seen: undefined, failed: true };
      }
      const limit = budget.next();
      const seen = budget.spent ? budget.skip<T>() : budget.charge(interpret(this.entity, this.options, bytes, keys[i], fields[i], limit), limit);
      return { seen: this.maintenance.settle(keys[i] as string, bytes, seen), failed: false, ttlMs: ttls?.[i] };
    });
    const absent = out.flatMap((v, i) => (v === undefined ? [i] : []));
    if (absent.length > 0) {
      const more = await this.elsewhere(absent.map((i) => fields[i] as K), absent.map((i) => keys[i] as string), budget);
      absent.forEach((i, j) => (out[i] = { seen: more[j] ?? this.outcomes.miss<T>(), failed: false }));
    }
    const spent = budget.error("getMany", keys.length);
    if (spent !== undefined) this.outcomes.report(spent);
    return out as Looked<T>[];
  }

  private async setValue(value: T, options?: WriteOptions): Promise<WriteOutcome> {
    const { ttlSeconds, tags } = this.writeOptionsOf(options);
    const write = this.prepare(value, ttlSeconds, tags);
    const dual = this.transitions?.dualWrite([value], ttlSeconds);
    let result: StoreWriteResult;
    try {
      result = await this.io.bounded(this.io.store.set(write, this.guard), "SET", write.key);
    } catch (error) {
      result = error instanceof Error ? error : new Error(String(error));
    }
    await dual;
    return this.outcomes.written(result, write.key);
  }

  private async setValues(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]> {
    const { ttlSeconds, tags } = this.writeOptionsOf(options);
    const writes = this.checkBatch(values, "setMany(values)").map((v) => this.prepare(v, ttlSeconds, tags));
    const dual = this.transitions?.dualWrite(values, ttlSeconds);
    const results = await this.io.writeMany(writes, this.guard);
    await dual;
    let reported: Set<Error> | undefined;
    return writes.map((w, i) => {
      const result = results[i] ?? new UnexpectedReplyError("the store returned no result for this write");
      return this.outcomes.written(result, w.key, result instanceof Error ? (reported ??= new Set()) : undefined);
    });
  }

  /** The decision table on bytes read at `key`, counted and with its side effects started. */
  private read(key: string, bytes: Buffer, fields: K | undefined): Interpretation<T> {
    return this.maintenance.settle(key, bytes, interpret(this.entity, this.options, bytes, key, fields));
  }

  /** A key's TTL could not be read with its value (an ACL without PTTL, say): its value is served but not held; reported once per accessor. */
  private ttlUnread(error: Error): void {
    if (this.ttlUnreadReported) return;
    this.ttlUnreadReported = true;
    this.outcomes.report(error);
  }

  /** Misses looked up in the previous major and the legacy key space, when the accessor has either. */
  private async elsewhere(fields: readonly K[], keys: readonly string[], budget?: CallBudget): Promise<(Interpretation<T> | undefined)[]> {
    return this.transitions?.readsElsewhere === true ? this.transitions.fallback(fields, keys, budget) : [];
  }

  /** Rejects a batch that is not an array or has more than `maxBatchKeys` entries, before any work. */
  private checkBatch<V>(values: readonly V[], argument: string): readonly V[] {
    return batchOf(values, argument, this.options.maxBatchKeys);
  }

  /** A write's TTL (the accessor's, or the per-call option) and tags, validated: a caller's mistake is a ConfigError. */
  private writeOptionsOf(options: WriteOptions | undefined): { readonly ttlSeconds: number; readonly tags: readonly string[] | undefined } {
    return writeOptionsOf(options, this.options.ttlSeconds);
  }

  private prepare(value: T, ttlSeconds: number, tags: readonly string[] | undefined): StoreWrite {
    const key = this.keyOf(value as unknown as K);
    const { jitter, graceSeconds } = this.policy;
    return { key, value: this.encode(value, key, tags === undefined ? undefined : { tags }), ttlSeconds: storedTtlOf(key, ttlSeconds, jitter, graceSeconds) };
  }

  /** Encoded tags of a write; a ConfigError without the `invalidation` option (nothing would check them). */
  private tagBytes(tags: readonly string[] | undefined): Buffer | undefined {
    if (tags === undefined || tags.length === 0) return undefined;
    if (this.options.invalidation === undefined) throw new ConfigError("tags", "tags need the accessor's invalidation option (docs/invalidation.md)");
    return encodeTags(tags);
  }

  /**
   * The envelope of `value`; `stamp` gives its written-at (default now: a
   * load's start, or an entry's own when it is rewritten) and tags.
   */
  private encode(value: T, key: string | undefined, stamp?: Stamp): Buffer {
    const tags = this.tagBytes(stamp?.tags);
    try {
      return encodeEnvelope(writer, this.entity.current.schemaId, value, this.entity.encode, tags === undefined ? this.envelope : { ...this.envelope, writtenAt: true }, stamp?.writtenAt ?? Date.now(), tags);
    } catch (cause) {
      const field = cause instanceof FieldValueError ? cause.pathFrom(value) || undefined : undefined;
      throw new EncodeError(this.entity.typeName, key, cause instanceof Error ? cause.message : String(cause), { cause }, field);
    }
  }
}
