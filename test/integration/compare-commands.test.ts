import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { clusterNodes, connectIoredisCluster } from "../support/backends.js";
import { bulk, FakeRespServer } from "../support/fake-resp-server.js";
import { connectRedis } from "../support/redis-client.js";
import { startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from "../support/redis-server.js";
import { redis8Server } from "../support/redis8.js";
import { userR1Entry } from "../support/entries.js";

/**
 * Compare-and-set and compare-and-delete: `SET … IFEQ … KEEPTTL` and
 * `DELEX … IFEQ` on Redis 8.4+ (a real 8.x server from Debian, see
 * test/support/redis8.ts), Lua on older servers (the run's 7.0 server), and
 * the exact command shapes and the fallback against a fake RESP server.
 * PROTOCACHE_REQUIRE_REDIS8=1 (set by .ci/run) turns a missing 8.4+ server
 * into a failure instead of a skipped block.
 */
type StoreKind = "ioredis" | "node-redis";
const kinds: readonly StoreKind[] = ["ioredis", "node-redis"];

async function storeOn(kind: StoreKind, url: string, options?: { compare: "auto" | "lua" }): Promise<{ store: RedisStore | NodeRedisStore; close: () => Promise<void> }> {
  if (kind === "ioredis") {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    return { store: new RedisStore(client, options), close: async () => void client.disconnect() };
  }
  const client = await createClient({ url }).on("error", () => {}).connect();
  return { store: new NodeRedisStore(client, options), close: async () => void client.destroy() };
}

const found = redis8Server();
const required = process.env["PROTOCACHE_REQUIRE_REDIS8"] === "1";
if ("reason" in found && !required) console.warn(`no Redis 8.4+ server, its block is skipped: ${found.reason}`);

describe.skipIf("reason" in found && !required)("Redis 8.4+ (a real server): IFEQ instead of Lua", () => {
  let server: RedisProcess;
  beforeAll(async () => {
    if ("reason" in found) throw new Error(`PROTOCACHE_REQUIRE_REDIS8=1 but no Redis 8.4+ server: ${found.reason}`);
    server = await startRedis([], { server: found.server });
  });
  afterAll(async () => server?.stop());

  for (const kind of kinds) {
    it(`${kind}: detects IFEQ, replaces and deletes only on equal bytes, keeps the TTL and never creates a key, with no script run`, async () => {
      const { store, close } = await storeOn(kind, server.url);
      const raw = new Redis(server.url);
      try {
        await raw.config("RESETSTAT");
        expect(await store.compare.ready()).toBe("ifeq");
        await raw.set("k", "v1", "EX", 500);
        expect(await store.replaceIfEqual("k", Buffer.from("nope"), Buffer.from("v2"))).toBe(false);
        expect(await store.replaceIfEqual("k", Buffer.from("v1"), Buffer.from("v2"))).toBe(true);
        expect(await raw.get("k")).toBe("v2");
        expect(await raw.ttl("k")).toBeGreaterThan(490);
        expect(await store.replaceIfEqual("absent", Buffer.from("v1"), Buffer.from("v2"))).toBe(false);
        expect(await raw.exists("absent")).toBe(0);
        expect(await store.deleteIfEqual("k", Buffer.from("v1"))).toBe(false);
        expect(await store.deleteIfEqual("k", Buffer.from("v2"))).toBe(true);
        expect(await raw.exists("k")).toBe(0);
        const stats = await raw.info("commandstats");
        expect(stats).toMatch(/cmdstat_delex:calls=2/);
        expect(stats).not.toMatch(/cmdstat_eval/);
      } finally {
        await raw.flushall();
        raw.disconnect();
        await close();
      }
    });

    it(`${kind}: an accessor's write-back runs on a server whose ACL forbids every script`, async () => {
      const admin = new Redis(server.url);
      await admin.call("ACL", "SETUSER", "noscripts", "on", ">pw", "~*", "+@all", "-@scripting");
      const { store, close } = await storeOn(kind, `redis://noscripts:pw@127.0.0.1:${server.port}`);
      try {
        await store.compare.ready();
        await admin.set("user:v1:old", userR1Entry({ id: "old", name: "G", email: "g" }), "EX", 300);
        const users = userCache(store, { deadlineMs: 5000, guardWrites: false });
        await users.get({ id: "old" });
        await expect.poll(() => users.stats().writes.written_back).toBe(1);
        expect((await users.getEntry({ id: "old" })).outcome).toBe("hit");
        expect(await admin.ttl("user:v1:old")).toBeGreaterThan(290);
      } finally {
        await admin.flushall();
        await admin.call("ACL", "DELUSER", "noscripts");
        admin.disconnect();
        await close();
      }
    });
  }
});

describe("Redis 7.0 (the run's server): Lua", () => {
  for (const kind of kinds) {
    it(`${kind}: detection finds no DELEX and compare-and-set runs the script`, async () => {
      const redis = connectRedis();
      const url = `redis://127.0.0.1:${(redis.options.port as number) ?? 6379}`;
      const { store, close } = await storeOn(kind, url);
      try {
        expect(await store.compare.ready()).toBe("lua");
        const key = `cas-${kind}-${Date.now()}`;
        await redis.set(key, "a", "EX", 100);
        expect(await store.replaceIfEqual(key, Buffer.from("a"), Buffer.from("b"))).toBe(true);
        expect(await redis.get(key)).toBe("b");
        expect(await store.deleteIfEqual(key, Buffer.from("b"))).toBe(true);
      } finally {
        redis.disconnect();
        await close();
      }
    });
  }
});

describe.skipIf("reason" in found && !required)("Redis Cluster 8.4+ (three real masters): IFEQ on every master", () => {
  let cluster: RedisClusterProcess;
  beforeAll(async () => {
    if ("reason" in found) throw new Error(`PROTOCACHE_REQUIRE_REDIS8=1 but no Redis 8.4+ server: ${found.reason}`);
    cluster = await startRedisCluster(3, [], { server: found.server });
  });
  afterAll(async () => cluster?.stop());

  it("ioredis and node-redis clusters detect IFEQ on every master, and compare-and-set and -delete run it on each key's master with no script", async () => {
    const rootNodes = cluster.nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
    const io = new Cluster(rootNodes, { redisOptions: { maxRetriesPerRequest: 1 } });
    const nr = await createCluster({ rootNodes: rootNodes.map((n) => ({ url: `redis://${n.host}:${n.port}` })) }).on("error", () => {}).connect();
    try {
      for (const store of [new RedisStore(io), new NodeRedisStore(nr)]) {
        expect(await store.compare.ready()).toBe("ifeq");
        // 30 keys: every master owns some of them.
        const keys = Array.from({ length: 30 }, (_, i) => `cas8-${i}-${Math.random()}`);
        for (const key of keys) await io.set(key, "a", "EX", 100);
        for (const key of keys) {
          expect(await store.replaceIfEqual(key, Buffer.from("x"), Buffer.from("b"))).toBe(false);
          expect(await store.replaceIfEqual(key, Buffer.from("a"), Buffer.from("b"))).toBe(true);
        }
        expect(await io.get(keys[0] as string)).toBe("b");
        expect(await io.ttl(keys[0] as string)).toBeGreaterThan(90);
        for (const key of keys) expect(await store.deleteIfEqual(key, Buffer.from("b"))).toBe(true);
        expect(await io.exists(keys[29] as string)).toBe(0);
      }
      for (const node of cluster.nodes) {
        const raw = new Redis(node.url);
        const stats = await raw.info("commandstats").finally(() => raw.disconnect());
        expect(stats, `node ${node.port}`).toMatch(/cmdstat_delex:calls=\d+/);
        expect(stats, `node ${node.port}`).not.toMatch(/cmdstat_eval/);
      }
    } finally {
      io.disconnect();
      nr.destroy();
    }
  });
});

describe("Redis Cluster 7.0 (the run's cluster): detection asks every master", () => {
  it("ioredis and node-redis clusters detect no DELEX, and compare-and-set runs the script on the key's master", async () => {
    const io = await connectIoredisCluster();
    const nr = await createCluster({ rootNodes: clusterNodes().map((n) => ({ url: `redis://${n.host}:${n.port}` })) }).on("error", () => {}).connect();
    try {
      for (const store of [new RedisStore(io), new NodeRedisStore(nr)]) {
        expect(await store.compare.ready()).toBe("lua");
        const key = `cas-cluster-${Math.random()}`;
        await io.set(key, "a", "EX", 100);
        expect(await store.replaceIfEqual(key, Buffer.from("a"), Buffer.from("b"))).toBe(true);
        expect(await io.get(key)).toBe("b");
        expect(await io.ttl(key)).toBeGreaterThan(90);
      }
    } finally {
      io.disconnect();
      nr.destroy();
    }
  });
});

describe("against a fake RESP server: exact command shapes, detection once, fallback to Lua", () => {
  const claimsDelex = "*1\r\n*1\r\n$5\r\ndelex\r\n";
  const info = bulk("# Server\r\nredis_version:8.4.0\r\nloading:0\r\n");

  for (const kind of kinds) {
    it(`${kind}: sends COMMAND INFO DELEX once, then SET key value IFEQ expected KEEPTTL and DELEX key IFEQ expected`, async () => {
      const fake = await FakeRespServer.start({ COMMAND: claimsDelex, INFO: info, SET: (c) => (c[4] === "old" ? "+OK\r\n" : "$-1\r\n"), DELEX: ":1\r\n" });
      const { store, close } = await storeOn(kind, `redis://127.0.0.1:${fake.port}`);
      try {
        expect(await store.compare.ready()).toBe("ifeq");
        expect(await store.replaceIfEqual("k", Buffer.from("old"), Buffer.from([0xc1, 0x00, 0xff]))).toBe(true);
        expect(await store.replaceIfEqual("k", Buffer.from("other"), Buffer.from("x"))).toBe(false);
        expect(await store.deleteIfEqual("k", Buffer.from([0xc1, 0x01]))).toBe(true);
        expect(fake.named("COMMAND")).toEqual([["COMMAND", "INFO", "DELEX"]]);
        expect(fake.named("SET")).toEqual([
          ["SET", "k", "\xc1\x00\xff", "IFEQ", "old", "KEEPTTL"],
          ["SET", "k", "x", "IFEQ", "other", "KEEPTTL"],
        ]);
        expect(fake.named("DELEX")).toEqual([["DELEX", "k", "IFEQ", "\xc1\x01"]]);
        expect(fake.named("EVALSHA")).toEqual([]);
      } finally {
        await close();
        await fake.stop();
      }
    });

    it(`${kind}: a server that refuses IFEQ (ERR syntax error) gets the Lua script, and the store stays on Lua`, async () => {
      const fake = await FakeRespServer.start({ COMMAND: claimsDelex, INFO: info, SET: "-ERR syntax error\r\n", EVALSHA: "-NOSCRIPT No matching script.\r\n", EVAL: ":1\r\n" });
      const { store, close } = await storeOn(kind, `redis://127.0.0.1:${fake.port}`);
      try {
        await store.compare.ready();
        expect(await store.replaceIfEqual("k", Buffer.from("a"), Buffer.from("b"))).toBe(true);
        expect(store.compare.path).toBe("lua");
        expect(await store.deleteIfEqual("k", Buffer.from("b"))).toBe(true);
        expect(fake.named("SET")).toHaveLength(1);
        expect(fake.named("DELEX")).toEqual([]);
        expect(fake.named("EVAL")).toHaveLength(2);
      } finally {
        await close();
        await fake.stop();
      }
    });

    it(`${kind}: compare: "lua" never asks the server and always runs the script`, async () => {
      const fake = await FakeRespServer.start({ COMMAND: claimsDelex, INFO: info, EVALSHA: ":1\r\n" });
      const { store, close } = await storeOn(kind, `redis://127.0.0.1:${fake.port}`, { compare: "lua" });
      try {
        expect(await store.compare.ready()).toBe("lua");
        expect(await store.replaceIfEqual("k", Buffer.from("a"), Buffer.from("b"))).toBe(true);
        expect(fake.named("COMMAND")).toEqual([]);
        expect(fake.named("EVALSHA")).toHaveLength(1);
      } finally {
        await close();
        await fake.stop();
      }
    });
  }
});
