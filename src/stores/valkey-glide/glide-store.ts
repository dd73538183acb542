import { ConfigError } from "../../errors.js";
import { describeClient } from "../clients.js";
import type { RedisStoreOptions } from "../redis/compare.js";
import { RedisCacheStore } from "../redis/redis-cache-store.js";
import { isGlideClient, type ValkeyGlideClient, type ValkeyGlideCluster } from "./client.js";
import { glideTransport } from "./transport.js";

/**
 * The store over a Valkey GLIDE client (`GlideClient` or
 * `GlideClusterClient` from `@valkey/valkey-glide`, the client AWS and the
 * Valkey project maintain; made and connected by the caller): the one
 * Redis store ({@link RedisCacheStore}) over GLIDE's transport
 * (`customCommand` with binary replies, non-atomic batches, a slot table
 * from CLUSTER SLOTS). Works with Valkey and Redis servers, standalone and
 * Cluster. GLIDE fails a request after its own `requestTimeout` (250 ms by
 * default); protocache's deadline still bounds every call.
 *
 * @example
 * ```ts
 * import { GlideClient } from "@valkey/valkey-glide";
 * import { GlideStore } from "protocache";
 * const client = await GlideClient.createClient({ addresses: [{ host: "cache", port: 6379 }] });
 * const users = userCache(new GlideStore(client));
 * ```
 */
export class GlideStore extends RedisCacheStore {
  /** The client the store was made with. */
  readonly client: ValkeyGlideClient | ValkeyGlideCluster;

  constructor(client: ValkeyGlideClient | ValkeyGlideCluster, options?: RedisStoreOptions) {
    if (!isGlideClient(client)) throw new ConfigError("client", `expected a Valkey GLIDE client (GlideClient or GlideClusterClient), got ${describeClient(client)}`);
    super(glideTransport(client), options);
    this.client = client;
  }
}
