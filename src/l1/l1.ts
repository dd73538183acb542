import type { FlushReason, InvalidationListener, InvalidationSource, InvalidationWatch } from "./invalidation-source.js";
import type { L1Counter } from "../stats.js";
import { monotonicNow } from "../clock.js";
import { estimateBytes } from "./sizes.js";
import { TinyLfuMap } from "./tiny-lfu.js";

/** What a caller may do with a value an L1 returns. */
export type L1Values =
  /** The value is deep-frozen when it enters the L1 and the same object is returned to every caller: mutating it throws in strict mode (bytes fields, Uint8Arrays, cannot be frozen: never write into them). */
  | "frozen"
  /** Every hit returns a `structuredClone` of the held value: callers may mutate what they get (a copy costs about as much as decoding). */
  | "copy";

/** The L1 settings an accessor resolved (validated by src/accessor/options.ts). */
export interface L1Settings {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** Longest time an entry is served without a read from Redis, in milliseconds: the bound on staleness if an invalidation is ever lost. */
  readonly ttlMs: number;
  readonly values: L1Values;
  readonly tracking: InvalidationSource;
}

/** A read in flight: how many, and how many invalidations of its key arrived meanwhile. */
interface InFlight {
  readers: number;
  invalidated: number;
}

/** What `begin` hands a read, to give back with its reply. */
export interface L1Ticket {
  /** The key's id: the part after the L1's prefix. */
  readonly id: string;
  readonly epoch: number;
  readonly slot: InFlight;
  readonly invalidated: number;
  /** The clock when the read began: a TTL its reply carries counts from here (never later than Redis's own count began). */
  readonly startedAt: number;
}

/**
 * The in-process tier of one accessor (docs/l1.md): decoded values of one
 * key space (one entity, major and variant), bounded by entries and bytes
 * (W-TinyLFU), each held at most `ttlMs`, dropped when Redis says the key
 * changed. Entries are held by *id*, the part of their key after the key
 * space's prefix (the key fields, escaped): a hit builds no key string, and
 * a held id is often the value's own string. Invalidations arrive as whole
 * keys. A read that misses takes a ticket before it asks Redis and
 * gives it back with the reply: the reply enters only if no invalidation
 * of its key and no flush happened in between and tracking is live, so an
 * older reply never outlives the invalidation that raced it.
 */
export class L1<S extends { readonly value: unknown }> implements InvalidationListener {
  /**
   * Held values by id. Each entry's expiry (when it stops being served: its
   * key's expiry in Redis as the read saw it, or `ttlMs` after it was kept,
   * whichever is first) is kept in the map's node, in milliseconds after
   * `base`: a small integer, stored in the node itself rather than as a boxed
   * number (docs/l1.md "Memory").
   */
  private readonly map: TinyLfuMap<S>;
  /** The key space's prefix: a key less it is its id. */
  private readonly prefix: string;
  private readonly base: number;
  private readonly watch: InvalidationWatch;
  private readonly inFlight = new Map<string, InFlight>();
  private epoch = 0;
  /** The L1's clock as the last hit read it: a hit's served age is counted from it (`epochAt(lastNow)`), without reading a clock again. */
  lastNow = 0;

  constructor(
    prefix: string,
    private readonly settings: L1Settings,
    private readonly count: (counter: L1Counter) => void,
    /** The L1's clock, in milliseconds: by default one that never goes back (src/clock.ts), so that no wall-clock step back extends a hold. */
    private readonly now: () => number = monotonicNow,
    /** A copy of a held record with its value copied ("copy" mode): by default a spread with the value's `structuredClone`. */
    private readonly copy: (held: S) => S = (held) => ({ ...held, value: structuredClone(held.value) }),
  ) {
    this.map = new TinyLfuMap<S>(settings, () => count("eviction"));
    this.base = now();
    this.prefix = prefix;
    this.watch = settings.tracking.watch(prefix, this);
  }

  /** Entries held. */
  get entries(): number {
    return this.map.size;
  }

  /** Estimated heap bytes held (keys and values). */
  get bytes(): number {
    return this.map.bytes;
  }

  /** True while reads may fill the L1 (tracking confirmed on every server). */
  get live(): boolean {
    return this.watch.live;
  }

  /** Resolves true once tracking is live, false after `timeoutMs`. */
  ready(timeoutMs: number): Promise<boolean> {
    return this.watch.ready(timeoutMs);
  }

  /** The held interpretation of the key with id `id` (its value frozen, or copied), or undefined: counted as a hit or a miss. */
  get(id: string): S | undefined {
    const held = this.map.entry(id);
    if (held === undefined || !this.watch.live) {
      this.count("miss");
      return undefined;
    }
    if (held.expiresAt <= (this.lastNow = this.now()) - this.base) {
      this.map.delete(id);
      this.count("miss");
      return undefined;
    }
    this.count("hit");
    const seen = held.value;
    return this.settings.values === "copy" ? this.copy(seen) : seen;
  }

  /** Starts a read from Redis of the key with id `id`: undefined when its reply could not enter anyway (not live). */
  begin(id: string): L1Ticket | undefined {
    if (!this.watch.live) return undefined;
    let slot = this.inFlight.get(id);
    if (slot === undefined) this.inFlight.set(id, (slot = { readers: 0, invalidated: 0 }));
    slot.readers += 1;
    return { id, epoch: this.epoch, slot, invalidated: slot.invalidated, startedAt: this.now() };
  }

  /**
   * True while nothing that could change `ticket`'s key happened since its
   * read began: no invalidation of the key (from Redis, or this process's
   * own write or delete), no flush, and tracking still live. Only then may
   * another caller share that read's reply: a reply of a read that began
   * before such a change may be older than the change, and a caller that
   * starts after it must not get it.
   */
  unchanged(ticket: L1Ticket | undefined): boolean {
    return ticket !== undefined && ticket.epoch === this.epoch && ticket.slot.invalidated === ticket.invalidated && this.watch.live;
  }

  /**
   * Ends the read of `ticket` (always: also when it failed, with
   * `seen` undefined); keeps `seen` when it may: nothing invalidated its
   * key or flushed the L1 since `begin`, and tracking is still live. It is
   * held until `ttlMs` (the key's remaining TTL in Redis as the read saw
   * it, counted from `begin`; Infinity for a key without expiry) has passed
   * or the L1's own `ttlMs`, whichever comes first; a reply with no time
   * left is not kept. `id` is the ticket's id, or an equal string to hold
   * instead (the value's own, so that the id is not held twice);
   * `extraBytes`, what the held record holds besides its value (its tags),
   * counted against `maxBytes` with it.
   */
  end(ticket: L1Ticket | undefined, seen: S | undefined, id: string, ttlMs: number, extraBytes = 0): void {
    if (ticket === undefined) {
      if (seen !== undefined) this.count("not_live");
      return;
    }
    const slot = ticket.slot;
    slot.readers -= 1;
    if (slot.readers === 0 && this.inFlight.get(ticket.id) === slot) this.inFlight.delete(ticket.id);
    if (seen === undefined) return;
    if (ticket.epoch !== this.epoch || slot.invalidated !== ticket.invalidated) {
      this.count("race_skipped");
      return;
    }
    if (!this.watch.live) {
      this.count("not_live");
      return;
    }
    const now = this.now();
    const expiresAt = Math.min(ticket.startedAt + ttlMs, now + this.settings.ttlMs);
    if (expiresAt <= now) return;
    this.put(id, seen, expiresAt, extraBytes);
  }

  /**
   * Holds `seen` for the key with id `id` until `expiresAt`: frozen first in "frozen"
   * mode; a copy of it in "copy" mode (the reader that filled the L1 gets
   * `seen` itself, and may change it).
   */
  private put(id: string, seen: S, expiresAt: number, extraBytes: number): void {
    const bytes = estimateBytes(id, seen.value) + extraBytes;
    if (this.settings.values === "frozen") deepFreeze(seen.value);
    const held = this.settings.values === "copy" ? this.copy(seen) : seen;
    const after = expiresAt - this.base;
    // A small integer is stored in the node as it is; a double (a fraction, or past 2^31 ms) would be boxed.
    this.map.set(id, held, bytes, after <= 0x7fffffff ? after | 0 : after);
  }

  /** The id of a whole key: the key less the prefix given to the constructor; undefined for a key outside it (none of this L1's). */
  idOf(key: string): string | undefined {
    return key.startsWith(this.prefix) ? key.slice(this.prefix.length) : undefined;
  }

  /** Drops `keys` (whole keys; one outside the prefix given to the constructor is none of this L1's) and makes replies of their reads in flight stay out. */
  invalidate(keys: readonly string[]): void {
    for (const key of keys) {
      const id = this.idOf(key);
      if (id === undefined) continue;
      if (this.map.delete(id)) this.count("invalidation");
      const slot = this.inFlight.get(id);
      if (slot !== undefined) slot.invalidated += 1;
    }
  }

  flush(reason: FlushReason): void {
    this.epoch += 1;
    this.map.clear();
    this.count(`flush_${reason}`);
  }

  /** Stops watching and drops everything. */
  close(): void {
    this.watch.close();
    this.epoch += 1;
    this.map.clear();
  }
}

/** Freezes `value` and everything it holds (typed arrays excepted: they cannot be frozen). */
export function deepFreeze(value: unknown): void {
  if (typeof value !== "object" || value === null || Object.isFrozen(value) || ArrayBuffer.isView(value)) return;
  Object.freeze(value);
  if (value instanceof Map) {
    for (const [k, v] of value) {
      deepFreeze(k);
      deepFreeze(v);
    }
    return;
  }
  for (const v of Object.values(value)) deepFreeze(v);
}
