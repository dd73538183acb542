import type { Arg } from "../redis/transport.js";

/**
 * What protocache needs of a node-redis (`redis` package) client made by
 * `createClient`: its raw `sendCommand`. Structural, so importing protocache
 * loads (and type-checks against) no Redis client library.
 */
export interface NodeRedisClient {
  sendCommand(args: Arg[]): Promise<unknown>;
  /** A view of the client whose replies map RESP types as given (node-redis's `withTypeMapping`). */
  withTypeMapping(mapping: NodeRedisTypeMapping): NodeRedisClient;
}

/** What protocache needs of a node-redis cluster made by `createCluster`. */
export interface NodeRedisCluster {
  sendCommand(firstKey: Arg | undefined, isReadonly: boolean | undefined, args: Arg[]): Promise<unknown>;
  withTypeMapping(mapping: NodeRedisTypeMapping): NodeRedisCluster;
  /** The cluster's masters: tells a cluster from a client, and the servers of server-wide work. */
  readonly masters: readonly unknown[];
  /** The client of one master (server-wide work: SCAN, SCRIPT LOAD, IFEQ detection). */
  nodeClient?(node: never): Promise<NodeRedisClient>;
  /** The slot table (node-redis's `cluster.slots`): which master serves each slot, to split batches per server. */
  readonly slots?: readonly ({ readonly master: { readonly address: string } } | undefined)[];
}

/** A node-redis type mapping: RESP type code to the JS type of replies. */
export type NodeRedisTypeMapping = Record<number, unknown>;

/** True for a node-redis client or cluster (what `NodeRedisStore` wraps). */
export function isNodeRedisClient(client: unknown): client is NodeRedisClient | NodeRedisCluster {
  return typeof client === "object" && client !== null && ["sendCommand", "withTypeMapping"].every((m) => typeof (client as Record<string, unknown>)[m] === "function");
}

/** True for a node-redis cluster (`createCluster`). */
export function isNodeRedisCluster(client: NodeRedisClient | NodeRedisCluster): client is NodeRedisCluster {
  return "masters" in client && Array.isArray((client as NodeRedisCluster).masters);
}
