import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { MemoryStore } from "../../src/stores/memory-store.js";
import { NodeRedisStore } from "../../src/stores/node-redis-store.js";
import { RedisStore } from "../../src/stores/redis-store.js";
import type { CacheStore } from "../../src/stores/store.js";

/** Every store protocache ships, each against the run's servers: the one spec runs over all of them. */
export const backendNames = ["ioredis standalone", "ioredis cluster", "node-redis standalone", "node-redis cluster", "memory"] as const;
export type BackendName = (typeof backendNames)[number];

/**
 * Direct access to what a backend stores, for planting entries other code
 * wrote and checking what protocache wrote. Redis backends go through a
 * separate ioredis connection, never through the store under test.
 */
export interface RawAccess {
  set(key: string, value: string | Buffer, ttlSeconds?: number): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  /** Remaining TTL in seconds: -1 without expiry, -2 when absent (like TTL). */
  ttl(key: string): Promise<number>;
  /** Absolute expiry in epoch ms: -1 without expiry, -2 when absent (like PEXPIRETIME). */
  expireTime(key: string): Promise<number>;
  /** Makes `key` hold a Redis hash (a wrong-type reply for GET); absent on MemoryStore. */
  readonly setWrongType: ((key: string) => Promise<void>) | undefined;
  /** SCRIPT FLUSH on every server (a restart's effect on cached scripts); a no-op on MemoryStore. */
  scriptFlush(): Promise<void>;
}

/** One backend as a test sees it. */
export interface Backend {
  readonly name: BackendName;
  readonly store: CacheStore;
  readonly raw: RawAccess;
  /** Servers a batch can touch: its round trips are at most this many. 0 for MemoryStore. */
  readonly servers: number;
  readonly cluster: boolean;
  /** The client under the store (ioredis Redis/Cluster, node-redis client/cluster), undefined for memory. */
  readonly client: unknown;
}

/** Seed nodes of the run's cluster. */
export function clusterNodes(): { host: string; port: number }[] {
  return inject("redisClusterNodes")
    .split(",")
    .map((hp) => {
      const [host = "127.0.0.1", port = "0"] = hp.split(":");
      return { host, port: Number(port) };
    });
}

/** A connected ioredis Cluster client of the run's cluster. */
export async function connectIoredisCluster(options: ConstructorParameters<typeof Cluster>[1] = {}): Promise<Cluster> {
  const cluster = new Cluster(clusterNodes(), { redisOptions: { maxRetriesPerRequest: 1 }, ...options });
  await new Promise<void>((resolve, reject) => {
    cluster.once("ready", resolve);
    cluster.once("error", reject);
  });
  return cluster;
}

function redisRaw(client: Redis | Cluster): RawAccess {
  const masters = (): (Redis | Cluster)[] => (client instanceof Cluster ? client.nodes("master") : [client]);
  return {
    async set(key, value, ttlSeconds) {
      if (ttlSeconds === undefined) await client.set(key, value);
      else await client.set(key, value, "EX", ttlSeconds);
    },
    get: (key) => client.getBuffer(key),
    ttl: (key) => client.ttl(key),
    expireTime: async (key) => Number(await client.call("PEXPIRETIME", key)),
    setWrongType: async (key) => void (await client.hset(key, "a", "b")),
    scriptFlush: async () => void (await Promise.all(masters().map((n) => n.script("FLUSH")))),
  };
}

function memoryRaw(store: MemoryStore): RawAccess {
  return {
    async set(key, value, ttlSeconds) {
      store.setRaw(key, typeof value === "string" ? Buffer.from(value) : value, ttlSeconds ?? 0);
    },
    get: (key) => store.get(key),
    async ttl(key) {
      const ms = store.pttl(key);
      return ms < 0 ? ms : Math.ceil(ms / 1000);
    },
    async expireTime(key) {
      const ms = store.pttl(key);
      return ms < 0 ? ms : Date.now() + ms;
    },
    setWrongType: undefined,
    async scriptFlush() {},
  };
}

interface Opened {
  readonly backend: Backend;
  close(): Promise<void>;
}

async function open(name: BackendName): Promise<Opened> {
  const url = inject("redisUrl");
  switch (name) {
    case "memory": {
      const store = new MemoryStore();
      return { backend: { name, store, raw: memoryRaw(store), servers: 0, cluster: false, client: undefined }, close: async () => {} };
    }
    case "ioredis standalone": {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      return { backend: { name, store: new RedisStore(client), raw: redisRaw(client), servers: 1, cluster: false, client }, close: async () => void (await client.quit()) };
    }
    case "ioredis cluster": {
      const client = await connectIoredisCluster();
      return {
        backend: { name, store: new RedisStore(client), raw: redisRaw(client), servers: client.nodes("master").length, cluster: true, client },
        close: async () => void (await client.quit()),
      };
    }
    case "node-redis standalone": {
      const raw = new Redis(url, { maxRetriesPerRequest: 1 });
      const client = await createClient({ url }).on("error", () => {}).connect();
      return {
        backend: { name, store: new NodeRedisStore(client), raw: redisRaw(raw), servers: 1, cluster: false, client },
        close: async () => {
          client.destroy();
          await raw.quit();
        },
      };
    }
    case "node-redis cluster": {
      const raw = await connectIoredisCluster();
      const client = await createCluster({ rootNodes: clusterNodes().map((n) => ({ url: `redis://${n.host}:${n.port}` })) })
        .on("error", () => {})
        .connect();
      return {
        backend: { name, store: new NodeRedisStore(client), raw: redisRaw(raw), servers: client.masters.length, cluster: true, client },
        close: async () => {
          client.destroy();
          await raw.quit();
        },
      };
    }
  }
}

/**
 * The one spec over every backend (node-redis's `testAll` is the model):
 * declares `define` once per backend inside `describe("<backend>: title")`,
 * with the backend connected before and closed after. `define` receives a
 * getter, since the backend exists only once the hooks ran.
 */
export function describeEveryBackend(title: string, define: (backend: () => Backend) => void, only: readonly BackendName[] = backendNames): void {
  for (const name of only) {
    describe(`${name}: ${title}`, () => {
      let opened: Opened | undefined;
      beforeAll(async () => {
        opened = await open(name);
      });
      afterAll(async () => {
        await opened?.close();
      });
      define(() => {
        if (opened === undefined) throw new Error(`backend ${name} is not open`);
        return opened.backend;
      });
    });
  }
}
