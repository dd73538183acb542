import type { Cluster, Redis } from "ioredis";
import { ConfigError } from "../../errors.js";
import { describeClient } from "../clients.js";
import type { RedisStoreOptions } from "../redis/compare.js";
import { RedisCacheStore } from "../redis/redis-cache-store.js";
import { isIoredisClient, type IoredisClient } from "./client.js";
import { ioredisTransport } from "./transport.js";

/**
 * The store over an ioredis `Redis` or `Cluster` client: the one Redis
 * store ({@link RedisCacheStore}: batches of one round trip per server and
 * 1000 keys read or 250 values written, scripts, IFEQ on Redis 8.4+) over
 * ioredis's transport. Recommended client settings are in
 * docs/operations.md.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisStore } from "protocache";
 * const users = userCache(new RedisStore(new Redis(url, { maxRetriesPerRequest: 1 })));
 * ```
 */
export class RedisStore<C extends IoredisClient = IoredisClient> extends RedisCacheStore {
  /** The client the store was made with, with its own type. */
  readonly client: C;

  constructor(client: C, options?: RedisStoreOptions) {
    if (!isIoredisClient(client)) throw new ConfigError("client", `expected an ioredis Redis or Cluster client, got ${describeClient(client)}`);
    super(ioredisTransport(client as unknown as Redis | Cluster), options);
    this.client = client;
  }
}
