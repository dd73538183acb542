import { ConfigError, NodeRedisStore, RedisStore, type NodeRedisClient, type NodeRedisCluster, type RedisCacheStore } from "../../src/index.js";
import type { Check } from "../../src/tools/index.js";
import { clusterNodes, optionLine, redisUrl } from "../options.js";

/** How to reach Redis, from the command line. */
export interface ConnectionOptions {
  readonly redis?: string | undefined;
  readonly cluster?: string | undefined;
}

/** Wrong or missing connection options, or a server that cannot be reached: exit code 2. */
export class ConnectionError extends Error {
  override readonly name = "ConnectionError";
}

/** A connected store and how to let go of it. */
export interface Connection {
  readonly store: RedisCacheStore;
  /** What was connected to, for messages. */
  readonly target: string;
  /** The client package connected with: `redis` (node-redis) or `ioredis`. */
  readonly client: "redis" | "ioredis";
  close(): void;
}

/** The Redis client packages found in the project (optional peers of protocache-gen): either will do. */
export interface RedisClientModules {
  readonly nodeRedis?: NodeRedisModule | undefined;
  readonly ioredis?: IoredisModule | undefined;
}

/** What the CLI uses of node-redis. */
export type NodeRedisModule = Pick<typeof import("redis"), "createClient" | "createCluster">;
/** What the CLI uses of ioredis. */
export type IoredisModule = Pick<typeof import("ioredis"), "Redis" | "Cluster">;

/** undefined when the package itself is not installed (a missing dependency of an installed one is an error to show). */
async function optionalImport<T>(name: string, load: () => Promise<T>): Promise<T | undefined> {
  try {
    return await load();
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if ((e.code === "ERR_MODULE_NOT_FOUND" || e.code === "MODULE_NOT_FOUND") && (e.message ?? "").includes(`'${name}'`)) return undefined;
    throw error;
  }
}

/** Imports node-redis and ioredis from the project, whichever are installed. */
export async function loadRedisClients(): Promise<RedisClientModules> {
  return { nodeRedis: await optionalImport("redis", () => import("redis")), ioredis: await optionalImport("ioredis", () => import("ioredis")) };
}

/** What `connect` does with either client. */
interface ClientHandle {
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: "error", listener: (error: Error) => void): unknown;
  store(): RedisCacheStore;
  /** True when a standalone connection reached a Cluster node. */
  clusterNode(): Promise<boolean>;
}

const connectTimeoutMs = 5_000;

/** A connection option checked by the CLI's checks (`--redis`, `--cluster`, `REDIS_URL`): a refusal is a ConnectionError of one line. */
function checked<T>(check: Check<T>, value: string, flag: string): T {
  try {
    return check(value, flag);
  } catch (error) {
    if (error instanceof ConfigError) throw new ConnectionError(optionLine(flag, value, error));
    throw error;
  }
}

/** `host:port` of a standalone URL, for the `--cluster` a Cluster node's message suggests. */
function hostPortOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port === "" ? "6379" : u.port}`;
  } catch {
    return "host:port";
  }
}

/**
 * Connects with node-redis (the `redis` package; about twice the bulk
 * throughput of ioredis here, see docs/benchmarks.md) when the project has
 * it, else with ioredis; neither is a dependency of protocache-gen (both
 * are optional peers), so a service uses the client it already has:
 * `--cluster` seed nodes, else `--redis <url>`, else `REDIS_URL`. While a
 * server is away, commands fail at once (no offline queue) and the client
 * reconnects on its own; the operations send the failed batch again once
 * it answers.
 */
export async function connect(options: ConnectionOptions, clients: () => Promise<RedisClientModules> = loadRedisClients): Promise<Connection> {
  if (options.redis !== undefined && options.cluster !== undefined) throw new ConnectionError("pass either --redis or --cluster, not both");
  let target: string;
  let where: Where;
  let suggestion = "";
  if (options.cluster !== undefined) {
    where = { nodes: checked(clusterNodes, options.cluster, "--cluster") };
    target = `cluster ${options.cluster}`;
  } else {
    const url = options.redis ?? process.env["REDIS_URL"];
    if (url === undefined || url === "") throw new ConnectionError("no Redis to connect to: pass --redis <url> or --cluster <host:port,…>, or set REDIS_URL");
    checked(redisUrl, url, options.redis === undefined ? "REDIS_URL" : "--redis");
    where = { url };
    target = url.replace(/\/\/[^@/]*@/, "//***@");
    suggestion = hostPortOf(url);
  }
  const { nodeRedis, ioredis } = await clients();
  if (nodeRedis === undefined && ioredis === undefined) {
    throw new ConnectionError("no Redis client installed: the operations commands connect with node-redis or ioredis (optional peers of protocache-gen); install one in this project, e.g. npm install -D redis (or ioredis, if your service uses it)");
  }
  let connected = false;
  // Before the first connection, give up after a few tries (a wrong address is a usage error); after it, keep reconnecting.
  const retry = (retries: number): number | undefined => (!connected && retries >= 2 ? undefined : Math.min(50 * 2 ** retries, 1_000));
  const handle = nodeRedis !== undefined ? nodeRedisHandle(nodeRedis, where, retry) : ioredisHandle(ioredis as IoredisModule, where, retry);
  let lastError: Error | undefined;
  handle.on("error", (error: Error) => (lastError = error));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionError(`cannot connect to ${target} within ${connectTimeoutMs} ms${lastError === undefined ? "" : `: ${lastError.message}`}`)), connectTimeoutMs);
  });
  try {
    await Promise.race([handle.connect(), timeout]);
    connected = true;
  } catch (error) {
    handle.destroy();
    throw error instanceof ConnectionError ? error : new ConnectionError(`cannot connect to ${target}: ${(lastError ?? (error as Error)).message}`);
  } finally {
    clearTimeout(timer);
  }
  // A standalone client on a Cluster node would see one node's keys only (and MOVED for the others): refused.
  if (await handle.clusterNode()) {
    handle.destroy();
    throw new ConnectionError(`${target} is a Redis Cluster node: pass --cluster ${suggestion} (any node of the cluster; the others are found from it) instead of --redis`);
  }
  return { store: handle.store(), target, client: nodeRedis !== undefined ? "redis" : "ioredis", close: () => handle.destroy() };
}

type Where = { readonly nodes: readonly { host: string; port: number }[] } | { readonly url: string };

/** node-redis: no per-command timeout (protocache's deadline bounds each call), no offline queue. */
function nodeRedisHandle(m: NodeRedisModule, where: Where, retry: (retries: number) => number | undefined): ClientHandle {
  const common = { commandOptions: { timeout: 0 }, disableOfflineQueue: true } as const;
  const reconnectStrategy = (retries: number, cause: Error): number | Error => retry(retries) ?? cause;
  const socket = { connectTimeout: 2_000, reconnectStrategy };
  if ("nodes" in where) {
    const cluster = m.createCluster({ rootNodes: where.nodes.map((n) => ({ socket: { host: n.host, port: n.port, ...socket } })), defaults: { ...common, socket }, ...common });
    return { connect: () => cluster.connect(), destroy: () => cluster.destroy(), on: (e, l) => cluster.on(e, l), store: () => new NodeRedisStore(cluster as unknown as NodeRedisCluster), clusterNode: async () => false };
  }
  const single = m.createClient({ url: where.url, socket, ...common });
  return {
    connect: () => single.connect(),
    destroy: () => single.destroy(),
    on: (e, l) => single.on(e, l),
    store: () => new NodeRedisStore(single as unknown as NodeRedisClient),
    clusterNode: async () => /^cluster_enabled:1\b/m.test(String(await single.sendCommand(["INFO", "cluster"]).catch(() => ""))),
  };
}

/** ioredis: connected explicitly (lazyConnect), no offline queue, the same reconnect policy. */
function ioredisHandle(m: IoredisModule, where: Where, retry: (retries: number) => number | undefined): ClientHandle {
  const retryStrategy = (times: number): number | null => retry(times - 1) ?? null;
  const common = { lazyConnect: true, enableOfflineQueue: false, connectTimeout: 2_000, maxRetriesPerRequest: 1, retryStrategy } as const;
  if ("nodes" in where) {
    const cluster = new m.Cluster(where.nodes.map((n) => ({ host: n.host, port: n.port })), { lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: retryStrategy, redisOptions: common });
    return { connect: () => cluster.connect(), destroy: () => cluster.disconnect(), on: (e, l) => cluster.on(e, l), store: () => new RedisStore(cluster), clusterNode: async () => false };
  }
  const single = new m.Redis(where.url, common);
  return {
    connect: () => single.connect(),
    destroy: () => single.disconnect(),
    on: (e, l) => single.on(e, l),
    store: () => new RedisStore(single),
    clusterNode: async () => /^cluster_enabled:1\b/m.test(await single.info("cluster").catch(() => "")),
  };
}
