import { ConfigError } from "../errors.js";
import { deepFreeze, L1, type L1Ticket } from "../l1/l1.js";
import { estimateValueBytes } from "../l1/sizes.js";
import type { CacheStore, Deadline, SetOutcome, StoredValue, StoreWrite, StoreWriteResult, TimedValue, WriteGuard } from "../stores/store.js";
import type { L1Counter } from "../stats.js";
import type { ResolvedL1 } from "./l1-options.js";
import type { Looked } from "./loading.js";
import { Held, HeldShapes } from "./held.js";
import type { Interpretation } from "./read.js";

/** Outcomes whose value L1 may hold: read from this key space, in the current shape. Read-through and legacy values are not (their own keys' invalidations would not reach this prefix). */
const KEPT = new Set(["hit", "upgraded", "unknown", "absent"]);


/** A read of an L1 miss in flight, and the ticket it was sent under (undefined: not live, never joined). */
interface Reading<T> {
  readonly ticket: L1Ticket | undefined;
  promise: Promise<Looked<T>>;
}

/** A joiner's own copy of a shared read's value ("copy" mode). */
function copied<T>(looked: Looked<T>): Looked<T> {
  const seen = looked.seen;
  return seen === undefined || seen.value === undefined ? looked : { ...looked, seen: { ...seen, value: structuredClone(seen.value) } };
}

/**
 * An accessor's L1 in front of its reads (docs/l1.md): a hit is served
 * from memory; a miss reads Redis under a ticket, so that the reply enters
 * only if nothing invalidated its key meanwhile.
 */
export class L1Tier<T> {
  readonly l1: L1<Interpretation<T>>;
  /** Reads of L1 misses in flight, by id, with their tickets: what concurrent misses of one key may join. */
  private readonly reading = new Map<string, Reading<T>>();
  private readonly copies: boolean;
  private readonly shapes = new HeldShapes<T>();

  /**
   * @param prefix the key space's keys' common start: a key less it is the id the L1 holds it by.
   * @param idOfValue a held value's own id (its key fields formatted), to hold instead of an equal id string made by a read.
   */
  constructor(
    prefix: string,
    settings: ResolvedL1,
    store: CacheStore,
    count: (counter: L1Counter) => void,
    private readonly idOfValue: (value: T) => string,
  ) {
    let tracking = settings.tracking;
    if (tracking === undefined) {
      if (typeof store.tracking !== "function") throw new ConfigError("l1.tracking", "this store has no tracking(): pass l1.tracking (ioredisTracking(client) or nodeRedisTracking(client) over the same servers)");
      tracking = store.tracking();
    }
    if (store.readsFromReplicas?.() === true) {
      throw new ConfigError("l1", "this store's client may read from replicas (ioredis scaleReads, node-redis useReplicas), which can answer with a value older than an invalidation the L1 already had: give the accessor with l1 a store over a client that reads from masters");
    }
    if (typeof store.getWithTtl !== "function" || typeof store.getManyWithTtl !== "function") {
      throw new ConfigError("l1", "this store cannot read a value's remaining TTL with it (getWithTtl, getManyWithTtl), which an L1 needs to hold a value no longer than Redis keeps it");
    }
    const copy = (held: Interpretation<T>): Interpretation<T> => (held instanceof Held ? (held as Held<T>).withValue(structuredClone(held.value)) : { ...held, value: structuredClone(held.value) });
    this.l1 = new L1<Interpretation<T>>(prefix, { ...settings, tracking }, count, undefined, copy);
    this.copies = settings.values === "copy";
  }

  /**
   * A key L1 did not hold (its miss already counted by `l1.get`; `id` is
   * the key less the prefix): joins the
   * read of that key in flight if nothing that could change the key
   * happened since that read began (an invalidation, this process's own
   * write or delete, a flush: see `L1.unchanged`), or starts one by `read`
   * under a ticket (single-flight over L1 misses; in `"copy"` mode each
   * joiner gets its own copy). A read that began while tracking was not
   * live is never joined: nothing would tell it was overtaken.
   */
  read(id: string, read: () => Promise<Looked<T>>): Promise<Looked<T>> {
    const pending = this.reading.get(id);
    if (pending !== undefined && this.l1.unchanged(pending.ticket)) return this.copies ? pending.promise.then(copied) : pending.promise;
    const ticket = this.l1.begin(id);
    const reading: Reading<T> = { ticket, promise: undefined as unknown as Promise<Looked<T>> };
    reading.promise = this.readOne(id, reading, read);
    // A read without a ticket (not live) is left out: nothing could tell a joiner that it was overtaken.
    if (ticket !== undefined) this.reading.set(id, reading);
    return reading.promise;
  }

  private async readOne(id: string, reading: Reading<T>, read: () => Promise<Looked<T>>): Promise<Looked<T>> {
    let looked: Looked<T> | undefined;
    try {
      looked = await read();
      return looked;
    } finally {
      // Before the reply reaches anyone: from here on, a caller of this key starts a read of its own.
      if (this.reading.get(id) === reading) this.reading.delete(id);
      // Frozen mode: what a read returns is frozen whether or not L1 keeps it, since joiners share it.
      if (!this.copies) deepFreeze(looked?.seen?.value);
      this.end(reading.ticket, looked, id);
    }
  }

  /** The values of many keys: those L1 holds, the others by one `read` of their positions. */
  async many(keys: readonly string[], read: (positions: readonly number[]) => Promise<Looked<T>[]>): Promise<Looked<T>[]> {
    const out = new Array<Looked<T>>(keys.length);
    // Every key is of this key space: each has an id.
    const ids = keys.map((key) => this.l1.idOf(key) as string);
    const rest: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const held = this.l1.get(ids[i] as string);
      if (held !== undefined) out[i] = { seen: held, failed: false, l1: true };
      else rest.push(i);
    }
    if (rest.length === 0) return out;
    const tickets = rest.map((i) => this.l1.begin(ids[i] as string));
    let got: Looked<T>[] | undefined;
    try {
      got = await read(rest);
    } finally {
      rest.forEach((i, j) => {
        const looked = got?.[j];
        if (looked !== undefined) out[i] = looked;
        this.end(tickets[j], looked, ids[i] as string);
      });
    }
    return out;
  }

  /** Ends a read under `ticket` with what it found: held, when it may be, by the value's own id string if it equals `id`. */
  private end(ticket: L1Ticket | undefined, looked: Looked<T> | undefined, id: string): void {
    const read = looked?.seen;
    // What L1 holds of an interpretation: outcome, value, header and revision (no envelope, no error), compactly.
    const seen = read === undefined || !KEPT.has(read.outcome) ? undefined : ticket === undefined ? read : this.shapes.hold(read);
    let held = id;
    if (seen?.value !== undefined && ticket !== undefined) {
      try {
        const own = this.idOfValue(seen.value);
        if (own === id) held = own;
      } catch {
        // A value whose key fields do not format keeps the read's id.
      }
    }
    const tags = seen?.header?.tags;
    this.l1.end(ticket, seen, held, looked?.ttlMs ?? 0, tags === undefined ? 0 : estimateValueBytes(tags));
  }

  /** Drops `keys` at once, and keeps replies of reads in flight out (the process's own writes and deletes): reads of them in flight are not joined any more. */
  drop(keys: readonly string[]): void {
    this.l1.invalidate(keys);
  }

  close(): void {
    this.l1.close();
  }
}

/**
 * The store as an accessor with an L1 uses it: every write, delete,
 * compare-and-set (write-back, migration) and compare-and-delete drops its
 * keys from L1 before it is sent and again when it has settled, so the
 * process never serves from L1 what its own write replaced, even before
 * Redis's invalidation of that write arrives.
 */
export function droppingStore(store: CacheStore, tier: L1Tier<unknown>): CacheStore {
  const around = async <R>(keys: readonly string[], work: () => Promise<R>): Promise<R> => {
    tier.drop(keys);
    try {
      return await work();
    } finally {
      tier.drop(keys);
    }
  };
  return {
    get: (key) => store.get(key),
    getMany: (keys, deadline?: Deadline) => store.getMany(keys, deadline),
    // L1Tier's constructor made sure the store has both.
    getWithTtl: (key) => (store.getWithTtl as (key: string) => Promise<TimedValue | null>).call(store, key),
    getManyWithTtl: (keys, deadline?: Deadline) => (store.getManyWithTtl as (keys: readonly string[], deadline?: Deadline) => Promise<(TimedValue | null | Error)[]>).call(store, keys, deadline),
    getWithExpiry: (key): Promise<StoredValue | null> => store.getWithExpiry(key),
    set: (write: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome> => around([write.key], () => store.set(write, guard)),
    setMany: (writes, guard, deadline): Promise<StoreWriteResult[]> =>
      around(
        writes.map((w) => w.key),
        () => store.setMany(writes, guard, deadline),
      ),
    delete: (keys) => around(keys, () => store.delete(keys)),
    replaceIfEqual: (key, expected, value) => around([key], () => store.replaceIfEqual(key, expected, value)),
    deleteIfEqual: (key, expected) => around([key], () => store.deleteIfEqual(key, expected)),
    createIfAbsent: (key, value, expireAt) => around([key], () => store.createIfAbsent(key, value, expireAt)),
  };
}
