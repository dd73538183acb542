import { epochNow } from "../clock.js";
import { KeyMismatchError, LoaderError, LoaderResultError, LoadTimeoutError, ProtocacheError } from "../errors.js";
import type { ServedAgeSource } from "../metrics/age-histogram.js";
import type { StatsCounter } from "../stats.js";
import type { Stamp } from "../envelope/encode.js";
import type { StoreWrite, StoreWriteResult, WriteGuard } from "../stores/store.js";
import { invalid, tagList } from "../validation/index.js";
import { freshMsOf, freshnessOf, storedTtlOf, type Freshness } from "./freshness.js";
import { Leases } from "./lease.js";
import type { Looked } from "./looked.js";
import { LoadChoices, type EntryChoice, type LoadEntryControl } from "./load-context.js";
import type { LoadPolicy } from "./loading-options.js";
import type { Outcomes } from "./outcomes.js";
import type { Interpretation } from "./read.js";
import type { StoreCalls } from "./store-calls.js";

/**
 * What `getOrSet` calls on a miss: the entity's value for these key fields,
 * or undefined when it does not exist (cached as an absent marker). May be
 * async; its errors are never cached.
 */
export type Loader<T, K> = (fields: K, context: LoadContext<T>) => T | undefined | Promise<T | undefined>;

/**
 * What a loader is given besides the key fields: its signal, the stale
 * value, and the entry's controls (`setTtl`, `setGrace`, `skip`: adaptive
 * caching, docs/loading.md "The loader decides").
 *
 * @example
 * ```ts
 * const user = await users.getOrSet({ id }, async ({ id }, context) => {
 *   const row = await db.findUser(id, { signal: context.signal });
 *   if (row?.pending) context.setTtl(5); // changing soon: fresh for 5 s only
 *   if (row?.fromFallbackReplica) context.skip(); // returned, not cached
 *   return row;
 * });
 * ```
 */
export interface LoadContext<T> extends LoadEntryControl {
  /** Aborted when the load passes `hardTimeoutMs` (with a LoadTimeoutError as its reason), unless `backgroundCompletion` lets it finish. */
  readonly signal: AbortSignal;
  /** The value being refreshed, when there is one (a read in grace, an eager refresh, a value past its grace still in Redis). */
  readonly stale: T | undefined;
  /**
   * Adds invalidation tags to the entry this load writes (docs/invalidation.md),
   * e.g. chosen from the value loaded; with the call's `tags` option, both
   * apply. Needs the accessor's `invalidation` option; a bad list throws a
   * ConfigError (the load fails with it).
   */
  setTags(tags: readonly string[]): void;
}

/**
 * What `getManyOrSet` calls once for all the keys that missed: one entry per
 * key given, in order, each the value or undefined (does not exist).
 */
export type BatchLoader<T, K> = (fields: readonly K[], context: BatchLoadContext) => readonly (T | undefined)[] | Promise<readonly (T | undefined)[]>;

/**
 * What a batch loader is given besides the key fields: its signal, and the
 * controls of adaptive caching for every entry of the batch (`setTtl`,
 * `setGrace`, `skip` on the context itself) or for one (`entry(i)`, `i` the
 * index of its key fields in the array the loader was given; an entry's own
 * choice wins over the batch's).
 *
 * @example
 * ```ts
 * const found = await users.getManyOrSet(ids.map((id) => ({ id })), async (missing, context) => {
 *   const rows = await db.findUsers(missing.map((f) => f.id), { signal: context.signal });
 *   context.setTtl(600); // every entry of this batch: fresh for 10 min
 *   missing.forEach((f, i) => {
 *     if (rows.get(f.id)?.pending) context.entry(i).setTtl(5);
 *     if (!rows.has(f.id)) context.entry(i).skip(); // no absent marker for this one
 *   });
 *   return missing.map((f) => rows.get(f.id));
 * });
 * ```
 */
export interface BatchLoadContext extends LoadEntryControl {
  /** Aborted when the load passes `hardTimeoutMs`, unless `backgroundCompletion` lets it finish. */
  readonly signal: AbortSignal;
  /** The controls of the entry at `index` in the fields given to the loader (a ConfigError for an index out of range). */
  entry(index: number): LoadEntryControl;
  /** Adds invalidation tags to the entry of the key at `index` of the fields given (every key's when `index` is left out), like `LoadContext.setTags`. */
  setTags(tags: readonly string[], index?: number): void;
}

export type { Looked } from "./looked.js";

/** What getOrSet and getManyOrSet tell of the values they serve from the cache: their age, the staleness audit (served-age.ts). */
export interface LoadHits<T, K> {
  /** `seen`'s value is served (`batch`: by getManyOrSet, `loader` its BatchLoader). */
  hit(source: ServedAgeSource, seen: Interpretation<T>, key: string, fields: K, loader: Loader<T, K> | BatchLoader<T, K>, batch: boolean, policy: LoadPolicy): unknown;
  /** `seen`'s value, kept to fall back on if its load fails (`failSafe` when it is served). */
  fallback(seen: Interpretation<T>): T | undefined;
  /** A value kept by `fallback` is served: the load failed or passed its soft timeout. */
  failSafe(stale: T): void;
}

/** The accessor's parts the loading cache works with (built by the facade). */
export interface LoadingParts<T, K> {
  readonly typeName: string;
  readonly io: StoreCalls;
  readonly outcomes: Outcomes;
  readonly guard: WriteGuard | undefined;
  /** The accessor writes written-at (a loader's grace needs it). */
  readonly writtenAt: boolean;
  keyOf(fields: K): string;
  leaseKeyOf(key: string): string;
  /** GET, the decision table (counted, side effects started), then the previous major and legacy key space on a miss. */
  lookup(fields: K, key: string): Promise<Looked<T>>;
  /** The same for many keys, within one call's work budget. */
  lookupMany(fields: readonly K[], keys: readonly string[]): Promise<Looked<T>[]>;
  /** The decision table on bytes read at `key`, counted. */
  read(key: string, bytes: Buffer, fields: K): Interpretation<T>;
  /** What this caller may have of a read: a miss when a tag or clear() retired its value. */
  check(looked: Looked<T>, key: string): Looked<T> | Promise<Looked<T>>;
  /** The envelope `set` would write (throws EncodeError); `stamp`: the load's start and tags. */
  encode(value: T, key: string, stamp?: Stamp): Buffer;
  /** An absent marker in the current revision, stamped like `encode`. */
  absentMarker(stamp?: Stamp): Buffer;
  /** Dual-writes to the previous major, when the accessor does. */
  dualWrite(values: readonly T[], ttlSeconds: number): Promise<void> | undefined;
  readonly hits: LoadHits<T, K>;
}

/** How a load ended, for everyone waiting on it (never a rejected promise: background loads have nobody to catch one). */
export type Settled<T> = { readonly ok: true; readonly value: T | undefined } | { readonly ok: false; readonly error: unknown };

/** One load in flight for one key: callers of the key in this process share it. */
class Flight<T> {
  promise!: Promise<Settled<T>>;
  /** Set once a caller holding a stale value gave up waiting (soft timeout), so it is counted once. */
  softTimedOut = false;
}

/** A flight settled from outside (a batch load resolves one per key). */
function deferredFlight<T>(): { flight: Flight<T>; settle: (s: Settled<T>) => void } {
  const flight = new Flight<T>();
  let settle!: (s: Settled<T>) => void;
  flight.promise = new Promise<Settled<T>>((resolve) => (settle = resolve));
  return { flight, settle };
}

/** Most keys whose failed load is remembered (for `failSafeBackoffMs`), or whose last saved load's start is (background completion); past it the memory is cleared. */
const MAX_BACKOFF_KEYS = 10_000;

/**
 * The loading cache of one accessor (docs/loading.md): `getOrSet` and
 * `getManyOrSet` over the accessor's own read path, with single-flight in
 * this process (one load per key at a time, shared by every caller) and
 * across instances (a lease in Redis), freshness from the envelope's
 * written-at, grace (stale-while-revalidate and fail-safe), soft and hard
 * timeouts, absent markers, TTL jitter and eager refresh.
 */
export class Loading<T, K> {
  private readonly flights = new Map<string, Flight<T>>();
  /** Key → time before which a failed load is not retried by callers holding a stale value. */
  private readonly backoff = new Map<string, number>();
  /** Key → start time of the newest load whose result was written (with `backgroundCompletion`: a late result never overwrites a newer load's). */
  private readonly savedStart = new Map<string, number>();
  private readonly counter: StatsCounter;

  private readonly leases: Leases<T, K>;

  constructor(private readonly p: LoadingParts<T, K>) {
    this.counter = p.outcomes.counter;
    this.leases = new Leases(p);
  }

  /**
   * `getOrSet`: the value at the key of `fields`, loading it on a miss.
   * `lookedUp` is the key's read when the caller made it already (an L1
   * hit that is not fresh, or an L1 miss's read).
   */
  async get(fields: K, loader: Loader<T, K>, policy: LoadPolicy, lookedUp?: Promise<Looked<T>>): Promise<T | undefined> {
    if (typeof loader !== "function") throw invalid("loader", "a function (fields, { signal, stale }) => value | undefined", loader);
    const key = this.p.keyOf(fields);
    // forceFresh: nothing cached is read or served; no lease (a waiter could not tell another instance's write from the value it must not serve).
    if (policy.forceFresh === true) return this.wait(this.flight(key, fields, loader, policy, undefined, true), policy, undefined);
    const { seen, failed, l1 } = await (lookedUp ?? this.p.lookup(fields, key));
    let stale: T | undefined;
    if (seen !== undefined) {
      if (seen.outcome === "absent") return undefined;
      const value = seen.value;
      if (value !== undefined) {
        const state = this.freshness(key, seen, policy);
        const source = l1 === true ? "l1" : "redis";
        if (state === "fresh") {
          this.p.hits.hit(source, seen, key, fields, loader, false, policy);
          return value;
        }
        if (state === "eager") {
          this.refresh(key, fields, loader, policy, value, "eager_refresh");
          this.p.hits.hit(source, seen, key, fields, loader, false, policy);
          return value;
        }
        if (state === "stale" && policy.staleWhileRevalidate) {
          this.counter.load("stale_grace");
          this.refresh(key, fields, loader, policy, value, undefined);
          this.p.hits.hit("stale", seen, key, fields, loader, false, policy);
          return value;
        }
        // Stale without stale-while-revalidate, or past this call's grace but still in Redis (a longer grace
        // its writer chose): loaded, with the value as the fail-safe; served as it is while the key's last load failed.
        stale = this.p.hits.fallback(seen);
        if (this.throttled(key)) {
          this.p.hits.failSafe(value);
          return value;
        }
      }
    }
    return this.wait(this.flight(key, fields, loader, policy, stale, failed), policy, stale);
  }

  /** `getManyOrSet`: the values at the keys of `fields`, in order; one loader call for all that missed. */
  async getMany(fields: readonly K[], loader: BatchLoader<T, K>, policy: LoadPolicy): Promise<(T | undefined)[]> {
    if (typeof loader !== "function") throw invalid("loader", "a function (fields[], { signal }) => (value | undefined)[]", loader);
    const keys = fields.map((f) => this.p.keyOf(f));
    // forceFresh: nothing cached is read or served, every key is loaded (or joins its load in flight).
    const looked = policy.forceFresh === true ? keys.map((): Looked<T> => ({ seen: undefined, failed: false })) : await this.p.lookupMany(fields, keys);
    const out: (T | undefined)[] = new Array<T | undefined>(keys.length).fill(undefined);
    /** Index of each key to wait for, with the stale value its caller may fall back on. */
    const waiting: { i: number; flight: Flight<T>; stale: T | undefined }[] = [];
    const missing = new Map<string, number>();
    const refresh = new Map<string, number>();
    /** Waits on the load of `key` in flight, or marks the key for this call's batch load. */
    const join = (i: number, key: string, stale: T | undefined): void => {
      const current = this.flights.get(key);
      if (current !== undefined) {
        this.counter.load("coalesced");
        waiting.push({ i, flight: current, stale });
      } else if (!missing.has(key)) missing.set(key, i);
    };
    looked.forEach(({ seen, l1 }, i) => {
      const key = keys[i] as string;
      if (seen?.outcome === "absent") return;
      const value = seen?.value;
      if (value !== undefined && seen !== undefined) {
        const state = this.freshness(key, seen, policy);
        out[i] = value;
        if (state === "fresh") return void this.p.hits.hit(l1 === true ? "l1" : "redis", seen, key, fields[i] as K, loader, true, policy);
        if (state === "eager" || (state === "stale" && policy.staleWhileRevalidate)) {
          if (state === "stale") this.counter.load("stale_grace");
          if (!this.inFlight(key) && !this.backedOff(key) && !refresh.has(key)) {
            if (state === "eager") this.counter.load("eager_refresh");
            refresh.set(key, i);
          }
          return void this.p.hits.hit(state === "stale" ? "stale" : l1 === true ? "l1" : "redis", seen, key, fields[i] as K, loader, true, policy);
        }
        // Stale without stale-while-revalidate, or past grace but still in Redis: the fail-safe of its load, or served while its last load failed.
        const kept = this.p.hits.fallback(seen);
        if (this.throttled(key)) return void this.p.hits.failSafe(value);
        return join(i, key, kept);
      }
      join(i, key, undefined);
    });
    if (missing.size > 0) {
      for (const [key, flight] of this.batch(missing, fields, loader, policy)) {
        const i = missing.get(key) as number;
        waiting.push({ i, flight, stale: out[i] });
      }
    }
    if (refresh.size > 0) this.batch(refresh, fields, loader, policy, true);
    // A key given twice gets what its first occurrence got.
    const results = await Promise.all(waiting.map(({ flight, stale }) => this.wait(flight, policy, stale)));
    waiting.forEach(({ i }, j) => (out[i] = results[j]));
    keys.forEach((key, i) => {
      const first = missing.get(key);
      if (first !== undefined && first !== i) out[i] = out[first];
    });
    return out;
  }

  /** True when `seen` (an L1 hit) can be returned as it is: fresh (not due for a refresh) or an absent marker. The synchronous fast path of getOrSet; `now`: the epoch milliseconds the caller read already. */
  servesAsIs(key: string, seen: Interpretation<T>, policy: LoadPolicy, now?: number): boolean {
    return seen.outcome === "absent" || (seen.value !== undefined && this.freshness(key, seen, policy, now) === "fresh");
  }

  /** True when `seen` serves as it is whatever its key (`servesAsIs` for every key): an absent marker, or a value younger than any key's jittered fresh TTL. What an L1 hit checks before it builds its key. */
  servesAsIsAtAnyKey(seen: Interpretation<T>, policy: LoadPolicy, now: number): boolean {
    return seen.outcome === "absent" || (seen.value !== undefined && this.youngAtAnyKey(seen, policy, now));
  }

  /** True when `seen` holds a value within its fresh TTL (due for an eager refresh included): what `get(fields, { allowStale: false })` returns. */
  isFresh(key: string, seen: Interpretation<T> | undefined, policy: LoadPolicy): boolean {
    if (seen?.value === undefined) return false;
    const state = this.freshness(key, seen, policy);
    return state === "fresh" || state === "eager";
  }

  /**
   * True when a caller holding a stale value of `key` gets it as it is:
   * no load of the key is in flight to join, and its last load failed less
   * than `failSafeBackoffMs` ago (counted `stale_fail_safe`).
   */
  private throttled(key: string): boolean {
    if (this.flights.has(key) || !this.backedOff(key)) return false;
    this.counter.load("stale_fail_safe");
    return true;
  }

  /** The load of `key` in flight in this process, if any (the staleness audit compares with it instead of calling the loader). */
  pending(key: string): Promise<Settled<T>> | undefined {
    return this.flights.get(key)?.promise;
  }

  private freshness(key: string, seen: Interpretation<T>, policy: LoadPolicy, clock?: number): Freshness {
    const now = clock ?? epochNow();
    if (this.youngAtAnyKey(seen, policy, now)) return "fresh";
    return freshnessOf(seen.header?.writtenAt as number, now, freshMsOf(key, policy.ttlSeconds, policy.jitter), policy.graceSeconds, policy.eagerRefresh);
  }

  /** Fresh at any key: no written-at, no TTL, or younger than any key's jittered fresh TTL (and its eager-refresh point), known without hashing the key (the hot path). */
  private youngAtAnyKey(seen: Interpretation<T>, policy: LoadPolicy, now: number): boolean {
    const writtenAt = seen.header?.writtenAt;
    return writtenAt === undefined || policy.ttlSeconds === 0 || now - writtenAt < policy.ttlSeconds * 1000 * (1 - policy.jitter) * (policy.eagerRefresh ?? 1);
  }

  private inFlight(key: string): boolean {
    return this.flights.has(key);
  }

  /** True while the last failed load of `key` is within `failSafeBackoffMs`. */
  private backedOff(key: string): boolean {
    const until = this.backoff.get(key);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.backoff.delete(key);
    return false;
  }

  private backOff(key: string, policy: LoadPolicy): void {
    if (policy.failSafeBackoffMs === 0) return;
    if (this.backoff.size >= MAX_BACKOFF_KEYS) this.backoff.clear();
    this.backoff.set(key, Date.now() + policy.failSafeBackoffMs);
  }

  /** Starts a background refresh of `key` unless one is in flight or backed off; `counted` is counted when it starts. */
  private refresh(key: string, fields: K, loader: Loader<T, K>, policy: LoadPolicy, stale: T, counted: "eager_refresh" | undefined): void {
    if (this.flights.has(key) || this.backedOff(key)) return;
    if (counted !== undefined) this.counter.load(counted);
    this.flight(key, fields, loader, policy, stale, false, true);
  }

  /** Joins the load of `key` in flight, or starts one (`noLease`: in-process single-flight only). */
  private flight(key: string, fields: K, loader: Loader<T, K>, policy: LoadPolicy, stale: T | undefined, noLease: boolean, background = false): Flight<T> {
    const current = this.flights.get(key);
    if (current !== undefined) {
      this.counter.load("coalesced");
      return current;
    }
    const flight = new Flight<T>();
    this.flights.set(key, flight);
    flight.promise = this.p.io.track(this.run(key, fields, loader, policy, stale, noLease, background)).then((settled) => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
      return settled;
    });
    return flight;
  }

  /** What one caller gets from a flight: its value, the stale value (fail-safe, soft timeout), or the loader's error. */
  private async wait(flight: Flight<T>, policy: LoadPolicy, stale: T | undefined): Promise<T | undefined> {
    let settled: Settled<T> | undefined;
    if (stale !== undefined && policy.softTimeoutMs !== undefined) {
      let timer: NodeJS.Timeout | undefined;
      const soft = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), policy.softTimeoutMs)));
      settled = await Promise.race([flight.promise, soft]);
      clearTimeout(timer);
      if (settled === undefined) {
        if (!flight.softTimedOut) {
          flight.softTimedOut = true;
          this.counter.load("soft_timeout");
        }
        this.counter.load("stale_fail_safe");
        this.p.hits.failSafe(stale);
        return stale;
      }
    } else {
      settled = await flight.promise;
    }
    if (settled.ok) return settled.value;
    if (stale !== undefined) {
      this.counter.load("stale_fail_safe");
      this.p.hits.failSafe(stale);
      return stale;
    }
    throw settled.error;
  }

  /** One load of one key: lease, loader (with its timeouts and the loader's choices), write; never rejects. */
  private async run(key: string, fields: K, loader: Loader<T, K>, policy: LoadPolicy, stale: T | undefined, noLease: boolean, background: boolean): Promise<Settled<T>> {
    let token: Buffer | undefined;
    const leaseKey = policy.lease === undefined || noLease ? undefined : this.p.leaseKeyOf(key);
    try {
      if (leaseKey !== undefined) {
        const lease = await this.leases.take(key, leaseKey, fields, policy, stale);
        if ("served" in lease) return { ok: true, value: lease.served };
        token = lease.token;
      }
      // Entries record when their source was read: an invalidation after that retires them (docs/invalidation.md).
      const startedAt = Date.now();
      const tags = new LoadTags(1);
      const choices = new LoadChoices(key, 1, this.p.writtenAt, (e) => this.p.outcomes.report(e));
      const load = (signal: AbortSignal): ReturnType<Loader<T, K>> => loader(fields, { signal, stale, ...choices.control(), setTags: (t) => tags.add(t, 0) });
      const value = await this.call(key, policy, choices, load, (late) => {
        checkLoaded(late, key);
        return this.save([key], [late], policy, choices, startedAt, tags);
      });
      checkLoaded(value, key);
      await this.save([key], [value], policy, choices, startedAt, tags);
      return { ok: true, value };
    } catch (error) {
      this.counter.load(background ? "refresh_error" : "load_error");
      this.backOff(key, policy);
      if (background || stale !== undefined) this.p.outcomes.report(error instanceof ProtocacheError && !(error instanceof LoadTimeoutError) ? error : new LoaderError(key, error));
      return { ok: false, error };
    } finally {
      if (token !== undefined && leaseKey !== undefined) this.leases.release(leaseKey, token);
    }
  }

  /**
   * Loads the keys of `todo` (key → index into `fields`) with one loader call;
   * returns a flight per key, registered so that other callers join them.
   */
  private batch(todo: Map<string, number>, fields: readonly K[], loader: BatchLoader<T, K>, policy: LoadPolicy, background = false): Map<string, Flight<T>> {
    const flights = new Map<string, Flight<T>>();
    const settles: ((s: Settled<T>) => void)[] = [];
    const batchKeys: string[] = [];
    const batchFields: K[] = [];
    for (const [key, i] of todo) {
      const { flight, settle } = deferredFlight<T>();
      this.flights.set(key, flight);
      flights.set(key, flight);
      settles.push(settle);
      batchKeys.push(key);
      batchFields.push(fields[i] as K);
    }
    const finish = (settled: (j: number) => Settled<T>): void => {
      batchKeys.forEach((key, j) => {
        const flight = flights.get(key) as Flight<T>;
        if (this.flights.get(key) === flight) this.flights.delete(key);
        (settles[j] as (s: Settled<T>) => void)(settled(j));
      });
    };
    const first = batchKeys[0] as string;
    const checked = (values: unknown): readonly (T | undefined)[] => {
      if (!Array.isArray(values) || values.length !== batchKeys.length) {
        throw new LoaderResultError(`the getManyOrSet loader of ${this.p.typeName} was given ${batchKeys.length} keys and returned ${Array.isArray(values) ? `${values.length} entries` : typeof values}: return one entry (a value or undefined) per key, in order`);
      }
      values.forEach((v: unknown, j: number) => checkLoaded(v, batchKeys[j] as string));
      return values as readonly (T | undefined)[];
    };
    const run = async (): Promise<void> => {
      const choices = new LoadChoices(first, batchKeys.length, this.p.writtenAt, (e) => this.p.outcomes.report(e));
      const started = Date.now();
      try {
        const tags = new LoadTags(batchKeys.length);
        const load = (signal: AbortSignal): ReturnType<BatchLoader<T, K>> =>
          loader(batchFields, { signal, ...choices.control(), entry: (index: number) => choices.entry(index), setTags: (t, index) => tags.add(t, index) });
        const values = checked(await this.call(first, policy, choices, load, (late) => this.save(batchKeys, checked(late), policy, choices, started, tags)));
        await this.save(batchKeys, values, policy, choices, started, tags);
        finish((j) => ({ ok: true, value: values[j] }));
      } catch (error) {
        this.counter.load(background ? "refresh_error" : "load_error");
        for (const key of batchKeys) this.backOff(key, policy);
        if (background) this.p.outcomes.report(error instanceof ProtocacheError ? error : new LoaderError(first, error));
        finish(() => ({ ok: false, error }));
      }
    };
    void this.p.io.track(run());
    return flights;
  }

  /**
   * Calls a loader with the policy's hard timeout: past it, the call
   * rejects with a LoadTimeoutError and the loader's signal aborts; with
   * `backgroundCompletion` the signal does not abort, and what the loader
   * returns later is handed to `late` (its failure reported). The loader's
   * choices close when it settles, or when it is given up.
   */
  private call<R>(key: string, policy: LoadPolicy, choices: LoadChoices, load: (signal: AbortSignal) => R | Promise<R>, late: (value: R) => Promise<void>): Promise<R> {
    const controller = new AbortController();
    const work = Promise.resolve().then(() => load(controller.signal));
    const closeChoices = (): void => choices.close();
    work.then(closeChoices, closeChoices);
    const ms = policy.hardTimeoutMs;
    if (ms === undefined) return work;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new LoadTimeoutError(key, ms);
        this.counter.load("hard_timeout");
        if (policy.backgroundCompletion) {
          // The load goes on; its value is written when it arrives, tracked for close().
          void this.p.io.track(
            work.then(late).catch((e: unknown) => {
              this.counter.load("refresh_error");
              this.p.outcomes.report(e instanceof ProtocacheError ? e : new LoaderError(key, e));
            }),
          );
        } else {
          choices.close();
          controller.abort(error);
        }
        reject(error);
      }, ms);
      work.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  /**
   * Writes what loaders returned, through the write guard: each value whose
   * key fields make its own key (others are returned, not cached, and
   * reported), and an absent marker for each undefined (unless
   * `absentTtlSeconds` is 0), with the TTL and grace the loader chose for it
   * (`choices`; an entry it skipped is not written). A load that started
   * at `started` writes nothing when a load of the same key that started
   * later was written already (a late result, `backgroundCompletion`).
   * Store failures are counted and reported, never thrown: the loaded values
   * are still returned.
   */
  private async save(keys: readonly string[], values: readonly (T | undefined)[], policy: LoadPolicy, choices: LoadChoices, started: number, tags: LoadTags): Promise<void> {
    const writes: StoreWrite[] = [];
    /** Which writes are absent markers. */
    const markers: boolean[] = [];
    /** The values written, by fresh TTL (for dual-writes). */
    const kept = new Map<number, T[]>();
    let loaded = 0;
    values.forEach((value, j) => {
      const key = keys[j] as string;
      const choice = choices.of(j);
      if (choice?.skip === true || this.superseded(key, started, policy)) return;
      loaded++;
      if (value === undefined) {
        const ttl = choice?.ttlSeconds ?? policy.absentTtlSeconds;
        if (choice?.ttlSeconds === undefined && ttl === 0) return;
        markers.push(true);
        writes.push({ key, value: this.p.absentMarker({ writtenAt: started, tags: tags.of(j, policy.tags) }), ttlSeconds: storedTtlOf(key, ttl, policy.jitter, 0) });
        return;
      }
      let own: string | undefined;
      let cause: unknown;
      try {
        own = this.p.keyOf(value as unknown as K);
      } catch (error) {
        cause = error;
      }
      if (own !== key) {
        this.counter.load("key_mismatch");
        this.p.outcomes.report(new KeyMismatchError(key, own, cause));
        return;
      }
      writes.push({ key, value: this.p.encode(value, key, { writtenAt: started, tags: tags.of(j, policy.tags) }), ttlSeconds: redisTtlOf(key, policy, choice) });
      markers.push(false);
      const ttl = choice?.ttlSeconds ?? policy.ttlSeconds;
      const same = kept.get(ttl);
      if (same === undefined) kept.set(ttl, [value]);
      else same.push(value);
    });
    this.counter.load("loaded", loaded);
    if (writes.length === 0) return;
    if (policy.backgroundCompletion) this.markSaved(writes, started);
    const duals = [...kept].map(([ttl, same]) => this.p.dualWrite(same, ttl));
    const results = await this.p.io.writeMany(writes, this.p.guard);
    await Promise.all(duals);
    let reported: Set<Error> | undefined;
    writes.forEach((w, j) => {
      const result: StoreWriteResult = results[j] ?? new Error("the store returned no result for this write");
      try {
        const outcome = this.p.outcomes.written(result, w.key, result instanceof Error ? (reported ??= new Set()) : undefined);
        if (outcome === "written" && markers[j] === true) this.counter.load("absent_written");
      } catch {
        // onStoreError "throw": counted and reported; the loaded value is still what the caller gets.
      }
    });
  }

  /** With `backgroundCompletion`: a load of `key` that started later than `started` was written already (this one's result is older). */
  private superseded(key: string, started: number, policy: LoadPolicy): boolean {
    if (!policy.backgroundCompletion) return false;
    const newest = this.savedStart.get(key);
    return newest !== undefined && newest > started;
  }

  private markSaved(writes: readonly StoreWrite[], started: number): void {
    if (this.savedStart.size >= MAX_BACKOFF_KEYS) this.savedStart.clear();
    for (const w of writes) if ((this.savedStart.get(w.key) ?? -Infinity) < started) this.savedStart.set(w.key, started);
  }
}

/**
 * The Redis TTL of a value a loader returned, in whole seconds (0: no
 * expiry): its fresh TTL (the loader's `setTtl`, else the call's) less
 * jitter, plus its grace (the loader's `setGrace`, else the call's). A fresh
 * TTL shorter than the call's has no grace unless the loader sets one:
 * readers judge freshness by their own TTL from the written-at, so they read
 * such an entry as fresh until Redis drops it, which must then be when its
 * fresh TTL ends (docs/loading.md, "How readers see the loader's TTL").
 */
export function redisTtlOf(key: string, policy: LoadPolicy, choice: EntryChoice | undefined): number {
  const ttl = choice?.ttlSeconds ?? policy.ttlSeconds;
  const shorter = ttl !== 0 && (policy.ttlSeconds === 0 || ttl < policy.ttlSeconds);
  return storedTtlOf(key, ttl, policy.jitter, choice?.graceSeconds ?? (shorter ? 0 : policy.graceSeconds));
}

const loaderTags = tagList(true);

/** Tags a loader chose through its context, per key of its load. */
class LoadTags {
  private readonly chosen: (readonly string[] | undefined)[];

  constructor(private readonly size: number) {
    this.chosen = new Array<readonly string[] | undefined>(size);
  }

  /** `setTags(tags, index)`: checked like every option; every key's when `index` is undefined. */
  add(tags: unknown, index: unknown): void {
    const list = loaderTags(tags, "setTags(tags)");
    if (index !== undefined && (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= this.size)) {
      throw invalid("setTags(tags, index)", `an index from 0 to ${this.size - 1} (a position in the fields given)`, index);
    }
    for (let j = index ?? 0; j < (index === undefined ? this.size : index + 1); j++) {
      const before = this.chosen[j];
      this.chosen[j] = before === undefined ? list : loaderTags([...before, ...list], "setTags(tags)");
    }
  }

  /** The tags of key `j`'s entry: the call's and the loader's, checked together (at most 32). */
  of(j: number, call: readonly string[] | undefined): readonly string[] | undefined {
    const own = this.chosen[j];
    if (own === undefined || own.length === 0) return call;
    return call === undefined ? own : loaderTags([...call, ...own], "tags");
  }
}

/** A loader's result must be an object (a value of the entity) or undefined; else a LoaderResultError. */
function checkLoaded(value: unknown, key: string): void {
  if (value === undefined || (typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then !== "function")) return;
  throw new LoaderResultError(`the loader of ${key} returned ${value === null ? "null" : typeof value}: return the entity's value (an object) or undefined for "does not exist"`);
}
