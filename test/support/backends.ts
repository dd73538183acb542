import { GlideClient, GlideClusterClient, Logger } from "@valkey/valkey-glide";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { GlideStore } from "../../src/stores/valkey-glide/glide-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { CacheStore } from "../../src/stores/store.js";
import type { InvalidationSource } from "../../src/l1/invalidation-source.js";
import { ioredisTracking } from "../../src/stores/ioredis/tracking-driver.js";

/** Every store protocache ships, each against the run's servers: the one spec runs over all of them. */
export const backendNames = ["ioredis standalone", "ioredis cluster", "node-redis standalone", "node-redis cluster", "valkey-glide standalone", "valkey-glide cluster", "valkey standalone", "valkey cluster", "memory"] as const;
export type BackendName = (typeof backendNames)[number];

/**
 * Direct access to what a backend stores, for planting entries other code
 * wrote and checking what protocache wrote. Redis backends go through a
 * separate ioredis connection, never through the store under test.
 */
export interface RawAccess {
  set(key: string, value: string | Buffer, ttlSeconds?: number): Promise<void>;
  /** Many sets, issued concurrently in chunks (fast seeding of large key spaces). */
  setMany(entries: readonly { key: string; value: string | Buffer; ttlSeconds?: number }[]): Promise<void>;
  /** Deletes keys (each on its own server). */
  del(keys: readonly string[]): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  /** Remaining TTL in seconds: -1 without expiry, -2 when absent (like TTL). */
  ttl(key: string): Promise<number>;
  /** Absolute expiry in epoch ms: -1 without expiry, -2 when absent (like PEXPIRETIME). */
  expireTime(key: string): Promise<number>;
  /** Makes `key` hold a Redis hash (a wrong-type reply for GET); absent on MemoryStore. */
  readonly setWrongType: ((key: string) => Promise<void>) | undefined;
  /** SCRIPT FLUSH on every server (a restart's effect on cached scripts); a no-op on MemoryStore. */
  scriptFlush(): Promise<void>;
  /**
   * Turns Redis's active expiry off (`DEBUG SET-ACTIVE-EXPIRE 0`) or back on
   * on every server; resolves false when a server refused (an external one
   * without `enable-debug-command`). Off, an expired key stays in memory and
   * no invalidation announces its expiry until a command touches it.
   * MemoryStore never expires actively: true, nothing to do.
   */
  activeExpiry(on: boolean): Promise<boolean>;
  /** CLIENT KILL of every connection named protocache-tracking on every server; how many. Absent on MemoryStore. */
  readonly killTracking: (() => Promise<number>) | undefined;
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
  /** What an L1 over this store watches: the store's own tracking, or (GLIDE, which has none) tracking over the raw ioredis client. */
  readonly tracking: InvalidationSource;
}

/** Seed nodes of the run's cluster (or of the run's Valkey cluster). */
export function clusterNodes(seeds = inject("redisClusterNodes")): { host: string; port: number }[] {
  return seeds
    .split(",")
    .map((hp) => {
      const [host = "127.0.0.1", port = "0"] = hp.split(":");
      return { host, port: Number(port) };
    });
}

/** A connected ioredis Cluster client of the run's cluster (or of the cluster at `seeds`). */
export async function connectIoredisCluster(options: ConstructorParameters<typeof Cluster>[1] = {}, seeds?: string): Promise<Cluster> {
  const cluster = new Cluster(clusterNodes(seeds), { redisOptions: { maxRetriesPerRequest: 1 }, ...options });
  await new Promise<void>((resolve, reject) => {
    cluster.once("ready", resolve);
    cluster.once("error", reject);
  });
  return cluster;
}

async function inChunks<T>(items: readonly T[], run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += 1000) await Promise.all(items.slice(i, i + 1000).map(run));
}

function redisRaw(client: Redis | Cluster): RawAccess {
  const masters = (): (Redis | Cluster)[] => (client instanceof Cluster ? client.nodes("master") : [client]);
  const set = async (key: string, value: string | Buffer, ttlSeconds?: number): Promise<void> => {
    if (ttlSeconds === undefined) await client.set(key, value);
    else await client.set(key, value, "EX", ttlSeconds);
  };
  return {
    set,
    setMany: (entries) => inChunks(entries, (e) => set(e.key, e.value, e.ttlSeconds)),
    del: (keys) => inChunks(keys, (k) => client.del(k)),
    get: (key) => client.getBuffer(key),
    ttl: (key) => client.ttl(key),
    expireTime: async (key) => Number(await client.call("PEXPIRETIME", key)),
    setWrongType: async (key) => void (await client.hset(key, "a", "b")),
    killTracking: async () => {
      let n = 0;
      for (const node of masters()) {
        const list = String(await node.call("CLIENT", "LIST", "TYPE", "pubsub"));
        for (const line of list.split("\n")) {
          const id = /^id=(\d+) .*name=protocache-tracking /.exec(line)?.[1];
          if (id !== undefined) n += Number(await node.call("CLIENT", "KILL", "ID", id));
        }
      }
      return n;
    },
    scriptFlush: async () => void (await Promise.all(masters().map((n) => n.script("FLUSH")))),
    activeExpiry: async (on) => {
      const replies = await Promise.all(masters().map((n) => n.call("DEBUG", "SET-ACTIVE-EXPIRE", on ? "1" : "0").then(() => true, () => false)));
      return replies.every(Boolean);
    },
  };
}

function memoryRaw(store: MemoryStore, clock: { last: number }): RawAccess {
  const set = (key: string, value: string | Buffer, ttlSeconds?: number): void => store.setRaw(key, typeof value === "string" ? Buffer.from(value) : value, ttlSeconds ?? 0);
  return {
    async set(key, value, ttlSeconds) {
      set(key, value, ttlSeconds);
    },
    async setMany(entries) {
      for (const e of entries) set(e.key, e.value, e.ttlSeconds);
    },
    async del(keys) {
      await store.delete(keys);
    },
    get: (key) => store.get(key),
    async ttl(key) {
      const ms = store.pttl(key);
      return ms < 0 ? ms : Math.ceil(ms / 1000);
    },
    async expireTime(key) {
      const ms = store.pttl(key); // reads the store's clock once: clock.last
      return ms < 0 ? ms : clock.last + ms;
    },
    setWrongType: undefined,
    killTracking: undefined,
    async scriptFlush() {},
    activeExpiry: async () => true,
  };
}

interface Opened {
  readonly backend: Backend;
  close(): Promise<void>;
}

// GLIDE's core logs every error reply at WARN on stdout; the specs provoke many.
Logger.setLoggerConfig("error");

/** GLIDE gives no invalidations (docs/l1.md): its L1s watch the same servers through the raw ioredis client. */
const glideTracking = (raw: Redis | Cluster): InvalidationSource => ioredisTracking(raw);

async function open(name: BackendName): Promise<Opened> {
  const valkey = inject("valkey");
  const url = name === "valkey standalone" && "url" in valkey ? valkey.url : inject("redisUrl");
  switch (name) {
    case "valkey standalone":
    case "valkey-glide standalone": {
      const raw = new Redis(url, { maxRetriesPerRequest: 1 });
      const { hostname, port } = new URL(url);
      const client = await GlideClient.createClient({ addresses: [{ host: hostname, port: Number(port || 6379) }], requestTimeout: 5000 });
      return {
        backend: { name, store: new GlideStore(client), raw: redisRaw(raw), servers: 1, cluster: false, client, tracking: glideTracking(raw) },
        close: async () => {
          client.close();
          await raw.quit();
        },
      };
    }
    case "valkey cluster":
    case "valkey-glide cluster": {
      const seeds = name === "valkey cluster" && "clusterNodes" in valkey ? valkey.clusterNodes : undefined;
      const raw = await connectIoredisCluster({}, seeds);
      const client = await GlideClusterClient.createClient({ addresses: clusterNodes(seeds), requestTimeout: 5000 });
      return {
        backend: { name, store: new GlideStore(client), raw: redisRaw(raw), servers: raw.nodes("master").length, cluster: true, client, tracking: glideTracking(raw) },
        close: async () => {
          client.close();
          await raw.quit();
        },
      };
    }
    case "memory": {
      const clock = { last: 0 };
      const store = new MemoryStore({ now: () => (clock.last = Date.now()) });
      return { backend: { name, store, raw: memoryRaw(store, clock), servers: 0, cluster: false, client: undefined, tracking: store.tracking() }, close: async () => {} };
    }
    case "ioredis standalone": {
      const client = new Redis(url, { maxRetriesPerRequest: 1 });
      const store = new RedisStore(client);
      return { backend: { name, store, raw: redisRaw(client), servers: 1, cluster: false, client, tracking: store.tracking() }, close: async () => void (await client.quit()) };
    }
    case "ioredis cluster": {
      const client = await connectIoredisCluster();
      return {
        backend: (({ store }) => ({ name, store, raw: redisRaw(client), servers: client.nodes("master").length, cluster: true, client, tracking: store.tracking() }))({ store: new RedisStore(client) }),
        close: async () => void (await client.quit()),
      };
    }
    case "node-redis standalone": {
      const raw = new Redis(url, { maxRetriesPerRequest: 1 });
      const client = await createClient({ url }).on("error", () => {}).connect();
      return {
        backend: (({ store }) => ({ name, store, raw: redisRaw(raw), servers: 1, cluster: false, client, tracking: store.tracking() }))({ store: new NodeRedisStore(client) }),
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
        backend: (({ store }) => ({ name, store, raw: redisRaw(raw), servers: client.masters.length, cluster: true, client, tracking: store.tracking() }))({ store: new NodeRedisStore(client) }),
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
  const valkey = inject("valkey");
  for (const name of only) {
    // The Valkey backends (GLIDE on Debian 13's valkey-server) need the run's Valkey servers.
    const skip = name.startsWith("valkey ") && "reason" in valkey;
    describe.skipIf(skip)(`${name}${name.startsWith("valkey ") && "version" in valkey ? ` ${valkey.version}` : ""}: ${title}`, () => {
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
