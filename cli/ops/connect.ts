import { ConfigError, NodeRedisStore, type NodeRedisClient, type NodeRedisCluster } from "../../src/index.js";
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
  readonly store: NodeRedisStore;
  /** What was connected to, for messages. */
  readonly target: string;
  close(): void;
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
 * throughput of ioredis here, see docs/benchmarks.md): `--cluster` seed
 * nodes, else `--redis <url>`, else `REDIS_URL`. While a server is away,
 * commands fail at once (no offline queue) and the client reconnects on
 * its own; the operations send the failed batch again once it answers.
 */
export async function connect(options: ConnectionOptions): Promise<Connection> {
  if (options.redis !== undefined && options.cluster !== undefined) throw new ConnectionError("pass either --redis or --cluster, not both");
  const { createClient, createCluster } = await import("redis");
  const common = { commandOptions: { timeout: 0 }, disableOfflineQueue: true } as const;
  let connected = false;
  // Before the first connection, give up after a few tries (a wrong address is a usage error); after it, keep reconnecting.
  const reconnectStrategy = (retries: number, cause: Error): number | Error => (!connected && retries >= 2 ? cause : Math.min(50 * 2 ** retries, 1_000));
  const socket = { connectTimeout: 2_000, reconnectStrategy };
  let client: { connect(): Promise<unknown>; destroy(): void; on(event: "error", listener: (error: Error) => void): unknown };
  let store: () => NodeRedisStore;
  let target: string;
  let clusterNode = async (): Promise<boolean> => false;
  let suggestion = "";
  if (options.cluster !== undefined) {
    const nodes = checked(clusterNodes, options.cluster, "--cluster");
    target = `cluster ${options.cluster}`;
    const cluster = createCluster({ rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port, ...socket } })), defaults: { ...common, socket }, ...common });
    client = cluster;
    store = () => new NodeRedisStore(cluster as unknown as NodeRedisCluster);
  } else {
    const url = options.redis ?? process.env["REDIS_URL"];
    if (url === undefined || url === "") throw new ConnectionError("no Redis to connect to: pass --redis <url> or --cluster <host:port,…>, or set REDIS_URL");
    checked(redisUrl, url, options.redis === undefined ? "REDIS_URL" : "--redis");
    target = url.replace(/\/\/[^@/]*@/, "//***@");
    const single = createClient({ url, socket, ...common });
    client = single;
    store = () => new NodeRedisStore(single as unknown as NodeRedisClient);
    clusterNode = async () => /^cluster_enabled:1\b/m.test(String(await single.sendCommand(["INFO", "cluster"]).catch(() => "")));
    suggestion = hostPortOf(url);
  }
  let lastError: Error | undefined;
  client.on("error", (error: Error) => (lastError = error));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConnectionError(`cannot connect to ${target} within ${connectTimeoutMs} ms${lastError === undefined ? "" : `: ${lastError.message}`}`)), connectTimeoutMs);
  });
  try {
    await Promise.race([client.connect(), timeout]);
    connected = true;
  } catch (error) {
    client.destroy();
    throw error instanceof ConnectionError ? error : new ConnectionError(`cannot connect to ${target}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  // A standalone client on a Cluster node would see one node's keys only (and MOVED for the others): refused.
  if (await clusterNode()) {
    client.destroy();
    throw new ConnectionError(`${target} is a Redis Cluster node: pass --cluster ${suggestion} (any node of the cluster; the others are found from it) instead of --redis`);
  }
  return { store: store(), target, close: () => client.destroy() };
}
