import type { Cluster, Redis, RedisOptions } from "ioredis";
import type { IoredisClient } from "./client.js";
import { RedisTracking, type TrackingConnection, type TrackingConnectionEvents, type TrackingDriver, type TrackingOptions } from "../../l1/redis-tracking.js";

function idOf(node: Redis): string {
  return `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`;
}

/**
 * Tracking connections of an ioredis `Redis` or `Cluster`: `duplicate()` of
 * the client (on a Cluster, of each master's own client), so they share its
 * host, credentials and TLS settings; forced to RESP2 (ioredis 6 speaks
 * RESP3 by default and drops the `invalidate` push), without ioredis's own
 * reconnection or offline queue: RedisTracking reconnects itself after
 * flushing L1.
 */
export function ioredisTrackingDriver(ioredisClient: IoredisClient): TrackingDriver {
  const client = ioredisClient as unknown as Redis | Cluster;
  const cluster = "nodes" in client && typeof (client as Cluster).nodes === "function" && (client as Cluster).isCluster === true;
  const nodeOf = (server: string): Redis => {
    if (!cluster) return client as Redis;
    const node = (client as Cluster).nodes("master").find((n) => idOf(n) === server);
    if (node === undefined) throw new Error(`${server} is no longer a master of the cluster`);
    return node;
  };
  const keyPrefix = (cluster ? (client as Cluster).options.keyPrefix : (client as Redis).options.keyPrefix) ?? "";
  return {
    client: "ioredis",
    keyPrefix,
    servers: async () => (cluster ? clusterMasters(client as Cluster) : [idOf(client as Redis)]),
    connect: (server, events) => connect(nodeOf(server), events),
  };
}

/**
 * The masters that own the Cluster's slots, from ioredis's slot table: every
 * slot must have an owner among its connected masters. ioredis drops a dead
 * master from its pool without refreshing the slot table, so `nodes("master")`
 * alone would leave the slots of a promoted replica untracked: then this
 * throws (tracking retries) and asks ioredis to refresh its slots.
 */
function clusterMasters(cluster: Cluster): string[] {
  const masters = new Set(cluster.nodes("master").map(idOf));
  const owners = new Set<string>();
  let unowned = 0;
  for (let slot = 0; slot < 16384; slot++) {
    const owner = cluster.slots[slot]?.[0];
    if (owner === undefined || !masters.has(owner)) unowned += 1;
    else owners.add(owner);
  }
  if (unowned > 0 || owners.size === 0) {
    cluster.refreshSlotsCache();
    throw new Error(`${unowned} of the cluster's 16384 slots have no connected master in ioredis's slot table (refreshing it)`);
  }
  return [...owners];
}

async function connect(node: Redis, events: TrackingConnectionEvents): Promise<TrackingConnection> {
  const settings: RedisOptions = {
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: true,
    autoResubscribe: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    reconnectOnError: null,
    connectionName: "protocache-tracking",
    keyPrefix: "",
  };
  const connection = node.duplicate(settings);
  let closed = false;
  let firstError: Error | undefined;
  const down = (error?: Error): void => {
    if (closed) return;
    closed = true;
    connection.disconnect();
    events.down(error);
  };
  connection.on("error", (error: Error) => {
    firstError ??= error;
    down(error);
  });
  connection.on("close", () => down(undefined));
  connection.on("messageBuffer", (_channel: Buffer, message: unknown) => events.keys(message as Buffer[] | null));
  try {
    await connection.connect();
  } catch (error) {
    closed = true;
    connection.disconnect();
    // ioredis rejects connect() with "Connection is closed."; the socket's own error says why.
    throw firstError ?? error;
  }
  (connection as unknown as { stream?: { unref?(): void } }).stream?.unref?.();
  return {
    command: ([name, ...args]) => connection.call(name as string, ...args),
    subscribe: async (channel) => void (await connection.subscribe(channel)),
    ping: () => connection.ping(),
    close: () => {
      closed = true;
      connection.disconnect();
    },
  };
}

/**
 * Redis tracking (server-assisted client-side caching) on connections of
 * their own beside an ioredis client: what `RedisStore.tracking()` returns,
 * made once per store. Make one yourself to give an L1 over another store
 * (a GlideStore) invalidations of the same servers.
 *
 * @example
 * ```ts
 * const tracking = ioredisTracking(new Redis(url));
 * const users = userCache(new GlideStore(glide), { l1: { maxEntries: 10_000, maxBytes: 64 << 20, tracking } });
 * ```
 */
export function ioredisTracking(client: IoredisClient, options?: TrackingOptions): RedisTracking {
  return new RedisTracking(ioredisTrackingDriver(client), options);
}
