import { Redis } from "ioredis";
import { createEntityCache } from "../src/accessor/entity-cache.js";
import { internalsOf } from "../src/accessor/internals.js";
import { RedisStore } from "../src/stores/ioredis/ioredis-store.js";
import { startRedis } from "../test/support/redis-server.js";
import { fixtures, type Fixture } from "./fixtures.js";
import { compareThroughput, median } from "./harness.js";
import { withKey } from "./cases/accessor.js";
const server = await startRedis();
const redis = new Redis(server.url);
const store = new RedisStore(redis);
for (const fx of fixtures() as unknown as Fixture<unknown>[]) {
  const prefix = `p:${fx.entity.entity}:`;
  const plain = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600 });
  const frozen = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1: { maxEntries: 100000, maxBytes: 1 << 28, ttlSeconds: 3600 } });
  await internalsOf<unknown, never>(frozen)?.l1?.ready(5000);
  const f = (k: number, i: number) => withKey(fx, `${k}-${i % 16}`);
  for (let k = 0; k < 64; k++) for (let i = 0; i < 16; i++) await plain.set(f(k, i));
  await new Promise((r) => setTimeout(r, 500));
  for (let k = 0; k < 64; k++) for (let i = 0; i < 16; i++) await frozen.get(f(k, i) as never);
  console.log(fx.name, frozen.stats().l1.entries);
  const held = internalsOf<unknown, never>(frozen)!.l1!;
  const res = await compareThroughput({
    "noop": async () => undefined,
    "withKey": async (k, i) => f(k, i),
    "withKey+keyOf": async (k, i) => frozen.keyOf(f(k, i) as never),
    "keyOf+l1.get": async (k, i) => held.get(frozen.keyOf(f(k, i) as never)),
    "frozen.get": (k, i) => frozen.get(f(k, i) as never),
    "frozen.get c=1": (k, i) => frozen.get(f(k, i) as never),
  }, { rounds: 3, timeMs: 400, concurrency: 64, warmupMs: 200, yieldBetween: true });
  for (const [n, v] of res) console.log(n.padEnd(20), (1e9 / median(v)).toFixed(0), "ns/op");
  await plain.close(); await frozen.close();
}
redis.disconnect(); await server.stop();
