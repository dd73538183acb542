import { expect } from "vitest";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import { accessorInternals, type WithInternals } from "../../src/accessor/internals.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import type { InvalidationListener, InvalidationSource } from "../../src/l1/invalidation-source.js";
import type { CacheStore, TimedValue } from "../../src/stores/store.js";

/** What the L1 tests read and write: a User whose name tells versions apart. */
export const user = (id: string, name = `n${id}`): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });

/** The envelope of `value` as the current revision writes it, written `ageMs` ago. */
export const envelopeOf = (value: User, ageMs = 0): Buffer =>
  encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 1024 }, Date.now() - ageMs);

/** The L1 settings of the L1 tests' accessors. */
export const l1 = { maxEntries: 1000, maxBytes: 4 << 20 } as const;

/**
 * A User accessor with an L1 over `store` (a backend's, or a wrapper of it), watching `tracking`, with a 5 s deadline
 * (a loaded machine must not turn reads into misses); resolves once its tracking is live.
 */
export async function l1Cache(store: CacheStore, tracking: InvalidationSource, prefix: string, options: AccessorOptions<User> = {}): Promise<EntityCache<User, { id: string }>> {
  const cache = userCache(store, { prefix, deadlineMs: 5_000, ...options, l1: { ...l1, tracking, ...options.l1 } });
  const held = (cache as unknown as WithInternals<User, { id: string }>)[accessorInternals]().l1;
  expect(await held?.ready(30_000)).toBe(true);
  return cache;
}

/** What a test hears from a source: invalidated keys and flushes. */
export interface Heard {
  readonly keys: string[];
  flushes: number;
  close(): void;
  ready(): Promise<boolean>;
}

/**
 * Invalidated keys of `prefix` as `source` delivers them: what a test waits for. Made before the accessor, so that its
 * wider prefix is tracked from the start (a later one would open a new generation of connections, and the replaced one
 * delivers what it still held as well: a second, later invalidation of the same write).
 */
export function listen(source: InvalidationSource, prefix: string): Heard {
  const seen: Heard = { keys: [], flushes: 0, close: () => watch.close(), ready: () => watch.ready(30_000) };
  const watch = source.watch(prefix, { invalidate: (keys) => void seen.keys.push(...keys), flush: () => void (seen.flushes += 1) });
  return seen;
}

/** Waits until `heard` got every key of `keys` (the invalidations of the test's own writes, say), then forgets what it heard. */
export async function heardAll(heard: Heard, keys: readonly string[]): Promise<void> {
  const flushes = heard.flushes;
  // A flush meanwhile (tracking lost on a loaded machine) drops everything too: then wait for tracking to be back.
  await expect.poll(() => heard.flushes > flushes || keys.every((k) => heard.keys.includes(k))).toBe(true);
  heard.keys.length = 0;
  if (heard.flushes > flushes) await expect.poll(() => heard.ready()).toBe(true);
}

/** The CacheStore methods of `store`, bound (a spread of a class instance copies no methods). */
export function bound(store: CacheStore): CacheStore & Required<Pick<CacheStore, "getWithTtl" | "getManyWithTtl">> {
  const { getWithTtl, getManyWithTtl } = store;
  if (getWithTtl === undefined || getManyWithTtl === undefined) throw new Error("the store reads no TTLs");
  return {
    get: (k) => store.get(k),
    getMany: (k, d) => store.getMany(k, d),
    getWithTtl: (k) => getWithTtl.call(store, k),
    getManyWithTtl: (k, d) => getManyWithTtl.call(store, k, d),
    set: (w, g) => store.set(w, g),
    setMany: (w, g, d) => store.setMany(w, g, d),
    delete: (k) => store.delete(k),
    replaceIfEqual: (k, e, v) => store.replaceIfEqual(k, e, v),
    deleteIfEqual: (k, e) => store.deleteIfEqual(k, e),
    getWithExpiry: (k) => store.getWithExpiry(k),
    createIfAbsent: (k, v, e) => store.createIfAbsent(k, v, e),
  };
}

/** A store whose next L1 read (getWithTtl) can be held back after Redis answered it. */
export interface HeldBackStore {
  readonly store: CacheStore;
  /**
   * Holds the reply of the next single-key L1 read: `answered` resolves once
   * Redis answered it (the value it will return is fixed from then on),
   * `release` lets the reply go on to the accessor.
   */
  holdNext(): { answered: Promise<void>; release(): void };
}

/** `store`, with the replies of its single-key L1 reads held back on demand. */
export function heldBack(store: CacheStore): HeldBackStore {
  const inner = bound(store);
  let next: { answered: () => void; released: Promise<void> } | undefined;
  return {
    store: {
      ...inner,
      getWithTtl: async (key): Promise<TimedValue | null> => {
        const hold = next;
        next = undefined;
        const reply = await inner.getWithTtl(key);
        if (hold !== undefined) {
          hold.answered();
          await hold.released;
        }
        return reply;
      },
    },
    holdNext() {
      let answered = (): void => {};
      let release = (): void => {};
      const answeredP = new Promise<void>((r) => (answered = r));
      next = { answered, released: new Promise<void>((r) => (release = r)) };
      return { answered: answeredP, release };
    },
  };
}

/** A source over another whose connection loss a test plays without touching the servers (other files share them). */
export interface Switchable {
  readonly source: InvalidationSource;
  /** Plays a lost tracking connection: every watcher flushes (`disconnected`) and is not live until `restore`. */
  drop(): void;
  restore(): void;
}

/** `inner`'s invalidations, with a liveness the test can take away (what a killed tracking connection does to an L1). */
export function switchable(inner: InvalidationSource): Switchable {
  let up = true;
  const listeners = new Set<InvalidationListener>();
  return {
    source: {
      description: `switchable ${inner.description}`,
      watch(prefix, listener) {
        listeners.add(listener);
        const watch = inner.watch(prefix, listener);
        return {
          get live() {
            return up && watch.live;
          },
          ready: async (timeoutMs) => up && (await watch.ready(timeoutMs)),
          close: () => {
            listeners.delete(listener);
            watch.close();
          },
        };
      },
    },
    drop() {
      up = false;
      for (const l of listeners) l.flush("disconnected");
    },
    restore() {
      up = true;
    },
  };
}
