import type { InvalidationSource } from "../l1/invalidation-source.js";

/** A value and its absolute expiry. */
export interface StoredValue {
  readonly value: Buffer;
  /** Expiry in epoch milliseconds (PEXPIRETIME), or undefined for none. */
  readonly expireAt: number | undefined;
}

/** A value and how long Redis keeps it, as one read saw them: what an L1 needs to hold it no longer than that. */
export interface TimedValue {
  readonly value: Buffer;
  /** Milliseconds the key had left when it was read (PTTL): undefined for a key without expiry, 0 for one already gone. */
  readonly ttlMs: number | undefined;
  /** Why the TTL could not be read (an ACL without PTTL, say), when it could not: `ttlMs` is then 0 and no L1 holds the value. */
  readonly ttlError?: Error;
}

/** One value to store. */
export interface StoreWrite {
  readonly key: string;
  readonly value: Buffer;
  /** Time to live in whole seconds; 0 stores without expiry. */
  readonly ttlSeconds: number;
}

/**
 * The never-downgrade guard of a write: refuse to replace an envelope whose
 * schema ID is not in `knownIds` (or whose envelope version is newer).
 */
export interface WriteGuard {
  /** Concatenated big-endian uint32 schema IDs the writer knows. */
  readonly knownIds: Buffer;
  /**
   * Delete the entry a write was refused over, in the same atomic step
   * (result `"invalidated"`): the writer's value is newer data than that
   * entry holds, so no reader should keep getting it. Default false: keep it.
   */
  readonly invalidate?: boolean;
}

/**
 * The accessor's per-call deadline, handed to batch operations so that a
 * slow or dead server fails only its own share: a store bounds each
 * server's round trip with it, and keys of other servers are still served.
 */
export interface Deadline {
  /** Resolves like `work`, or rejects with a StoreTimeoutError when the deadline passes first. */
  bound<T>(work: Promise<T>, operation: string, key: string | undefined): Promise<T>;
}

/**
 * What a store did with one write: stored it, refused it because of the
 * guard (`"guarded"`), or refused it and deleted the entry it could not
 * replace (`"invalidated"`, when the guard asks for that).
 */
export type SetOutcome = "written" | "guarded" | "invalidated";

/** Result of one write in a batch: a {@link SetOutcome}, or the store's error. */
export type StoreWriteResult = SetOutcome | Error;

/**
 * Where envelopes live: the contract accessors use. The Redis stores
 * (`RedisStore` over ioredis, `NodeRedisStore`, `GlideStore`: one
 * implementation, src/stores/redis/, over a small transport per client)
 * are the production stores; `MemoryStore` serves unit tests and demos
 * with the same semantics.
 * Implementations never interpret payloads; only the guard reads the header.
 */
export interface CacheStore {
  /** The value at `key`, or null; rejects with the client's error (the accessor wraps it in a StoreError). */
  get(key: string): Promise<Buffer | null>;
  /**
   * Values of many keys, in order; an Error in place of a value that could
   * not be read (keys that failed together share one Error object). With a
   * `deadline`, each server's round trip is bounded by it, so one slow
   * server costs only its own keys. Redis stores send at most 1000 keys per
   * round trip (see MAX_KEYS_PER_ROUND_TRIP).
   */
  getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]>;
  /**
   * The value at `key` with its remaining time to live, read in the same
   * round trip (GET and PTTL, pipelined on one connection), or null: the
   * read behind an accessor's L1, which holds a value no longer than Redis
   * keeps its key. Not atomic, and need not be: a write or EXPIRE between
   * the two commands is a change of the key, which tracking reports.
   * Optional: an accessor with `l1` needs it (and `getManyWithTtl`).
   */
  getWithTtl?(key: string): Promise<TimedValue | null>;
  /** Like `getMany`, each value with its remaining time to live (MGET and a PTTL per key, or GET and PTTL per key on a Cluster, in the same round trips). */
  getManyWithTtl?(keys: readonly string[], deadline?: Deadline): Promise<(TimedValue | null | Error)[]>;
  /** Stores one value, refused (`"guarded"`, or `"invalidated"` with its entry deleted) when the guard says so; rejects with the client's error. */
  set(write: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome>;
  /** Stores many values (one round trip per server and 250 values); results in order, bounded per round trip like getMany. */
  setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined, deadline?: Deadline): Promise<StoreWriteResult[]>;
  /** Deletes keys; resolves to how many existed. */
  delete(keys: readonly string[]): Promise<number>;
  /**
   * Replaces the value only if it is still byte-for-byte `expected`, keeping
   * its remaining TTL: the compare-and-set behind write-back and migration.
   */
  replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean>;
  /** Deletes the key only if its value is still byte-for-byte `expected`. */
  deleteIfEqual(key: string, expected: Buffer): Promise<boolean>;
  /**
   * The value and the absolute expiry it had when read (one round trip:
   * GET and PEXPIRETIME in a MULTI, or PEXPIRETIME around a GET), or null:
   * what a copy to another key needs to keep the expiry exactly. Needs
   * Redis 7.0 (PEXPIRETIME).
   */
  getWithExpiry(key: string): Promise<StoredValue | null>;
  /**
   * Creates the key only if it does not exist (SET NX), expiring at
   * `expireAt` (epoch ms, PXAT) or never; resolves false when the key
   * existed. An `expireAt` already past creates nothing that can be read.
   */
  createIfAbsent(key: string, value: Buffer, expireAt: number | undefined): Promise<boolean>;
  /**
   * What tells an accessor's L1 that keys changed (the `l1` option): the
   * Redis stores' tracking on connections of their own, a MemoryStore's
   * own writes. Optional: an accessor with `l1` over a store without it
   * needs `l1.tracking`. Throws a ConfigError saying why when the store
   * cannot track.
   */
  tracking?(): InvalidationSource;
  /**
   * True when reads may be answered by replicas (a Cluster client with
   * ioredis `scaleReads` or node-redis `useReplicas`): an accessor with `l1`
   * refuses such a store, since a replica may answer with a value older
   * than an invalidation already delivered. Optional: false when absent.
   */
  readsFromReplicas?(): boolean;
}
