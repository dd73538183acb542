import { RedisTracking, type TrackingConnection, type TrackingConnectionEvents, type TrackingDriver, type TrackingOptions } from "../../l1/redis-tracking.js";
import { isNodeRedisCluster, type NodeRedisClient, type NodeRedisCluster } from "./client.js";

/** What tracking needs of a node-redis client beyond the store's: structural, like the store's own types. */
interface DuplicableClient {
  readonly options?: { readonly socket?: Record<string, unknown> } | undefined;
  duplicate(overrides: Record<string, unknown>): TrackedClient;
}

interface TrackedClient {
  on(event: "error" | "end", listener: (error?: Error) => void): unknown;
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: unknown) => void, bufferMode: true): Promise<unknown>;
  ping(): Promise<unknown>;
  destroy(): unknown;
  unref?(): unknown;
}

/**
 * Tracking connections of a node-redis client or cluster: `duplicate()` of
 * the client (on a cluster, of each master's own client) with RESP2 and no
 * reconnect strategy (RedisTracking reconnects itself after flushing L1).
 */
export function nodeRedisTrackingDriver(client: NodeRedisClient | NodeRedisCluster): TrackingDriver {
  const cluster = isNodeRedisCluster(client) ? client : undefined;
  const masters = (): { host: string; port: number }[] => (cluster?.masters ?? []) as { host: string; port: number }[];
  const nodeOf = async (server: string): Promise<DuplicableClient> => {
    if (cluster === undefined) return client as unknown as DuplicableClient;
    const master = masters().find((m) => `${m.host}:${m.port}` === server);
    if (master === undefined || cluster.nodeClient === undefined) throw new Error(`${server} is no longer a master of the cluster`);
    return (await cluster.nodeClient(master as never)) as unknown as DuplicableClient;
  };
  return {
    client: "node-redis",
    keyPrefix: "",
    servers: async () => (cluster === undefined ? [standaloneId(client as unknown as DuplicableClient)] : masters().map((m) => `${m.host}:${m.port}`)),
    connect: async (server, events) => connect(await nodeOf(server), events),
  };
}

function standaloneId(client: DuplicableClient): string {
  const socket = client.options?.socket ?? {};
  return `${String(socket["host"] ?? "localhost")}:${String(socket["port"] ?? 6379)}`;
}

async function connect(node: DuplicableClient, events: TrackingConnectionEvents): Promise<TrackingConnection> {
  const connection = node.duplicate({ RESP: 2, maintNotifications: "disabled", name: "protocache-tracking", socket: { ...(node.options?.socket ?? {}), reconnectStrategy: false }, clientSideCache: undefined, emitInvalidate: false });
  let closed = false;
  const close = (): void => {
    closed = true;
    void Promise.resolve()
      .then(() => connection.destroy())
      .catch(() => undefined);
  };
  const down = (error?: Error): void => {
    if (closed) return;
    close();
    events.down(error);
  };
  connection.on("error", (error) => down(error));
  connection.on("end", () => down(undefined));
  try {
    await connection.connect();
  } catch (error) {
    close();
    throw error;
  }
  connection.unref?.();
  return {
    command: (args) => connection.sendCommand([...args]),
    subscribe: async (channel) => void (await connection.subscribe(channel, (message) => events.keys(message as Buffer[] | null), true)),
    ping: () => connection.ping(),
    close,
  };
}

/**
 * Redis tracking (server-assisted client-side caching) on connections of
 * their own beside a node-redis client or cluster: what
 * `NodeRedisStore.tracking()` returns, made once per store.
 *
 * @example
 * ```ts
 * const tracking = nodeRedisTracking(await createClient({ url }).connect());
 * const users = userCache(store, { l1: { maxEntries: 10_000, maxBytes: 64 << 20, tracking } });
 * ```
 */
export function nodeRedisTracking(client: NodeRedisClient | NodeRedisCluster, options?: TrackingOptions): RedisTracking {
  return new RedisTracking(nodeRedisTrackingDriver(client), options);
}
