import { epochAt } from "../clock.js";
import type { CacheStore } from "../stores/store.js";
import { CallBudget } from "./call-budget.js";
import type { Entity } from "./entity.js";
import { Invalidation } from "./invalidation.js";
import type { L1Tier } from "./l1-tier.js";
import type { Looked } from "./looked.js";
import type { Maintenance } from "./maintenance.js";
import type { ResolvedOptions } from "./options.js";
import type { Outcomes } from "./outcomes.js";
import { interpret, type Interpretation } from "./read.js";
import { FROM_L1, FROM_REDIS, type ServedAge } from "./served-age.js";
import type { StoreCalls } from "./store-calls.js";
import type { Transitions } from "./transitions.js";

/** What a read of an entry found, with everything known about it, for tools and diagnostics (`getEntry`). */
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

/** The accessor's parts its reads use (built by the facade). */
export interface ReadParts<T, K> {
  readonly entity: Entity<T, K>;
  readonly options: ResolvedOptions<T>;
  readonly store: CacheStore;
  readonly io: StoreCalls;
  readonly outcomes: Outcomes;
  readonly maintenance: Maintenance<T>;
  readonly transitions: Transitions<T, K> | undefined;
  readonly tier: L1Tier<T> | undefined;
  /** The start of this key space's keys (what `clear()` covers). */
  readonly base: string;
  keyOf(fields: K): string;
  /** The part of `fields`' key after `base`: what the L1 holds it by. */
  idOf(fields: K): string;
  /** Where every value served is told (its age, the staleness audit). */
  served(): ServedAge<T, K>;
  /** True when `seen` is within its fresh TTL (get's `allowStale: false`). */
  isFresh(key: string, seen: Interpretation<T> | undefined): boolean;
}

/**
 * Every read of an accessor (docs/policies.md, docs/l1.md,
 * docs/invalidation.md): a key's read from Redis (with its TTL behind an
 * L1), a batch's within one work budget and in slices, the previous major
 * and legacy key space on a miss, the L1 in front, and the check of each
 * value against tag and key-space states, per caller, after any shared read.
 */
export class Reads<T, K> {
  /** Tags and clear() (the `invalidation` option); made on first need for a tagged entry read without the option. */
  private checks: Invalidation<T> | undefined;
  /** A failed TTL read was reported (once: it is a setting, not traffic). */
  private ttlUnreadReported = false;

  constructor(private readonly p: ReadParts<T, K>) {
    if (p.options.invalidation !== undefined) this.invalidation(true);
  }

  /** `get` without an L1. */
  async value(fields: K): Promise<T | undefined> {
    const key = this.p.keyOf(fields);
    let bytes: Buffer | null;
    try {
      bytes = await this.p.io.bounded(this.p.store.get(key), "GET", key);
    } catch (error) {
      this.p.outcomes.readFailed(error, key);
      return undefined;
    }
    let seen: Interpretation<T>;
    if (bytes !== null) seen = this.read(key, bytes, fields);
    else if (this.p.transitions?.readsElsewhere !== true) {
      this.p.outcomes.counter.read("miss", undefined);
      return undefined;
    } else seen = (await this.p.transitions.fallback([fields], [key]))[0] ?? this.p.outcomes.miss<T>();
    return this.p.served().value(FROM_REDIS, (await this.checked({ seen, failed: false }, key)).seen);
  }

  /** `get` with an L1: a held value synchronously up to one resolved promise, else the key's read from Redis (joined per key). */
  throughL1(tier: L1Tier<T>, fields: K): Promise<T | undefined> {
    let id: string;
    try {
      id = this.p.idOf(fields);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const held = this.held(tier, id);
    if (held !== undefined) return Promise.resolve(this.p.served().value(FROM_L1, held, epochAt(tier.l1.lastNow)));
    return this.readThroughL1(tier, fields, this.p.base + id, id).then((l) => this.p.served().value(FROM_REDIS, l.seen));
  }

  /** `get(fields, { allowStale: false })`: the value only while within its fresh TTL. */
  async fresh(fields: K): Promise<T | undefined> {
    const key = this.p.keyOf(fields);
    const [looked] = await this.checkedMany(await this.lookupThroughL1([fields], [key]), [key]);
    return this.p.isFresh(key, looked?.seen) ? this.p.served().value(looked?.l1 === true ? FROM_L1 : FROM_REDIS, looked?.seen) : undefined;
  }

  /** `getMany`: `fresh` serves only values within their fresh TTL; what is served has its age recorded. */
  async values(fields: readonly K[], keys: readonly string[], fresh: boolean): Promise<(T | undefined)[]> {
    const looked = await this.checkedMany(await this.lookupThroughL1(fields, keys), keys);
    return this.p.served().values(fresh ? looked.map((l, i) => (this.p.isFresh(keys[i] as string, l.seen) ? l : { ...l, seen: undefined })) : looked);
  }

  /** `getEntry`: the read with its outcome and header details. */
  async entry(fields: K): Promise<CacheEntry<T>> {
    const key = this.p.keyOf(fields);
    let bytes: Buffer | null;
    try {
      bytes = await this.p.io.bounded(this.p.store.get(key), "GET", key);
    } catch (error) {
      return { key, outcome: "error", value: undefined, schemaId: undefined, revision: undefined, writtenAt: undefined, writerTag: undefined, error: this.p.outcomes.readFailed(error, key) };
    }
    const seen = bytes !== null ? this.read(key, bytes, fields) : ((await this.elsewhere([fields], [key]))[0] ?? this.p.outcomes.miss<T>());
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

  /** What the L1 holds of the key with id `id` and may serve now: undefined when it holds nothing, or a value an invalidation retired (dropped) or whose states are not held. */
  held(tier: L1Tier<T>, id: string): Interpretation<T> | undefined {
    const held = tier.l1.get(id);
    if (held === undefined) return undefined;
    const checks = this.checks ?? (held.header?.tags === undefined ? undefined : this.invalidation(false));
    if (checks === undefined) return held;
    const valid = checks.heldValid(held);
    if (valid === false) tier.drop([this.p.base + id]);
    return valid === true ? held : undefined;
  }

  /** An L1 miss's read of `key` (its id `id`; joined per key), checked for this caller. */
  readThroughL1(tier: L1Tier<T>, fields: K, key: string, id: string): Promise<Looked<T>> {
    return tier.read(id, () => this.lookup(fields, key, true)).then((l) => this.checked(l, key));
  }

  /** The Invalidation of this accessor: with the option, or (`scoped` false) made on the first tagged entry read without it. */
  invalidation(scoped: boolean): Invalidation<T> {
    const { options, store } = this.p;
    const inv = options.invalidation;
    let tracking = inv?.tracking ?? options.l1?.tracking;
    if (tracking === undefined && typeof store.tracking === "function") {
      try {
        tracking = store.tracking();
      } catch {
        // A store that cannot track (GLIDE without a source): every check reads its states from Redis.
      }
    }
    return (this.checks ??= new Invalidation<T>(options.prefix, this.p.base, scoped, inv?.clockSkewMs ?? 0, store, tracking, this.p.io, this.p.outcomes));
  }

  /** The Invalidation, if one was made. */
  get invalidations(): Invalidation<T> | undefined {
    return this.checks;
  }

  /** `looked` as this caller may have it (see Invalidation.check); an L1 entry an invalidation retired is dropped. */
  checked(looked: Looked<T>, key: string): Looked<T> | Promise<Looked<T>> {
    const seen = looked.seen;
    const checks = this.checks ?? (seen?.header?.tags === undefined ? undefined : this.invalidation(false));
    if (checks === undefined) return looked;
    const out = checks.check(looked);
    if (out === looked) return looked;
    return Promise.resolve(out).then((l) => {
      if (l.seen === undefined && seen !== undefined) this.p.tier?.drop([key]);
      return l;
    });
  }

  /** Many `looked`, checked like `checked`. */
  async checkedMany(looked: Looked<T>[], keys: readonly string[]): Promise<Looked<T>[]> {
    const checks = this.checks ?? (looked.some((l) => l.seen?.header?.tags !== undefined) ? this.invalidation(false) : undefined);
    if (checks === undefined) return looked;
    const { looked: out, refused } = await checks.checkMany(looked);
    if (refused.length > 0) this.p.tier?.drop(refused.map((i) => keys[i] as string));
    return out;
  }

  /**
   * `get`'s read for the loading cache: the settled interpretation
   * (undefined for a plain miss) and whether the store failed. `timed`
   * (the reads behind an L1) reads the key's remaining TTL in the same
   * round trip, for the L1 to hold the value no longer.
   */
  async lookup(fields: K, key: string, timed = false): Promise<Looked<T>> {
    let bytes: Buffer | null;
    let ttlMs: number | undefined;
    try {
      if (timed) {
        const found = await this.p.io.readTimed(key);
        bytes = found === null ? null : found.value;
        ttlMs = found === null ? undefined : (found.ttlMs ?? Infinity);
        if (found?.ttlError !== undefined) this.ttlUnread(found.ttlError);
      } else bytes = await this.p.io.bounded(this.p.store.get(key), "GET", key);
    } catch (error) {
      this.p.outcomes.readFailed(error, key);
      return { seen: undefined, failed: true };
    }
    if (bytes !== null) return { seen: this.read(key, bytes, fields), failed: false, ttlMs };
    if (this.p.transitions?.readsElsewhere !== true) {
      this.p.outcomes.counter.read("miss", undefined);
      return { seen: undefined, failed: false };
    }
    return { seen: (await this.p.transitions.fallback([fields], [key]))[0] ?? this.p.outcomes.miss<T>(), failed: false };
  }

  /** `lookupMany` behind the L1, when there is one: only the keys it does not hold are read. */
  lookupThroughL1(fields: readonly K[], keys: readonly string[]): Promise<Looked<T>[]> {
    const tier = this.p.tier;
    if (tier === undefined) return this.lookupMany(fields, keys);
    return tier.many(keys, (positions) => this.lookupMany(positions.map((i) => fields[i] as K), positions.map((i) => keys[i] as string), true));
  }

  /**
   * `getMany`'s read: one settled interpretation per key (undefined for a
   * plain miss), within one call's work budget. `timed` (the reads behind
   * an L1) reads each key's remaining TTL in the same round trips.
   */
  private async lookupMany(fields: readonly K[], keys: readonly string[], timed = false): Promise<Looked<T>[]> {
    const { io, outcomes, entity, options } = this.p;
    let found: (Buffer | null | Error)[];
    let ttls: (number | undefined)[] | undefined;
    if (timed) {
      const read = await io.readManyTimed(keys, "MGET");
      ttls = read.map((r) => (r === null || r instanceof Error ? undefined : (r.ttlMs ?? Infinity)));
      const unread = read.find((r) => r !== null && !(r instanceof Error) && r.ttlError !== undefined);
      if (unread !== null && unread !== undefined && !(unread instanceof Error)) this.ttlUnread(unread.ttlError as Error);
      found = read.map((r) => (r === null || r instanceof Error ? r : r.value));
    } else found = await io.readMany(keys, "MGET");
    // A failed chunk is one error shared by its keys: each key is counted, the error reported once.
    let reported: Set<Error> | undefined;
    // One work budget for the whole call: past it, entries are over_budget misses, reported once.
    const budget = new CallBudget(options);
    // Decoded in slices: the event loop runs between them, never waiting for more than a slice and one read.
    const out = await budget.slice.map(found, (bytes, i): Looked<T> | undefined => {
      if (bytes === null) return undefined;
      if (bytes instanceof Error) {
        outcomes.readFailed(bytes, keys[i], (reported ??= new Set()));
        return { seen: undefined, failed: true };
      }
      const limit = budget.next();
      const seen = budget.spent ? budget.skip<T>() : budget.charge(interpret(entity, options, bytes, keys[i], fields[i], limit), limit);
      return { seen: this.p.maintenance.settle(keys[i] as string, bytes, seen), failed: false, ttlMs: ttls?.[i] };
    });
    const absent = out.flatMap((v, i) => (v === undefined ? [i] : []));
    if (absent.length > 0) {
      const more = await this.elsewhere(absent.map((i) => fields[i] as K), absent.map((i) => keys[i] as string), budget);
      absent.forEach((i, j) => (out[i] = { seen: more[j] ?? outcomes.miss<T>(), failed: false }));
    }
    const spent = budget.error("getMany", keys.length);
    if (spent !== undefined) outcomes.report(spent);
    return out as Looked<T>[];
  }

  /** The decision table on bytes read at `key`, counted and with its side effects started. */
  read(key: string, bytes: Buffer, fields: K | undefined): Interpretation<T> {
    return this.p.maintenance.settle(key, bytes, interpret(this.p.entity, this.p.options, bytes, key, fields));
  }

  /** A key's TTL could not be read with its value (an ACL without PTTL, say): its value is served but not held; reported once per accessor. */
  private ttlUnread(error: Error): void {
    if (this.ttlUnreadReported) return;
    this.ttlUnreadReported = true;
    this.p.outcomes.report(error);
  }

  /** Misses looked up in the previous major and the legacy key space, when the accessor has either. */
  private async elsewhere(fields: readonly K[], keys: readonly string[], budget?: CallBudget): Promise<(Interpretation<T> | undefined)[]> {
    const t = this.p.transitions;
    return t?.readsElsewhere === true ? t.fallback(fields, keys, budget) : [];
  }
}
