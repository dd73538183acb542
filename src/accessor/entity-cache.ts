import { epochAt } from "../clock.js";
import type { Stamp } from "../envelope/encode.js";
import { AccessorClosedError, ConfigError } from "../errors.js";
import type { MetricRecorder, TimedCall } from "../metrics/sink.js";
import type { CacheStats, WriteOutcome } from "../stats.js";
import type { CacheStore } from "../stores/store.js";
import { previousSide, setupOf } from "./accessor-setup.js";
import type { Entity } from "./entity.js";
import { EntryOps, type EntryOperations } from "./entry-ops.js";
import { Loading, type BatchLoader, type Loader } from "./loading.js";
import { loadPolicyOf, type LoadCallOptions, type LoadPolicy } from "./loading-options.js";
import { accessorInternals, type AccessorInternals, type WithInternals } from "./internals.js";
import { KeySpace } from "./key-space.js";
import { droppingStore, L1Tier } from "./l1-tier.js";
import { Maintenance } from "./maintenance.js";
import { batchOf, envelopeOptionsOf, type AccessorOptions, type ResolvedOptions, type WriteOptions } from "./options.js";
import { Outcomes } from "./outcomes.js";
import { interpret, type Interpretation } from "./read.js";
import { freshOnly, type ReadOptions } from "./read-options.js";
import { Reads, type CacheEntry } from "./reads.js";
import { FROM_L1, servedAgeOf, type ServedAge } from "./served-age.js";
import { StoreCalls } from "./store-calls.js";
import { convertPrevious, transitionsOf, type Transitions } from "./transitions.js";
import { Writes } from "./writes.js";
import { integer, options as optionsOf } from "../validation/index.js";

export type { CacheEntry } from "./reads.js";
export type { WriteOptions } from "./options.js";

/** Options of `close()`. */
export interface CloseOptions {
  /** Longest wait, in milliseconds, for background work (write-backs, refreshes, copies, dual-writes, lease releases). Default 5000. */
  readonly timeoutMs?: number;
}

const closeOptions = optionsOf({ timeoutMs: (v: unknown, p: string) => (v === undefined ? 5000 : integer(0, 600_000, "whole milliseconds from 0 to 600000")(v, p)) }, { name: "close options" });


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


/** Creates an accessor; generated factories such as `userCache(store, options)` call this. */
export function createEntityCache<T, K>(entity: Entity<T, K>, store: CacheStore, options?: AccessorOptions<T, K>): EntityCache<T, K> {
  return new EntityCacheImpl(entity, store, setupOf(entity, store, options));
}

/** An accessor's parts, each one job (docs/architecture.md): the facade below only sequences them. */
class EntityCacheImpl<T, K> implements EntityCache<T, K>, WithInternals<T, K> {
  private readonly recorder: MetricRecorder | undefined;
  /** The metrics sink wants call durations: read the clock around each call. */
  private readonly timing: boolean;
  private readonly keys: KeySpace<T, K>;
  private readonly io: StoreCalls;
  private readonly outcomes: Outcomes;
  /** Read-through, adoption and dual-write; undefined when the accessor has none. */
  private readonly transitions: Transitions<T, K> | undefined;
  /** get, getMany, getEntry, the L1 in front of them, and the invalidation checks. */
  private readonly reads: Reads<T, K>;
  /** set, setMany, and the envelopes every write stores. */
  private readonly writes: Writes<T, K>;
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
  /** Set by close(): every later call rejects. */
  private closing: Promise<number> | undefined;

  constructor(
    private readonly entity: Entity<T, K>,
    private readonly store: CacheStore,
    private readonly options: ResolvedOptions<T>,
  ) {
    this.keys = new KeySpace(entity, options, previousSide(entity, options));
    const envelope = envelopeOptionsOf(options);
    const guard = options.guardWrites ? { knownIds: entity.registry.knownIds, invalidate: options.onGuarded === "delete" } : undefined;
    this.recorder = options.metrics?.bind({ message: entity.typeName, entity: entity.entity, major: entity.major, schemaId: entity.current.schemaId, variant: options.variant });
    this.timing = this.recorder?.duration !== undefined;
    this.outcomes = new Outcomes(this.recorder, entity.current.schemaId, options);
    const tier = (this.tier = options.l1 === undefined ? undefined : new L1Tier<T>(this.keys.base, options.l1, store, (c) => this.outcomes.counter.l1(c), (value) => entity.key(value as unknown as K)));
    this.unobserve = tier === undefined ? undefined : this.recorder?.held?.(() => ({ entries: tier.l1.entries, bytes: tier.l1.bytes }));
    this.io = new StoreCalls(tier === undefined ? store : droppingStore(store, tier as L1Tier<unknown>), options.deadlineMs);
    this.policy = { ...options.loading, ttlSeconds: options.ttlSeconds };
    const { io, outcomes, policy } = this;
    const keyOf = (fields: K): string => this.keyOf(fields);
    this.writes = new Writes<T, K>({ entity, options, envelope, guard, io, outcomes, policy, keyOf, transitions: () => this.transitions });
    const encode = (value: T, key: string | undefined, stamp?: Stamp): Buffer => this.writes.encode(value, key, stamp);
    const maintenance = new Maintenance(entity as Entity<T, unknown>, options, io, outcomes, encode);
    this.transitions = transitionsOf({ entity, options, keys: this.keys, io, outcomes, maintenance, envelope, guard, encode });
    this.served = servedAgeOf(entity, options, outcomes.counter, io, (key) => this.loading.pending(key));
    const served = (): ServedAge<T, K> => this.served;
    const isFresh = (key: string, seen: Interpretation<T> | undefined): boolean => this.loading.isFresh(key, seen, this.policy);
    const reads = (this.reads = new Reads<T, K>({ entity, options, store, io, outcomes, maintenance, transitions: this.transitions, tier, base: this.keys.base, keyOf, idOf: (fields) => this.keys.idOf(fields), served, isFresh }));
    this.loading = new Loading<T, K>({
      typeName: entity.typeName,
      io,
      outcomes,
      guard,
      writtenAt: options.writtenAt,
      keyOf,
      leaseKeyOf: (key) => this.keys.leaseKeyOf(key),
      // With an L1, getOrSet hands the loading cache its read through the L1 (lookedUp): this is the read without one.
      lookup: (fields, key) => reads.lookup(fields, key).then((l) => reads.checked(l, key)),
      lookupMany: (fields, keys) => reads.lookupThroughL1(fields, keys).then((l) => reads.checkedMany(l, keys)),
      read: (key, bytes, fields) => reads.read(key, bytes, fields),
      check: (looked, key) => reads.checked(looked, key),
      encode,
      absentMarker: (stamp) => this.writes.absentMarker(stamp),
      dualWrite: (values, ttlSeconds) => this.transitions?.dualWrite(values, ttlSeconds),
      hits: this.served,
    });
    const { maxBatchKeys, deadlineMs, writtenAt } = options;
    this.entries = new EntryOps<T, K>({ io, outcomes, maxBatchKeys, deadlineMs, writtenAt, policy, keyOf, deleteOrder: (f, key) => this.transitions?.deleteOrder(f, key) ?? [key], get: (f, o) => this.get(f, o) });
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
    let id: string;
    try {
      id = this.keys.idOf(fields);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const held = this.reads.held(tier, id);
    let key: string | undefined;
    if (held !== undefined) {
      // One clock reading for the hit: the L1's own, for its freshness and its served age.
      const now = epochAt(tier.l1.lastNow);
      // Fresh at any key, and no audit to sample it: served without building its key.
      if (!this.served.audited && this.loading.servesAsIsAtAnyKey(held, policy, now)) return Promise.resolve(this.served.value(FROM_L1, held, now));
      key = this.keys.base + id;
      if (this.loading.servesAsIs(key, held, policy, now)) return Promise.resolve(this.served.hit("l1", held, key, fields, loader, false, policy, now));
    }
    key ??= this.keys.base + id;
    const lookedUp = held !== undefined ? Promise.resolve({ seen: held, failed: false, l1: true }) : this.reads.readThroughL1(tier, fields, key, id);
    return this.loading.get(fields, loader, policy, lookedUp);
  }

  getManyOrSet(fields: readonly K[], loader: BatchLoader<T, K>, options?: LoadCallOptions): Promise<(T | undefined)[]> {
    if (this.closing !== undefined) return this.closed("getManyOrSet");
    try {
      const policy = loadPolicyOf(this.policy, options, this.options.writtenAt);
      return this.loading.getMany(batchOf(fields, "getManyOrSet(fields)", this.options.maxBatchKeys), loader, policy);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  close(options?: CloseOptions): Promise<number> {
    const { timeoutMs } = closeOptions(options, "close options");
    this.closing ??= this.io.drain(timeoutMs).finally(() => {
      this.tier?.close();
      this.reads.invalidations?.close();
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
    if (fresh) return this.timed("get", this.reads.fresh(fields));
    return this.timed("get", this.tier === undefined ? this.reads.value(fields) : this.reads.throughL1(this.tier, fields));
  }

  getMany(fields: readonly K[], options?: ReadOptions): Promise<(T | undefined)[]> {
    if (this.closing !== undefined) return this.closed("getMany");
    try {
      const keys = batchOf(fields, "getMany(fields)", this.options.maxBatchKeys).map((f) => this.keyOf(f));
      return this.timed("getMany", this.reads.values(fields, keys, freshOnly(options)));
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  getEntry(fields: K): Promise<CacheEntry<T>> {
    if (this.closing !== undefined) return this.closed("getEntry");
    try {
      return this.reads.entry(fields);
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  invalidateTags(tags: readonly string[]): Promise<void> {
    if (this.closing !== undefined) return this.closed("invalidateTags");
    return this.timed("invalidateTags", this.reads.invalidation(false).invalidateTags(tags));
  }

  clear(): Promise<void> {
    if (this.closing !== undefined) return this.closed("clear");
    if (this.options.invalidation === undefined) return Promise.reject(new ConfigError("invalidation", "clear() needs the accessor's invalidation option (every instance reading the key space needs it)"));
    return this.timed("clear", this.reads.invalidation(true).clear());
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
    return this.timed("set", this.writes.set(value, options));
  }

  setMany(values: readonly T[], options?: WriteOptions): Promise<WriteOutcome[]> {
    if (this.closing !== undefined) return this.closed("setMany");
    return this.timed("setMany", this.writes.setMany(values, options));
  }

  delete(fields: K): Promise<boolean> {
    if (this.closing !== undefined) return this.closed("delete");
    return this.timed("delete", this.entries.delete(fields));
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
      encode: (value, key, stamp) => this.writes.encode(value, key, stamp),
      recorder: this.recorder,
      l1: this.tier?.l1,
      invalidationReady: (timeoutMs) => this.reads.invalidations?.ready(timeoutMs) ?? Promise.resolve(false),
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
}
