import { Redis } from "ioredis";
import { createClient, RESP_TYPES } from "redis";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { internalsOf } from "../../src/accessor/internals.js";
import { noopMetrics } from "../../src/metrics/sink.js";
import { census } from "../../src/ops/census.js";
import { migrate } from "../../src/ops/migrate.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { CacheStore } from "../../src/stores/store.js";
import { userR1Entry } from "../../test/support/entries.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";
import { atLeast, kops, ratioRow } from "./accessor.js";

/** Options of the operations cases. */
export interface OpsOptions {
  readonly keys: number;
  readonly rounds: number;
  /** Keys the naive loop handles (it is measured on a sample: at ~1k keys/s, 200k would take minutes). */
  readonly naiveSample: number;
}

const count = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function flush(redis: Redis): Promise<void> {
  await redis.flushdb();
}

/** Plants `n` revision-1 users (small entries), each with a TTL, under `user:v1:`. */
async function seedSmall(redis: Redis, n: number): Promise<void> {
  for (let i = 0; i < n; i += 5000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 5000); j++) p.set(`user:v1:${j}`, userR1Entry({ id: String(j), name: `user ${j}`, email: `u${j}@example.com` }), "EX", 3600 + (j % 600));
    await p.exec();
  }
}

/** Plants `n` current-revision users of about 1 KB each. */
async function seedLarge(redis: Redis, n: number): Promise<number> {
  const encoder = internalsOf<User>(userCache(new MemoryStore()));
  let size = 0;
  for (let i = 0; i < n; i += 5000) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 5000); j++) {
      const key = `user:v1:${j}`;
      const value = encoder?.encode({ id: String(j), name: "n".repeat(960), email: `u${j}@example.com`, fullName: "F", verified: true, locale: "en" }, key) as Buffer;
      size = value.length;
      p.set(key, value, "EX", 3600);
    }
    await p.exec();
  }
  return size;
}

/** SCAN over the whole key space, calling `batch` per page. */
async function scanAll(redis: Redis, match: string, scanCount: number, batch: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", match, "COUNT", scanCount);
    if (keys.length > 0) await batch(keys);
    cursor = next;
  } while (cursor !== "0");
}

/** The raw pipelined copy: SCAN, pipelined GET + PEXPIRETIME, pipelined SET PXAT XX, no decoding. */
async function rawCopy(redis: Redis): Promise<number> {
  let n = 0;
  await scanAll(redis, "user:v1:*", count, async (keys) => {
    const read = redis.pipeline();
    for (const k of keys) read.getBuffer(k).call("PEXPIRETIME", k);
    const replies = (await read.exec()) ?? [];
    const write = redis.pipeline();
    keys.forEach((k, i) => {
      const value = replies[i * 2]?.[1] as Buffer | null;
      const at = replies[i * 2 + 1]?.[1] as number;
      if (value === null) return;
      if (at > 0) write.set(k, value, "PXAT", at, "XX");
      else write.call("SET", k, value, "XX", "KEEPTTL");
    });
    await write.exec();
    n += keys.length;
  });
  return n;
}

type NodeRedis = Awaited<ReturnType<typeof connectNodeRedis>>;

async function connectNodeRedis(url: string) {
  const client = await createClient({ url, commandOptions: { timeout: 0 } }).connect();
  return client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/** The raw pipelined copy on node-redis: each batch's commands issued in one turn (node-redis writes them as one pipeline). */
async function rawCopyNodeRedis(client: NodeRedis, redis: Redis): Promise<number> {
  let n = 0;
  await scanAll(redis, "user:v1:*", count, async (keys) => {
    const replies = await Promise.all(keys.flatMap((k) => [client.sendCommand(["GET", k]), client.sendCommand(["PEXPIRETIME", k])]));
    await Promise.all(
      keys.map((k, i) => {
        const value = replies[i * 2] as unknown as Buffer | null;
        const at = replies[i * 2 + 1] as unknown as number;
        if (value === null) return undefined;
        return client.sendCommand(at > 0 ? ["SET", k, value, "PXAT", String(at), "XX"] : ["SET", k, value, "XX", "KEEPTTL"]);
      }),
    );
    n += keys.length;
  });
  return n;
}

/** The naive migration loop: SCAN COUNT 100, per key GET + TTL + SETEX (upgraded through the accessor's read path), 100 ms pause per 100 keys; stops after `limit` keys. */
async function naiveLoop(redis: Redis, limit: number): Promise<number> {
  const users = internalsOf<User>(userCache(new RedisStore(redis)));
  let n = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", "user:v1:*", "COUNT", 100);
    for (const k of keys) {
      const value = await redis.getBuffer(k);
      const ttl = await redis.ttl(k);
      if (value !== null && users !== undefined) {
        const seen = users.interpret(value);
        if (seen.outcome === "upgraded" && seen.value !== undefined) await redis.setex(k, Math.max(1, ttl), users.encode(seen.value, k));
      }
      n++;
      if (n % 100 === 0) await sleep(100);
      if (n >= limit) return n;
    }
    cursor = next;
  } while (cursor !== "0");
  return n;
}

async function timed(work: () => Promise<number>): Promise<number> {
  const started = performance.now();
  const n = await work();
  return n / ((performance.now() - started) / 1000);
}

function row(caseName: string, entity: string, subject: string, baseline: string, ratios: number[], goal: Goal, detail: string): BenchRow {
  const ratio = median(ratios);
  return { case: caseName, entity, subject, baseline, goal, ratio, pass: passes(goal, ratio), detail };
}

/**
 * migrate of 200k small entries (revision 1 → 2) against the naive loop
 * (measured on a sample: its rate is set by its pauses) and against the
 * raw pipelined copy (no decoding), each round on freshly seeded data, on
 * a server of its own.
 */
export async function migrateCases(url: string, options: OpsOptions): Promise<BenchRow[]> {
  const redis = new Redis(url);
  const nodeRedis = await connectNodeRedis(url);
  const clients: { name: string; store: CacheStore; raw: () => Promise<number> }[] = [
    { name: "node-redis", store: new NodeRedisStore(nodeRedis as never), raw: () => rawCopyNodeRedis(nodeRedis, redis) },
    { name: "ioredis", store: new RedisStore(redis), raw: () => rawCopy(redis) },
  ];
  const migrateRates = new Map<string, number[]>(clients.map((c) => [c.name, []]));
  const rawRates = new Map<string, number[]>(clients.map((c) => [c.name, []]));
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const c of round % 2 === 0 ? clients : [...clients].reverse()) {
        await flush(redis);
        await seedSmall(redis, options.keys);
        rawRates.get(c.name)?.push(await timed(c.raw));
        migrateRates.get(c.name)?.push(await timed(async () => (await migrate(userCache(c.store), { count })).counts.migrated));
      }
    }
    await flush(redis);
    await seedSmall(redis, options.naiveSample);
    const naive = await timed(() => naiveLoop(redis, options.naiveSample));
    const entity = `user, ${options.keys / 1000}k small entries`;
    return clients.flatMap((c) => {
      const m = migrateRates.get(c.name) ?? [];
      const r = rawRates.get(c.name) ?? [];
      return [
        row(`migrate on ${c.name} vs naive loop (ioredis; SCAN COUNT 100; per key GET + TTL + SETEX; 100 ms pause per 100 keys)`, entity, `migrate(userCache(${c.name} store))`, "naive loop", m.map((v) => v / naive), atLeast(50), `${kops(median(m))} vs ${kops(naive)} keys/s (naive loop measured on ${options.naiveSample} keys)`),
        row(`migrate on ${c.name} vs raw pipelined copy on ${c.name} (SCAN + pipelined GET/PEXPIRETIME + SET PXAT XX, no decoding)`, entity, `migrate(userCache(${c.name} store))`, "raw pipelined copy", m.map((v, i) => v / (r[i] ?? 1)), atLeast(0.6), `${kops(median(m))} vs ${kops(median(r))} keys/s`),
      ];
    });
  } finally {
    await flush(redis);
    redis.disconnect();
    nodeRedis.destroy();
  }
}

async function outputBytes(redis: Redis): Promise<number> {
  const info = await redis.info("stats");
  return Number(/total_net_output_bytes:(\d+)/.exec(info)?.[1] ?? 0);
}

/**
 * census of 200k ~1 KB entries against SCAN + pipelined full GET, and
 * against SCAN + pipelined GETRANGE 0 6 + STRLEN (the header-only way
 * without a script): keys/s, and bytes the server sent (INFO
 * total_net_output_bytes), SCAN replies included.
 */
export async function censusCases(url: string, options: OpsOptions): Promise<BenchRow[]> {
  const redis = new Redis(url);
  const store = new RedisStore(redis);
  const rates = new Map<string, number[]>([["census", []], ["full GET", []], ["GETRANGE", []]]);
  const sent = new Map<string, number[]>([["census", []], ["full GET", []], ["GETRANGE", []]]);
  try {
    await flush(redis);
    const size = await seedLarge(redis, options.keys);
    const contenders: Record<string, () => Promise<number>> = {
      census: async () => (await census(userCache(store), { count })).scanned,
      "full GET": async () => {
        let n = 0;
        await scanAll(redis, "user:v1:*", count, async (keys) => {
          const p = redis.pipeline();
          for (const k of keys) p.getBuffer(k);
          n += ((await p.exec()) ?? []).length;
        });
        return n;
      },
      GETRANGE: async () => {
        let n = 0;
        await scanAll(redis, "user:v1:*", count, async (keys) => {
          const p = redis.pipeline();
          for (const k of keys) p.getrangeBuffer(k, 0, 6).strlen(k);
          n += ((await p.exec()) ?? []).length / 2;
        });
        return n;
      },
    };
    for (let round = 0; round < options.rounds; round++) {
      const names = Object.keys(contenders);
      for (const name of names.map((_, i) => names[(i + round) % names.length] as string)) {
        const before = await outputBytes(redis);
        rates.get(name)?.push(await timed(contenders[name] as () => Promise<number>));
        sent.get(name)?.push((await outputBytes(redis)) - before);
      }
    }
    const entity = `user, ${options.keys / 1000}k entries of ${size} B`;
    const m = (map: Map<string, number[]>, name: string) => median(map.get(name) ?? []);
    const ratios = (map: Map<string, number[]>, a: string, b: string, invert = false) =>
      (map.get(a) ?? []).map((v, i) => (invert ? (map.get(b)?.[i] ?? 0) / v : v / (map.get(b)?.[i] ?? 1)));
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
    return [
      row("census (SCAN + header tally in one script per step) vs SCAN + pipelined full GET: keys/s", entity, "census(userCache(store))", "SCAN + pipelined GET", ratios(rates, "census", "full GET"), atLeast(1.8), `${kops(m(rates, "census"))} vs ${kops(m(rates, "full GET"))} keys/s`),
      row("census vs SCAN + pipelined full GET: bytes the server sent (SCAN replies included)", entity, "census(userCache(store))", "SCAN + pipelined GET", ratios(sent, "census", "full GET", true), { kind: "fewer-at-least", target: 100 }, `${mb(m(sent, "census"))} vs ${mb(m(sent, "full GET"))}`),
      row("census vs SCAN + pipelined GETRANGE 0 6 + STRLEN (header-only, no script): keys/s", entity, "census(userCache(store))", "SCAN + GETRANGE + STRLEN", ratios(rates, "census", "GETRANGE"), atLeast(1), `${kops(m(rates, "census"))} vs ${kops(m(rates, "GETRANGE"))} keys/s; ${mb(m(sent, "census"))} vs ${mb(m(sent, "GETRANGE"))} sent`),
    ];
  } finally {
    await flush(redis);
    redis.disconnect();
  }
}

/**
 * The metrics hooks' cost: the accessor with a no-op sink (every outcome
 * and duration still reported) vs without a sink, on Redis (64 callers)
 * and without I/O (MemoryStore, one caller: the upper bound).
 */
export async function metricsCases(url: string, options: { readonly rounds: number; readonly timeMs: number; readonly warmupMs: number }): Promise<BenchRow[]> {
  const redis = new Redis(url);
  const rows: BenchRow[] = [];
  const user = (id: string): User => ({ id, name: "ada", email: "ada@example.com", fullName: "Ada", verified: true, locale: "en-GB" });
  try {
    for (const [label, store, concurrency] of [["ioredis, 64 callers", new RedisStore(redis), 64], ["MemoryStore, no I/O, 1 caller", new MemoryStore(), 1]] as const) {
      const plain = userCache(store, { prefix: "bench:metrics:" });
      const sinked = userCache(store, { prefix: "bench:metrics:", metrics: noopMetrics });
      const timedSink = userCache(store, { prefix: "bench:metrics:", metrics: { bind: () => ({ count: () => {}, duration: () => {}, operation: () => {} }) } });
      for (let i = 0; i < 64; i++) await plain.set(user(String(i)));
      for (const op of ["get", "set"] as const) {
        const run = (cache: typeof plain) => (op === "get" ? (c: number) => cache.get({ id: String(c) }) : (c: number) => cache.set(user(String(c))));
        const results = await compareThroughput({ sink: run(sinked), durations: run(timedSink), none: run(plain) }, { ...options, concurrency });
        rows.push(ratioRow(results, "sink", "none", `accessor ${op} with a no-op metrics sink (counts) vs none (${label})`, "user", atLeast(0.97)));
        rows.push(ratioRow(results, "durations", "none", `accessor ${op} with a no-op sink taking durations too (two clock reads per call) vs none (${label})`, "user", atLeast(0.97)));
      }
    }
    return rows;
  } finally {
    await redis.flushdb();
    redis.disconnect();
  }
}
