import { FIXED_HEADER_BYTES } from "../envelope/format.js";
import { readHeader } from "../envelope/header.js";
import { batchDeadline } from "../stores/deadline.js";
import { freshMsOf } from "./freshness.js";
import type { LoadPolicy } from "./loading-options.js";
import { batchOf } from "./options.js";
import type { Outcomes } from "./outcomes.js";
import type { ReadOptions } from "./read-options.js";
import type { StoreCalls } from "./store-calls.js";

/** `has`, `delete`, `deleteMany` and `expire` of an accessor (part of {@link EntityCache}). */
export interface EntryOperations<K> {
  /**
   * True when `get(fields, options)` would return a value: the entry is read
   * and decoded like `get` reads it (an absent marker, another message's
   * entry, a corrupt one or a value for another key is false; an older
   * revision's or the previous major's value is true), so it costs what a
   * `get` costs. With `{ allowStale: false }`, a value past its fresh TTL is
   * false.
   */
  has(fields: K, options?: ReadOptions): Promise<boolean>;
  /** Deletes the entry (and its older copies: the previous major's, the legacy key's); resolves true if there was one. */
  delete(fields: K): Promise<boolean>;
  /**
   * Deletes the entries of many keys (and their older copies, deleted
   * first): one round trip per server and 1000 keys (one more for each
   * older key space the accessor reads through); at most `maxBatchKeys`
   * keys. Resolves how many keys were deleted, older copies included (what
   * `DEL` counts). A store failure is counted and reported, and resolves 0
   * (or throws with `onStoreError: "throw"`).
   *
   * @example
   * ```ts
   * await users.deleteMany(ids.map((id) => ({ id })));
   * ```
   */
  deleteMany(fields: readonly K[]): Promise<number>;
  /**
   * Makes the entry stale at once, keeping it: its envelope's written-at is
   * moved back past the fresh TTL (compare-and-set on the bytes read, which
   * keeps the entry's remaining Redis TTL). `getOrSet` then serves it stale
   * while it refreshes (for `loading.graceSeconds`) and as a fail-safe when
   * the loader fails (as long as Redis keeps it); `get` still returns it,
   * and `get(fields, { allowStale: false })` does not. Without grace (or
   * without written-at, or with a TTL of 0), and for an absent marker or
   * a value without written-at, the entry is deleted instead, like
   * `delete`. Resolves true if there was an entry. A write racing it wins
   * (its value is newer). Docs: docs/loading.md, "expire".
   *
   * @example
   * ```ts
   * await db.users.update(id, change);
   * await users.expire({ id }); // next getOrSet reloads, serving the old value meanwhile and if the source fails
   * ```
   */
  expire(fields: K): Promise<boolean>;
}

/** The accessor's parts these operations work with (built by the facade). */
export interface EntryParts<T, K> {
  readonly io: StoreCalls;
  readonly outcomes: Outcomes;
  readonly maxBatchKeys: number;
  readonly deadlineMs: number;
  readonly writtenAt: boolean;
  /** The accessor's loading policy: its fresh TTL, jitter and grace. */
  readonly policy: LoadPolicy;
  keyOf(fields: K): string;
  /** The keys a delete of `key` removes, older copies first (this major's key last). */
  deleteOrder(fields: K, key: string): string[];
  /** The accessor's `get`. */
  get(fields: K, options?: ReadOptions): Promise<T | undefined>;
}

/** {@link EntryOperations} over an accessor's parts. */
export class EntryOps<T, K> implements EntryOperations<K> {
  constructor(private readonly p: EntryParts<T, K>) {}

  async has(fields: K, options?: ReadOptions): Promise<boolean> {
    return (await this.p.get(fields, options)) !== undefined;
  }

  async delete(fields: K): Promise<boolean> {
    const key = this.p.keyOf(fields);
    const keys = this.p.deleteOrder(fields, key);
    let n = 0;
    try {
      for (const k of keys) n += await this.p.io.bounded(this.p.io.store.delete([k]), "DEL", k);
    } catch (error) {
      return this.p.outcomes.deleteFailed(error, key);
    }
    this.p.outcomes.counter.delete(n > 0 ? "deleted" : "absent");
    return n > 0;
  }

  async deleteMany(fields: readonly K[]): Promise<number> {
    const list = batchOf(fields, "deleteMany(fields)", this.p.maxBatchKeys);
    if (list.length === 0) return 0;
    // One DEL batch per position in the delete order (older copies first, this major's keys last), each key once.
    const rounds: Set<string>[] = [];
    list.forEach((f) => this.p.deleteOrder(f, this.p.keyOf(f)).forEach((k, at) => (rounds[at] ??= new Set()).add(k)));
    const current = rounds[rounds.length - 1] as Set<string>;
    let n = 0;
    let own = 0;
    for (const round of rounds) {
      const keys = [...round];
      const work = this.p.io.store.delete(keys);
      try {
        const deleted = await (this.p.deadlineMs === 0 ? work : batchDeadline(this.p.io.store, this.p.deadlineMs, keys.length, "read").bound(work, "DEL", keys[0]));
        n += deleted;
        if (round === current) own = deleted;
      } catch (error) {
        this.p.outcomes.deleteFailed(error, keys[0] as string);
        return 0;
      }
    }
    const counter = this.p.outcomes.counter;
    for (let i = 0; i < current.size; i++) counter.delete(i < own ? "deleted" : "absent");
    return n;
  }

  async expire(fields: K): Promise<boolean> {
    const { ttlSeconds, graceSeconds, jitter } = this.p.policy;
    if (graceSeconds === 0 || ttlSeconds === 0 || !this.p.writtenAt) return this.delete(fields);
    const key = this.p.keyOf(fields);
    const io = this.p.io;
    let bytes: Buffer | null;
    try {
      bytes = await io.bounded(io.store.get(key), "GET", key);
    } catch (error) {
      this.p.outcomes.readFailed(error, key);
      return false;
    }
    // Nothing in this major: older copies (read through on a miss) are deleted.
    if (bytes === null) return this.delete(fields);
    const expired = withWrittenAt(bytes, Date.now() - Math.ceil(freshMsOf(key, ttlSeconds, jitter)) - 1);
    if (expired === undefined) return this.delete(fields);
    try {
      // False: the key changed since it was read; that write is newer than this expire, and stands.
      await io.bounded(io.store.replaceIfEqual(key, bytes, expired), "SET IFEQ", key);
    } catch (error) {
      this.p.outcomes.written(error instanceof Error ? error : new Error(String(error)), key);
      return false;
    }
    return true;
  }
}

/**
 * A copy of the envelope `bytes` with its written-at set to `writtenAt` (ms
 * since the epoch, at most 2^48 - 1), everything else unchanged: what
 * `expire()` writes. Undefined when the bytes are no readable envelope
 * header, have no written-at, or are an absent marker (nothing there can be
 * served stale).
 */
export function withWrittenAt(bytes: Buffer, writtenAt: number): Buffer | undefined {
  try {
    const header = readHeader(bytes);
    if (header.writtenAt === undefined || header.absent) return undefined;
  } catch {
    return undefined;
  }
  const out = Buffer.from(bytes);
  out.writeUIntBE(Math.max(0, Math.min(2 ** 48 - 1, Math.floor(writtenAt))), FIXED_HEADER_BYTES, 6);
  return out;
}
