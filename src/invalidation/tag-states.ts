import type { FlushReason, InvalidationListener, InvalidationSource } from "../l1/invalidation-source.js";
import { L1, type L1Ticket } from "../l1/l1.js";
import type { CacheStore } from "../stores/store.js";
import { parseState, statePrefix } from "./tag-keys.js";

/** One state as held: the epoch ms of the last invalidation (`-Infinity`: never). */
interface State {
  readonly value: number;
}

/** How a caller reads state keys (bounded by its own deadline): values in order, an Error for each one that could not be read. */
export type StateRead = (keys: readonly string[]) => Promise<(Buffer | null | Error)[]>;

/** State keys held at most this long without a read from Redis: the bound if an invalidation is ever lost. */
const STATE_HOLD_MS = 60_000;
/** Most state keys held per store and prefix. */
const MAX_STATES = 100_000;
/** Their byte bound: above what MAX_STATES states of ids up to 64 characters are estimated at (src/l1/sizes.ts), so that the entry bound is the one that binds. */
const MAX_STATE_BYTES = MAX_STATES * 512;

/**
 * The tag and key-space states of one store and prefix, held in process
 * (docs/invalidation.md): a small L1 of state keys, kept valid by Redis's
 * own tracking of `{prefix}tag:` like an accessor's L1, so a hit's check
 * costs a map lookup per tag and no round trip. Without tracking (or while
 * it is not live) every check reads the states it needs from Redis.
 * Shared by the accessors of one store and prefix (see `tagStatesOf`).
 */
export class TagStates {
  /**
   * Bumped by every change of a state this process learns of (an
   * invalidation from Redis, its own invalidation, a flush): a value
   * checked at one version needs no new check while the version is the
   * same and tracking is live.
   */
  version = 0;
  private readonly cache: L1<State> | undefined;
  /** State reads in flight, by key, with the ticket each was sent under: what later reads of the key may join. */
  private readonly reading = new Map<string, { readonly ticket: L1Ticket; readonly state: Promise<number | undefined | Error> }>();

  constructor(prefix: string, tracking: InvalidationSource | undefined) {
    if (tracking === undefined) return;
    const bump = (listener: InvalidationListener): InvalidationListener => ({
      invalidate: (keys) => {
        this.version += 1;
        listener.invalidate(keys);
      },
      flush: (reason: FlushReason) => {
        this.version += 1;
        listener.flush(reason);
      },
    });
    const source: InvalidationSource = { description: tracking.description, watch: (p, listener) => tracking.watch(p, bump(listener)) };
    this.cache = new L1<State>(statePrefix(prefix), { maxEntries: MAX_STATES, maxBytes: MAX_STATE_BYTES, ttlMs: STATE_HOLD_MS, values: "frozen", tracking: source }, () => undefined);
  }

  /** True while held states may be trusted (tracking confirmed on every server). */
  get live(): boolean {
    return this.cache?.live === true;
  }

  /** Resolves true once tracking is live (false without tracking, or after `timeoutMs`). */
  ready(timeoutMs: number): Promise<boolean> {
    return this.cache === undefined ? Promise.resolve(false) : this.cache.ready(timeoutMs);
  }

  /** The held state of `key`, or undefined when it is not held (or tracking is not live). */
  held(key: string): number | undefined {
    const id = this.cache?.idOf(key);
    return id === undefined ? undefined : this.cache?.get(id)?.value;
  }

  /**
   * Reads states from Redis by `read`: each a number (`-Infinity`: never
   * invalidated), undefined for a value that is not a state (damage), or
   * the Error of a failed read. A state read while nothing changed its key
   * is held (the tickets of an L1, see src/l1/l1.ts). A key whose read is
   * in flight, begun while tracking was live and unchanged since, joins it:
   * after a state changes, the many reads that need it send one MGET.
   */
  async read(keys: readonly string[], read: StateRead): Promise<(number | undefined | Error)[]> {
    const cache = this.cache;
    const out: Promise<number | undefined | Error>[] = new Array(keys.length);
    const fresh: string[] = [];
    const freshAt: number[] = [];
    keys.forEach((key, i) => {
      const pending = this.reading.get(key);
      if (pending !== undefined && cache?.unchanged(pending.ticket) === true) out[i] = pending.state;
      else {
        fresh.push(key);
        freshAt.push(i);
      }
    });
    if (fresh.length > 0) {
      const tickets: (L1Ticket | undefined)[] = fresh.map((k) => {
        const id = cache?.idOf(k);
        return id === undefined ? undefined : cache?.begin(id);
      });
      const got = read(fresh).catch((error: unknown) => fresh.map(() => (error instanceof Error ? error : new Error(String(error)))));
      fresh.forEach((key, j) => {
        const ticket = tickets[j];
        const state = got.then((values) => {
          if (this.reading.get(key)?.state === state) this.reading.delete(key);
          const bytes = values[j];
          const parsed = bytes === undefined ? new Error("the store returned no value for this key") : bytes instanceof Error ? bytes : parseState(bytes);
          // Held without a TTL of its own: a state that expires in Redis only makes more entries misses until it is read again.
          cache?.end(ticket, typeof parsed === "number" ? { value: parsed } : undefined, ticket?.id ?? key, Infinity);
          return parsed;
        });
        if (ticket !== undefined) this.reading.set(key, { ticket, state });
        out[freshAt[j] as number] = state;
      });
    }
    return Promise.all(out);
  }

  /** This process is changing these state keys: forget them (before the write and again when it settled, like an accessor's own writes). */
  changed(keys: readonly string[]): void {
    this.version += 1;
    this.cache?.invalidate(keys);
  }

  close(): void {
    this.cache?.close();
  }
}

/** The TagStates of each store, by prefix and tracking source, with how many accessors use each. */
const shared = new WeakMap<CacheStore, Map<string, { states: TagStates; users: number }>>();
const sourceIds = new WeakMap<InvalidationSource, number>();
let nextSourceId = 1;

/**
 * The TagStates of `store` and `prefix` (one per tracking source), shared
 * by every accessor that asks; `release` when the accessor closes (the last
 * one stops tracking).
 */
export function tagStatesOf(store: CacheStore, prefix: string, tracking: InvalidationSource | undefined): { readonly states: TagStates; release(): void } {
  let byKey = shared.get(store);
  if (byKey === undefined) shared.set(store, (byKey = new Map()));
  let id = 0;
  if (tracking !== undefined) {
    id = sourceIds.get(tracking) ?? nextSourceId++;
    sourceIds.set(tracking, id);
  }
  const key = `${id} ${prefix}`;
  let entry = byKey.get(key);
  if (entry === undefined) byKey.set(key, (entry = { states: new TagStates(prefix, tracking), users: 0 }));
  entry.users += 1;
  const used = entry;
  let released = false;
  return {
    states: used.states,
    release: () => {
      if (released) return;
      released = true;
      used.users -= 1;
      if (used.users === 0 && byKey.get(key) === used) {
        byKey.delete(key);
        used.states.close();
      }
    },
  };
}

/** Every TagStates of `store` and `prefix` forgets `keys` (this process changed them: `invalidateTags` without an accessor). */
export function changedEverywhere(store: CacheStore, prefix: string, keys: readonly string[]): void {
  for (const [key, entry] of shared.get(store) ?? []) if (key.endsWith(` ${prefix}`) && key.slice(key.indexOf(" ") + 1) === prefix) entry.states.changed(keys);
}
