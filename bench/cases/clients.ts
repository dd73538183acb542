import { Decoder, GlideClient, TimeUnit } from "@valkey/valkey-glide";
import { Redis } from "ioredis";
import { createClient, RESP_TYPES } from "redis";
import { guardedSet } from "../../src/stores/redis/scripts/guarded-set.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { CacheStore } from "../../src/stores/store.js";
import { GlideStore } from "../../src/stores/valkey-glide/glide-store.js";

/**
 * One Redis client as the benchmarks drive it: the protocache store over it,
 * and the hand-written calls a service would make with that client (the
 * baselines), all on the same connection.
 */
export interface BenchClient {
  readonly name: string;
  readonly store: CacheStore;
  setBuffer(key: string, value: Buffer, ttlSeconds: number): Promise<unknown>;
  getBuffer(key: string): Promise<Buffer | null>;
  setString(key: string, value: string, ttlSeconds: number): Promise<unknown>;
  getString(key: string): Promise<string | null>;
  /** EVALSHA of protocache's guard script with pre-encoded bytes: the floor of a guarded write. */
  guardedSet(key: string, value: Buffer, ttlSeconds: number, knownIds: Buffer): Promise<unknown>;
  close(): Promise<void>;
}

/** ioredis with the given options (defaults: what `new Redis(url)` gives). */
export function ioredisClient(
  url: string,
  name = "ioredis",
  options: { enableAutoPipelining?: boolean; commandTimeout?: number; maxRetriesPerRequest?: number; enableOfflineQueue?: boolean } = {},
): BenchClient {
  const redis = new Redis(url, options);
  return {
    name,
    store: new RedisStore(redis),
    setBuffer: (k, v, ttl) => redis.set(k, v, "EX", ttl),
    getBuffer: (k) => redis.getBuffer(k),
    setString: (k, v, ttl) => redis.set(k, v, "EX", ttl),
    getString: (k) => redis.get(k),
    guardedSet: (k, v, ttl, ids) => redis.evalsha(guardedSet.sha1, 1, k, v, String(ttl), ids, "1"),
    close: async () => redis.disconnect(),
  };
}

/**
 * node-redis (`createClient`), with its per-command timeout as given:
 * `undefined` keeps node-redis's default (5 s, an AbortSignal per command),
 * 0 turns it off as docs/operations.md recommends with protocache's deadline.
 * The baselines use `sendCommand`, node-redis's fastest path (its typed
 * commands, `client.get`, measured about 2× slower here), on a
 * `withTypeMapping` view for Buffers: the strictest floor.
 */
export async function nodeRedisClient(url: string, name: string, timeout: number | undefined): Promise<BenchClient> {
  const client = await createClient({ url, ...(timeout === undefined ? {} : { commandOptions: { timeout } }) }).connect();
  const buffers = client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  return {
    name,
    store: new NodeRedisStore(client),
    setBuffer: (k, v, ttl) => buffers.sendCommand(["SET", k, v, "EX", String(ttl)]),
    getBuffer: (k) => buffers.sendCommand<Buffer | null>(["GET", k]),
    setString: (k, v, ttl) => client.sendCommand(["SET", k, v, "EX", String(ttl)]),
    getString: (k) => client.sendCommand<string | null>(["GET", k]),
    guardedSet: (k, v, ttl, ids) => buffers.sendCommand(["EVALSHA", guardedSet.sha1, "1", k, v, String(ttl), ids, "1"]),
    close: async () => client.destroy(),
  };
}

/**
 * Valkey GLIDE (`GlideClient`). The baselines use `customCommand` with
 * `Decoder.Bytes` for Buffers (what the transport sends) and GLIDE's typed
 * `get`/`set` for strings: the raw client a service would call.
 */
export async function glideClient(url: string, name = "valkey-glide"): Promise<BenchClient> {
  const { hostname, port } = new URL(url);
  const client = await GlideClient.createClient({ addresses: [{ host: hostname, port: Number(port || 6379) }] });
  const bytes = { decoder: Decoder.Bytes };
  return {
    name,
    store: new GlideStore(client),
    setBuffer: (k, v, ttl) => client.customCommand(["SET", k, v, "EX", String(ttl)], bytes),
    getBuffer: (k) => client.customCommand(["GET", k], bytes) as Promise<Buffer | null>,
    setString: (k, v, ttl) => client.set(k, v, { expiry: { type: TimeUnit.Seconds, count: ttl } }),
    getString: (k) => client.get(k) as Promise<string | null>,
    guardedSet: (k, v, ttl, ids) => client.customCommand(["EVALSHA", guardedSet.sha1, "1", k, v, String(ttl), ids, "1"], bytes),
    close: async () => client.close(),
  };
}
