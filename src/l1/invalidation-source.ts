/**
 * Where an L1 learns that keys changed: the contract between the L1 tier
 * (src/l1/l1.ts) and what tells it, Redis's own tracking (RedisTracking,
 * over a driver per client library) or a MemoryStore's writes.
 */

/** Why an L1 dropped everything it held: it cannot know what it missed. */
export type FlushReason =
  /** A tracking connection closed, failed or was killed. */
  | "disconnected"
  /** A tracking connection did not answer its heartbeat in time (a stalled socket, a paused server). */
  | "heartbeat"
  /** The set of servers changed (a Cluster failover, a resharding to new masters). */
  | "topology"
  /** The server said everything changed (FLUSHALL, FLUSHDB, a SWAPDB, or a tracking table overflow). */
  | "server";

/** What a source calls on an L1 that watches a prefix. */
export interface InvalidationListener {
  /** These keys changed (written, deleted, expired or evicted on the server, or written by this process). */
  invalidate(keys: readonly string[]): void;
  /** Anything may have changed: drop every entry. */
  flush(reason: FlushReason): void;
}

/** One L1's registration with a source: what its reads ask before they may fill the L1. */
export interface InvalidationWatch {
  /**
   * True while every server's tracking of the watched prefix is confirmed
   * and its connection answers: only then may a read's reply enter the L1
   * (a reply read while not live could be older than an invalidation that
   * was never delivered).
   */
  readonly live: boolean;
  /** Resolves true once live, or false after `timeoutMs` (an L1 serves reads from Redis meanwhile). */
  ready(timeoutMs: number): Promise<boolean>;
  /** Ends the registration: the source stops tracking the prefix when nothing else watches it. */
  close(): void;
}

/**
 * A source of invalidations for key prefixes: `RedisStore.tracking()` and
 * `NodeRedisStore.tracking()` (Redis's server-assisted client-side caching,
 * on connections protocache opens itself), `MemoryStore.tracking()`, or
 * one made with `ioredisTracking` / `nodeRedisTracking` over another client
 * of the same servers (what a GlideStore's L1 uses).
 */
export interface InvalidationSource {
  /** For errors and logs: "ioredis", "node-redis", "memory". */
  readonly description: string;
  /** Starts telling `listener` about keys that start with `prefix`. */
  watch(prefix: string, listener: InvalidationListener): InvalidationWatch;
}
