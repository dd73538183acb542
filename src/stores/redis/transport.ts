import type { TrackingDriver } from "../../l1/redis-tracking.js";

/** One argument of a Redis command. */
export type Arg = string | Buffer;

/** A command: its name, then its arguments. */
export type Command = readonly Arg[];

/**
 * Replies, as every transport maps them: bulk strings as Buffers, simple
 * strings ("OK", "QUEUED") as strings or Buffers (callers accept both),
 * integers as numbers, nil as null, arrays as arrays (nested the same way),
 * and a reply error (`-ERR …`, NOSCRIPT, MOVED, OOM …) as a
 * `RedisReplyError` (src/errors.ts) whose message is the server's text
 * when it comes inside a batch or pipeline; a single command rejects with
 * the client's own error, whose message is the server's text too.
 */
export type Reply = unknown;

/** One server of the deployment: the standalone server, or one Cluster master. */
export interface ServerLink {
  /** `host:port`: stable across reconnects, so checkpoints and logs can name it. */
  readonly id: string;
  /**
   * Sends `commands` to this server in one round trip (a pipeline); resolves
   * every reply in order, a reply error as an Error in its place. Rejects
   * only when the server could not be reached (connection closed, client
   * timeout). Used for key-less work (SCAN, INFO, DBSIZE, SCRIPT LOAD,
   * COMMAND INFO, scripts that take keys in ARGV) and node-scoped batches.
   */
  pipeline(commands: readonly Command[]): Promise<Reply[]>;
}

/**
 * What protocache needs of one Redis client library, written once per
 * client in `src/stores/<client>/transport.ts` (the order of 100 lines);
 * everything else (chunking, grouping, scripts, IFEQ, deadlines) is written
 * once over it in `src/stores/redis/`.
 */
export interface RedisTransport {
  /** The client library, for errors and docs: "ioredis", "node-redis", "valkey-glide". */
  readonly client: string;
  /** True for a Cluster client. */
  readonly cluster: boolean;
  /**
   * One command; on a Cluster, routed to the master of `key`'s slot (any
   * server when `key` is undefined). Resolves the reply (mapped as
   * {@link Reply}); rejects with the reply error or a connection error.
   * The hot path (GET, MGET, EVALSHA of the guarded SET): no allocation
   * beyond the client's own.
   */
  send(key: string | undefined, command: Command): Promise<Reply>;
  /**
   * Commands whose keys (`keys[i]` is the key `commands[i]` is routed by)
   * all live on one server — the caller groups them with {@link serverOf} —
   * sent in one round trip; replies as {@link ServerLink.pipeline}.
   */
  batch(keys: readonly string[], commands: readonly Command[]): Promise<Reply[]>;
  /**
   * A name of the server that serves `key` (its slot's master), to group a
   * batch per server; the same name for every key on a standalone server.
   * Synchronous, from the client's slot table; a key whose slot is not in
   * the table yet gets a name of its own (`slot:N`).
   */
  serverOf(key: string): string;
  /** The standalone server, or every Cluster master, asked afresh each call. */
  servers(): Promise<ServerLink[]>;
  /**
   * Why this client cannot run the bulk primitives (operations), if it
   * cannot: e.g. an ioredis client with a `keyPrefix`, which it would add
   * to the keys SCAN already returned in full. Undefined when it can.
   */
  bulkRefusal?(): string | undefined;
  /**
   * Connections of protocache's own for Redis tracking (the L1's
   * invalidations, src/l1/redis-tracking.ts). Absent when the client
   * cannot give them; `trackingRefusal` then says why.
   */
  trackingDriver?(): TrackingDriver;
  /**
   * True when the client may send reads to replicas (ioredis `scaleReads`,
   * node-redis `useReplicas`): a replica may answer with a value older than
   * an invalidation already delivered, so an L1 refuses such a store.
   */
  readonly replicaReads?: boolean;
  /** Why this client cannot track invalidations, when it has no `trackingDriver`. */
  readonly trackingRefusal?: string;
}
