import type { Cluster, Redis } from "ioredis";
import { RedisStore } from "../../src/index.js";

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
  readonly store: RedisStore;
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
 * Connects with ioredis: `--cluster` seed nodes, else `--redis <url>`, else
 * `REDIS_URL`. Commands fail fast while a server is away (one retry), and
 * the client reconnects on its own: the operations retry their batches.
 */
export async function connect(options: ConnectionOptions): Promise<Connection> {
  if (options.redis !== undefined && options.cluster !== undefined) throw new ConnectionError("pass either --redis or --cluster, not both");
  const { Redis, Cluster } = await import("ioredis");
  let client: Redis | Cluster;
  let target: string;
  const redisOptions = { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true };
  if (options.cluster !== undefined) {
    const nodes = parseNodes(options.cluster);
    target = `cluster ${options.cluster}`;
    client = new Cluster(nodes, { redisOptions, lazyConnect: true });
  } else {
    const url = options.redis ?? process.env["REDIS_URL"];
    if (url === undefined || url === "") throw new ConnectionError("no Redis to connect to: pass --redis <url> or --cluster <host:port,…>, or set REDIS_URL");
    target = url.replace(/\/\/[^@/]*@/, "//***@");
    client = new Redis(url, redisOptions);
  }
  let lastError: Error | undefined;
  client.on("error", (error: Error) => (lastError = error));
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new ConnectionError(`cannot connect to ${target} within ${connectTimeoutMs} ms${lastError === undefined ? "" : `: ${lastError.message}`}`)), connectTimeoutMs).unref());
  try {
    await Promise.race([client.connect(), timeout]);
  } catch (error) {
    client.disconnect();
    throw error instanceof ConnectionError ? error : new ConnectionError(`cannot connect to ${target}: ${(error as Error).message}`);
  }
  return { store: new RedisStore(client), target, close: () => client.disconnect() };
}
