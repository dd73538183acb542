import { NodeRedisStore, type NodeRedisClient, type NodeRedisCluster } from "../../src/index.js";

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

/** Parses `host:port,host:port`. */
export function parseNodes(text: string): { host: string; port: number }[] {
  const nodes = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (nodes.length === 0) throw new ConnectionError("--cluster needs host:port[,host:port…]");
  return nodes.map((node) => {
    const match = /^(.+):(\d{1,5})$/.exec(node);
    const port = Number(match?.[2]);
    if (match === null || port < 1 || port > 65_535) throw new ConnectionError(`--cluster: "${node}" is not host:port`);
    return { host: (match[1] as string).replace(/^\[(.*)\]$/, "$1"), port };
  });
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
  if (options.cluster !== undefined) {
    const nodes = parseNodes(options.cluster);
    target = `cluster ${options.cluster}`;
    const cluster = createCluster({ rootNodes: nodes.map((n) => ({ socket: { host: n.host, port: n.port, ...socket } })), defaults: { ...common, socket }, ...common });
    client = cluster;
    store = () => new NodeRedisStore(cluster as unknown as NodeRedisCluster);
  } else {
    const url = options.redis ?? process.env["REDIS_URL"];
    if (url === undefined || url === "") throw new ConnectionError("no Redis to connect to: pass --redis <url> or --cluster <host:port,…>, or set REDIS_URL");
    target = url.replace(/\/\/[^@/]*@/, "//***@");
    const single = createClient({ url, socket, ...common });
    client = single;
    store = () => new NodeRedisStore(single as unknown as NodeRedisClient);
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
  return { store: store(), target, close: () => client.destroy() };
}
