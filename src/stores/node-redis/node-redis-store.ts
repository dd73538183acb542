import { ConfigError } from "../../errors.js";
import { describeClient } from "../clients.js";
import type { RedisStoreOptions } from "../redis/compare.js";
import { RedisCacheStore } from "../redis/redis-cache-store.js";
import { isNodeRedisClient, type NodeRedisClient, type NodeRedisCluster } from "./client.js";
import { nodeRedisTransport } from "./transport.js";

/**
 * The store over a node-redis client or cluster (`createClient` /
 * `createCluster` from the `redis` package, connected by the caller): the
 * one Redis store ({@link RedisCacheStore}) over node-redis's transport.
 * node-redis pipelines the commands of one event-loop turn, so a batch is
 * one round trip per server and 1000 keys read or 250 values written.
 *
 * Recommended client settings are in docs/operations.md: protocache's own
 * per-call deadline lets a service turn node-redis's per-command timeout off
 * (`commandOptions: { timeout: 0 }`), its costliest default.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { NodeRedisStore } from "protocache";
 * const client = await createClient({ url, commandOptions: { timeout: 0 } }).connect();
 * const users = userCache(new NodeRedisStore(client));
 * ```
 */
export class NodeRedisStore extends RedisCacheStore {
  /** The client the store was made with. */
  readonly client: NodeRedisClient | NodeRedisCluster;

  constructor(client: NodeRedisClient | NodeRedisCluster, options?: RedisStoreOptions) {
    if (!isNodeRedisClient(client)) throw new ConfigError("client", `expected a node-redis client (createClient or createCluster), got ${describeClient(client)}`);
    super(nodeRedisTransport(client), options);
    this.client = client;
  }
}
