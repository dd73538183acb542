/**
 * An ioredis `Redis` or `Cluster` client, as `RedisStore` takes it.
 * Structural (the methods the store checks for), so that protocache's types
 * compile in a service that uses another client and never installs ioredis.
 */
export interface IoredisClient {
  /** ioredis's `GET` returning a Buffer. */
  getBuffer(...args: never[]): unknown;
  /** ioredis's `MGET` returning Buffers. */
  mgetBuffer(...args: never[]): unknown;
  /** A new pipeline (batches and operations). */
  pipeline(...args: never[]): unknown;
  /** Runs a cached Lua script (guarded writes, compare-and-set). */
  evalsha(...args: never[]): unknown;
}

/** True for an ioredis `Redis` or `Cluster` (what `RedisStore` wraps). */
export function isIoredisClient(client: unknown): client is IoredisClient {
  return typeof client === "object" && client !== null && ["getBuffer", "mgetBuffer", "pipeline", "evalsha", "callBuffer"].every((m) => typeof (client as Record<string, unknown>)[m] === "function");
}
