import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";

/** Store constructors check their client (no server is contacted: nothing here connects). */
describe("store constructors", () => {
  const ioredis = new Redis({ lazyConnect: true });
  const ioCluster = new Cluster([{ host: "127.0.0.1", port: 1 }], { lazyConnect: true });
  const nodeRedis = createClient();
  const nodeCluster = createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] });

  it("accept the client each is made for", () => {
    expect(new RedisStore(ioredis).client).toBe(ioredis);
    expect(new RedisStore(ioCluster).client).toBe(ioCluster);
    expect(new NodeRedisStore(nodeRedis).client).toBe(nodeRedis);
    expect(new NodeRedisStore(nodeCluster).client).toBe(nodeCluster);
  });

  it.each([
    ["nothing", undefined, /invalid option client: expected an ioredis Redis or Cluster client, got undefined$/],
    ["null", null, /got null$/],
    ["a node-redis client", nodeRedis, /got a node-redis client: use new NodeRedisStore\(client\)/],
    ["a node-redis cluster", nodeCluster, /got a node-redis client: use new NodeRedisStore\(client\)/],
    ["a store", new MemoryStore(), /got a protocache store: pass the Redis client itself/],
    ["a URL", "redis://localhost", /got string "redis:\/\/localhost"/],
  ])("RedisStore rejects %s with a ConfigError naming the right store", (_, client, message) => {
    expect(() => new RedisStore(client as never)).toThrow(ConfigError);
    expect(() => new RedisStore(client as never)).toThrow(message);
  });

  it.each([
    ["nothing", undefined, /invalid option client: expected a node-redis client \(createClient or createCluster\), got undefined$/],
    ["an ioredis client", ioredis, /got an ioredis client: use new RedisStore\(client\)/],
    ["an ioredis cluster", ioCluster, /got an ioredis client: use new RedisStore\(client\)/],
    ["an object", { sendCommand: () => null }, /got object/],
  ])("NodeRedisStore rejects %s with a ConfigError naming the right store", (_, client, message) => {
    expect(() => new NodeRedisStore(client as never)).toThrow(ConfigError);
    expect(() => new NodeRedisStore(client as never)).toThrow(message);
  });
});
