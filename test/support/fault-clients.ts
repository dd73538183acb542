import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { CacheStore } from "../../src/stores/store.js";

/** A store on a client made the way a service would make it, and how to let go of it. */
export interface ClientUnderTest {
  readonly store: CacheStore;
  close(): Promise<void>;
}

/** The two client libraries, each with the settings under test (defaults unless given). */
export const clientKinds = ["ioredis", "node-redis"] as const;
export type ClientKind = (typeof clientKinds)[number];

/**
 * A client of one server. ioredis as the README used to show it (`new
 * Redis(url)`: retries, offline queue, no command timeout); node-redis with
 * its per-command timeout off, as docs/operations.md recommends: either
 * way only protocache's deadline bounds a call.
 */
export async function standaloneClient(kind: ClientKind, port: number, auth: { username?: string; password?: string } = {}): Promise<ClientUnderTest> {
  if (kind === "ioredis") {
    const client = new Redis({ port, host: "127.0.0.1", ...(auth.username === undefined ? {} : { username: auth.username }), ...(auth.password === undefined ? {} : { password: auth.password }) });
    client.on("error", () => {});
    return { store: new RedisStore(client), close: async () => client.disconnect() };
  }
  const client = createClient({ socket: { port, host: "127.0.0.1" }, commandOptions: { timeout: 0 }, ...auth });
  client.on("error", () => {});
  // With a refused AUTH, connect() never settles (node-redis keeps reconnecting): stop waiting after a while.
  await Promise.race([client.connect().catch(() => {}), new Promise((r) => setTimeout(r, 1_000))]);
  return { store: new NodeRedisStore(client), close: async () => void (client.isOpen ? client.destroy() : undefined) };
}

/** A client of a cluster, with each library's default settings (node-redis's command timeout off). */
export async function clusterClient(kind: ClientKind, ports: readonly number[]): Promise<ClientUnderTest> {
  if (kind === "ioredis") {
    const client = new Cluster(ports.map((port) => ({ host: "127.0.0.1", port })));
    client.on("error", () => {});
    await new Promise<void>((resolve) => client.once("ready", resolve));
    return { store: new RedisStore(client), close: async () => client.disconnect() };
  }
  const client = createCluster({
    rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
    commandOptions: { timeout: 0 },
  });
  client.on("error", () => {});
  await client.connect();
  return { store: new NodeRedisStore(client), close: async () => void client.destroy() };
}

/**
 * A client with docs/operations.md's recommended settings (timings
 * shortened for the test: `socketTimeout` and `pingInterval` of 1 s).
 */
export async function recommendedClient(kind: ClientKind, port: number): Promise<ClientUnderTest> {
  if (kind === "ioredis") {
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, socketTimeout: 1000 });
    client.on("error", () => {});
    await client.connect();
    return { store: new RedisStore(client), close: async () => client.disconnect() };
  }
  const client = createClient({
    socket: { port, host: "127.0.0.1" },
    commandOptions: { timeout: 0 },
    commandsQueueMaxLength: 100,
    disableOfflineQueue: true,
    pingInterval: 1000,
  });
  client.on("error", () => {});
  await client.connect();
  return { store: new NodeRedisStore(client), close: async () => void (client.isOpen ? client.destroy() : undefined) };
}
