import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCache, newSession } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { RedisStore } from "../../src/stores/redis-store.js";
import { newerUserEntry, userR1Entry } from "../support/entries.js";
import { uniquePrefix } from "../support/redis-client.js";
import { startRedisCluster, type RedisClusterProcess } from "../support/redis-server.js";

let cluster: RedisClusterProcess | undefined;
let client: Cluster;
let startupNodes: { host: string; port: number }[];

beforeAll(async () => {
  const external = process.env["REDIS_CLUSTER_NODES"];
  const nodes = external !== undefined && external !== ""
    ? external.split(",").map((hp) => ({ host: hp.split(":")[0] ?? "127.0.0.1", port: Number(hp.split(":")[1]) }))
    : (cluster = await startRedisCluster(3)).nodes.map((n) => ({ host: "127.0.0.1", port: n.port }));
  startupNodes = nodes;
  client = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 1 } });
  await new Promise<void>((resolve, reject) => {
    client.once("ready", resolve);
    client.once("error", reject);
  });
}, 60_000);

afterAll(async () => {
  await client?.quit();
  await cluster?.stop();
});

const user = (id: string): User => ({ id, name: `n${id}`, email: "", fullName: "", verified: false, locale: "" });

describe("accessors on a real 3-master Redis Cluster", () => {
  it("spreads keys over every master (no user input picks a slot)", async () => {
    const prefix = uniquePrefix();
    const users = userCache(new RedisStore(client), { prefix });
    await users.setMany(Array.from({ length: 60 }, (_, i) => user(`{same}${i}`)));
    const perNode = await Promise.all(client.nodes("master").map((n) => n.dbsize()));
    expect(perNode.filter((n) => n > 0)).toHaveLength(3);
  });

  it("getMany of 100 keys: one pipeline per master, results in order", async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore(client);
    const users = userCache(store, { prefix });
    const values = Array.from({ length: 100 }, (_, i) => user(`u${i}`));
    expect(await users.setMany(values)).toEqual(values.map(() => "written"));
    let pipelines = 0;
    const original = client.pipeline.bind(client);
    client.pipeline = ((...args: Parameters<Cluster["pipeline"]>) => {
      pipelines++;
      return original(...args);
    }) as Cluster["pipeline"];
    try {
      const read = await users.getMany([...values.map((u) => ({ id: u.id })), { id: "missing" }]);
      expect(read).toEqual([...values, undefined]);
    } finally {
      client.pipeline = original;
    }
    expect(pipelines).toBe(3);
  });

  it("batches keys by the slot of ioredis's keyPrefix + key", async () => {
    const prefixed = new Cluster(startupNodes, { keyPrefix: `${uniquePrefix()}`, redisOptions: { maxRetriesPerRequest: 1 } });
    await new Promise<void>((resolve) => prefixed.once("ready", resolve));
    try {
      const users = userCache(new RedisStore(prefixed));
      const values = Array.from({ length: 20 }, (_, i) => user(`p${i}`));
      expect(await users.setMany(values)).toEqual(values.map(() => "written"));
      expect(await users.getMany(values.map((u) => ({ id: u.id })))).toEqual(values);
    } finally {
      await prefixed.quit();
    }
  });

  it("resends scripts after SCRIPT FLUSH on every master", async () => {
    const prefix = uniquePrefix();
    const users = userCache(new RedisStore(client), { prefix });
    await Promise.all(client.nodes("master").map((n) => n.script("FLUSH")));
    const values = Array.from({ length: 12 }, (_, i) => user(`f${i}`));
    expect(await users.setMany(values)).toEqual(values.map(() => "written"));
    await Promise.all(client.nodes("master").map((n) => n.script("FLUSH")));
    expect(await users.set(user("single"))).toBe("written");
  });

  it("upgrades, guards and deletes across slots", async () => {
    const prefix = uniquePrefix();
    const users = userCache(new RedisStore(client), { prefix, writeBack: true });
    await client.set(`${prefix}user:v1:old`, userR1Entry({ id: "old", name: "Grace", email: "g" }), "EX", 300);
    expect(await users.get({ id: "old" })).toMatchObject({ fullName: "Unknown", locale: "en-US" });
    await expect.poll(() => users.stats().writes.written_back).toBe(1);
    expect(await client.ttl(`${prefix}user:v1:old`)).toBeGreaterThan(290);
    await client.set(`${prefix}user:v1:new`, newerUserEntry({ id: "new", nickname: "x" }));
    expect(await users.setMany([user("new"), user("fresh")])).toEqual(["guarded", "written"]);
    expect(await users.delete({ id: "fresh" })).toBe(true);
    const sessions = sessionCache(new RedisStore(client), { prefix });
    await sessions.set({ ...newSession(), tenantId: "t", sessionId: "s" });
    expect(await sessions.get({ tenantId: "t", sessionId: "s" })).toMatchObject({ tenantId: "t" });
  });
});
