import { spawn } from "node:child_process";
import { join } from "node:path";
import { cachified, type Cache as CachifiedCache } from "@epic-web/cachified";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { redisCacheAdapter } from "cachified-redis-adapter";
import { Redis } from "ioredis";
import { createEntityCache, type EntityCache } from "../../src/accessor/entity-cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { Fixture } from "../fixtures.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";
import { atLeast, kops, ratioRow, withKey, type ThroughputOptions } from "./accessor.js";

/**
 * The loading cache (docs/loading.md) against the peers a service would pick
 * instead, all on one ioredis connection to one local redis-server, the same
 * entity and the same key count, measured side by side in the same rounds:
 * protocache `getOrSet` (and `get`, against getOrSet only), bentocache 1.6 `getOrSet` with its Redis
 * driver only and with memory + Redis + bus, cachified 5 over
 * cachified-redis-adapter, and JSON + ioredis GET. Then the stampede counts,
 * the batch fill and fail-safe under a failing source.
 */
const keysPerCaller = 16;
type Op = (caller: number, i: number) => Promise<unknown>;

/** Hot reads: every contender reads keys it already holds (no loader call in the timed part). */
export async function loadingHitCases(url: string, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  const bus = new Redis(url);
  // One BentoCache for every fixture (a namespace each): disconnecting it closes the connections it was given.
  const bento = new BentoCache({
    default: "l2",
    stores: {
      l2: bentostore().useL2Layer(redisDriver({ connection: redis, prefix: "bench:loading:bento-l2" })),
      multi: bentostore()
        .useL1Layer(memoryDriver({ maxSize: "64mb" }))
        .useL2Layer(redisDriver({ connection: redis, prefix: "bench:loading:bento-multi" }))
        .useBus(redisBusDriver({ connection: bus })),
    },
  });
  try {
    for (const fx of list) {
      const prefix = `bench:loading:${fx.entity.entity}:`;
      const cache = createEntityCache(fx.entity, new RedisStore(redis), { prefix, ttlSeconds: 3600 });
      const fieldsOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
      const loader = (fields: unknown): unknown => ({ ...(fx.value as object), ...(fields as object) });
      const l2 = bento.use("l2").namespace(fx.entity.entity);
      const multi = bento.use("multi").namespace(fx.entity.entity);
      // cachified-redis-adapter speaks node-redis's set(key, value, { EXAT }); these three lines map it onto ioredis.
      const cachifiedCache: CachifiedCache = redisCacheAdapter({
        set: (key, value, o) => (o === undefined ? redis.set(key, value) : redis.set(key, value, "EXAT", o.EXAT)),
        get: (key) => redis.get(key),
        del: (key) => redis.del(key),
      });
      const bentoKey = (k: number, i: number): string => `${k}-${i % keysPerCaller}`;
      const jsonKey = (k: number, i: number): string => `${prefix}json:${bentoKey(k, i)}`;
      const cachifiedKey = (k: number, i: number): string => `${prefix}cachified:${bentoKey(k, i)}`;
      const jsonText = JSON.stringify(fx.json);
      // Fill every contender's keys through its own loading call, so what the timed part reads is what each wrote.
      for (let k = 0; k < options.concurrency; k++) {
        for (let i = 0; i < keysPerCaller; i++) {
          await cache.getOrSet(fieldsOf(k, i) as never, loader as never);
          await l2.getOrSet({ key: bentoKey(k, i), ttl: "1h", factory: () => fx.json });
          await multi.getOrSet({ key: bentoKey(k, i), ttl: "1h", factory: () => fx.json });
          await cachified({ key: cachifiedKey(k, i), cache: cachifiedCache, ttl: 3_600_000, getFreshValue: () => fx.json });
          await redis.set(jsonKey(k, i), jsonText, "EX", 3600);
        }
      }
      const before = cache.stats().loads.loaded;
      const get: Op = (k, i) => cache.get(fieldsOf(k, i) as never);
      // protocache get against JSON + ioredis GET is a row of the redis suite (the same two reads on one connection), not measured again here.
      const contenders: Record<string, Op> = {
        "protocache getOrSet": (k, i) => cache.getOrSet(fieldsOf(k, i) as never, loader as never),
        "bentocache getOrSet, Redis only": (k, i) => l2.getOrSet({ key: bentoKey(k, i), ttl: "1h", factory: () => fx.json }),
        "bentocache getOrSet, memory + Redis + bus": (k, i) => multi.getOrSet({ key: bentoKey(k, i), ttl: "1h", factory: () => fx.json }),
        "cachified + ioredis adapter": (k, i) => cachified({ key: cachifiedKey(k, i), cache: cachifiedCache, ttl: 3_600_000, getFreshValue: () => fx.json }),
        "JSON + ioredis GET": async (k, i) => JSON.parse((await redis.get(jsonKey(k, i))) as string),
      };
      // getOrSet against get alone, over more and shorter rounds (the difference looked for is small), then every peer together.
      const own = await compareThroughput(
        { "protocache get": get, "protocache getOrSet": contenders["protocache getOrSet"] as Op },
        { ...options, rounds: options.rounds * 2 + 1, timeMs: options.timeMs / 2 },
      );
      rows.push(ratioRow(own, "protocache getOrSet", "protocache get", "getOrSet hit vs get, same accessor and client (only these two, interleaved)", fx.name, atLeast(0.95)));
      const results = await compareThroughput(contenders, options);
      if (cache.stats().loads.loaded !== before) throw new Error("loading bench: a hot getOrSet called its loader");
      const row = (subject: string, baseline: string, name: string, goal: Goal): void => {
        rows.push(ratioRow(results, subject, baseline, name, fx.name, goal));
      };
      row("protocache getOrSet", "bentocache getOrSet, Redis only", "getOrSet hit vs bentocache getOrSet, its Redis driver on the same connection", atLeast(2));
      row("protocache getOrSet", "cachified + ioredis adapter", "getOrSet hit vs cachified over cachified-redis-adapter, same connection", atLeast(1.5));
      row("protocache getOrSet", "JSON + ioredis GET", "getOrSet hit vs JSON + ioredis GET", reported);
      row("protocache getOrSet", "bentocache getOrSet, memory + Redis + bus", "getOrSet hit, Redis only (no protocache L1) vs bentocache with its memory L1 + Redis + bus", reported);
      await cache.close();
    }
  } finally {
    await bento.disconnectAll();
    redis.disconnect();
    bus.disconnect();
  }
  return rows;
}

/**
 * Stampedes: 200 concurrent getOrSet of one cold key in one process (20 ms
 * loader), and 4 processes × 50 callers (test/support/loading-worker.ts, a
 * 300 ms loader), each over `rounds` fresh keys; the row is the largest
 * number of loader calls any round made.
 */
export async function stampedeCases(url: string, list: readonly Fixture<unknown>[], rounds: number): Promise<BenchRow[]> {
  const fx = list[0] as Fixture<unknown>;
  const redis = new Redis(url);
  const rows: BenchRow[] = [];
  try {
    const cache = createEntityCache(fx.entity, new RedisStore(redis), { prefix: `bench:stampede:${Date.now()}:` });
    const calls: number[] = [];
    for (let round = 0; round < rounds; round++) {
      let n = 0;
      const fields = withKey(fx, `cold-${round}`);
      await Promise.all(Array.from({ length: 200 }, () => cache.getOrSet(fields as never, (async (f: unknown) => {
        n++;
        await new Promise((r) => setTimeout(r, 20));
        return { ...(fx.value as object), ...(f as object) };
      }) as never)));
      calls.push(n);
    }
    await cache.close();
    rows.push(countRow("cold key, 200 concurrent getOrSet in one process (20 ms loader)", fx.name, calls));
    const worker = join(import.meta.dirname, "..", "..", "test", "support", "loading-worker.ts");
    const crossCalls: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const prefix = `bench:stampede-x:${Date.now()}:${round}:`;
      await Promise.all(Array.from({ length: 4 }, () => runWorker(worker, [url, prefix, "hot", "50", "300"])));
      crossCalls.push(Number(await redis.get(`${prefix}loader-calls`)));
    }
    rows.push(countRow("cold key, 4 processes × 50 getOrSet (300 ms loader, the Redis lease)", "User (small)", crossCalls));
  } finally {
    redis.disconnect();
  }
  return rows;
}

/**
 * A cold fill of 100 keys: one getManyOrSet (one lookup, one loader call,
 * one batched write) against 100 concurrent getOrSet (each its own lookup,
 * lease, loader call and write), over fresh keys every iteration.
 */
export async function batchFillCases(url: string, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  try {
    for (const fx of list) {
      const cache = createEntityCache(fx.entity, new RedisStore(redis), { prefix: `bench:fill:${fx.entity.entity}:`, ttlSeconds: 60 });
      let batch = 0;
      const keysOf = (tag: string): unknown[] => {
        batch++;
        return Array.from({ length: 100 }, (_, i) => withKey(fx, `${tag}-${batch}-${i}`));
      };
      const one = (f: unknown): unknown => ({ ...(fx.value as object), ...(f as object) });
      const results = await compareThroughput(
        {
          getManyOrSet: () => cache.getManyOrSet(keysOf("m") as never, ((list: readonly unknown[]) => list.map(one)) as never),
          "100 getOrSet": () => Promise.all(keysOf("s").map((f) => cache.getOrSet(f as never, one as never))),
        },
        { ...options, concurrency: 4 },
      );
      const row = ratioRow(results, "getManyOrSet", "100 getOrSet", "cold fill of 100 keys: getManyOrSet(100) vs 100 concurrent getOrSet", fx.name, atLeast(5));
      rows.push({ ...row, detail: `${kops(median(results.get("getManyOrSet") ?? []) * 100)} vs ${kops(median(results.get("100 getOrSet") ?? []) * 100)} keys/s` });
      await cache.close();
      await redis.eval("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end", 0, `bench:fill:${fx.entity.entity}:*`);
    }
  } finally {
    redis.disconnect();
  }
  return rows;
}

/**
 * Fail-safe: `n` keys (10 000) whose values went stale 10 s ago (fresh TTL 1 s,
 * grace 1 h), read by 64 callers while the loader fails every time (half the
 * keys) or hangs past the soft timeout (the other half). Every read should
 * be served the stale value, none waiting past the soft timeout (50 ms).
 */
export async function failSafeCases(url: string, list: readonly Fixture<unknown>[], n = 10_000): Promise<BenchRow[]> {
  const fx = list[0] as Fixture<unknown>;
  const redis = new Redis(url);
  const prefix = `bench:failsafe:${Date.now()}:`;
  const softTimeoutMs = 50;
  const options: AccessorOptions<unknown> = { prefix, ttlSeconds: 1, deadlineMs: 1000, loading: { graceSeconds: 3600, softTimeoutMs, hardTimeoutMs: 5000, staleWhileRevalidate: false, failSafeBackoffMs: 0 } };
  const cache: EntityCache<unknown, never> = createEntityCache(fx.entity, new RedisStore(redis), options);
  try {
    const fields = Array.from({ length: n }, (_, i) => withKey(fx, `stale-${i}`));
    const stale = fields.map((f) => encodeEnvelope(new Writer(), fx.entity.current.schemaId, { ...(fx.value as object), ...(f as object) }, fx.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 1 << 30 }, Date.now() - 10_000));
    for (let i = 0; i < n; i += 500) {
      const pipe = redis.pipeline();
      for (let j = i; j < Math.min(n, i + 500); j++) pipe.set(cache.keyOf(fields[j] as never), stale[j] as Buffer, "EX", 3600);
      await pipe.exec();
    }
    let served = 0;
    let worstMs = 0;
    let next = 0;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < n) {
        const i = next++;
        const started = performance.now();
        const got = await cache.getOrSet(fields[i] as never, (async () => {
          if (i % 2 === 0) throw new Error("source down");
          await new Promise((r) => setTimeout(r, 1000));
          return fx.value;
        }) as never);
        worstMs = Math.max(worstMs, performance.now() - started);
        if (got !== undefined) served++;
      }
    }));
    const loads = cache.stats().loads;
    const goal: Goal = { kind: "fraction-at-least", target: 1 };
    const ratio = served / n;
    return [{
      case: `loader failing or past its soft timeout (${softTimeoutMs} ms), ${n / 1000}k reads of stale keys within grace`,
      entity: fx.name,
      subject: "reads served the stale value",
      baseline: "reads",
      goal,
      ratio,
      pass: passes(goal, ratio) && worstMs < softTimeoutMs * 4,
      detail: `${served} of ${n} served stale (fail-safe ${loads.stale_fail_safe}, soft timeouts ${loads.soft_timeout}); slowest read ${worstMs.toFixed(1)} ms`,
    }];
  } finally {
    await cache.close({ timeoutMs: 100 });
    redis.disconnect();
  }
}

/**
 * Background completion against aborting, with a source slower than the
 * hard timeout (every load takes `loadMs`, honouring its signal, against a
 * `hardTimeoutMs` of a third of it): `rounds` rounds of 200 cold keys read at
 * once, a pause longer than a load between rounds. Aborted loads are never
 * cached, so every round loads every key and serves none; completed ones
 * are cached after the first round. What it costs the source is the time
 * its loads ran (an aborted load stops at the hard timeout).
 */
export async function backgroundCompletionCases(url: string, list: readonly Fixture<unknown>[], rounds = 5): Promise<BenchRow[]> {
  const fx = list[0] as Fixture<unknown>;
  const loadMs = 60;
  const hardTimeoutMs = 20;
  const keys = 200;
  const run = async (backgroundCompletion: boolean): Promise<{ served: number; loads: number; busyMs: number }> => {
    const redis = new Redis(url);
    const prefix = `bench:background:${backgroundCompletion}:${Date.now()}:`;
    const cache: EntityCache<unknown, never> = createEntityCache(fx.entity, new RedisStore(redis), { prefix, ttlSeconds: 3600, deadlineMs: 1000, loading: { hardTimeoutMs, backgroundCompletion, lease: false } });
    let loads = 0;
    let busyMs = 0;
    let served = 0;
    const fields = Array.from({ length: keys }, (_, i) => withKey(fx, `bg-${i}`));
    const loader = (f: unknown, { signal }: { signal: AbortSignal }): Promise<unknown> => {
      loads++;
      const started = performance.now();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          busyMs += performance.now() - started;
          resolve({ ...(fx.value as object), ...(f as object) });
        }, loadMs);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          busyMs += performance.now() - started;
          reject(signal.reason);
        });
      });
    };
    try {
      for (let r = 0; r < rounds; r++) {
        const got = await Promise.allSettled(fields.map((f) => cache.getOrSet(f as never, loader as never)));
        served += got.filter((g) => g.status === "fulfilled" && g.value !== undefined).length;
        await new Promise((res) => setTimeout(res, loadMs * 2));
      }
      await cache.close({ timeoutMs: 5000 });
    } finally {
      redis.disconnect();
    }
    return { served, loads, busyMs };
  };
  const aborting = await run(false);
  const completing = await run(true);
  const n = rounds * keys;
  return [{
    case: `a source slower than hardTimeoutMs (${loadMs} ms loads, ${hardTimeoutMs} ms timeout): ${rounds} rounds of ${keys} cold keys`,
    entity: fx.name,
    subject: "backgroundCompletion: fraction of reads served",
    baseline: "reads",
    goal: reported,
    // Aborting serves none here (every load times out): the ratio is the fraction of reads served with background completion.
    ratio: completing.served / n,
    pass: true,
    detail: `served ${completing.served} of ${n} (abort: ${aborting.served}); loads ${completing.loads} (abort: ${aborting.loads}); source busy ${completing.busyMs.toFixed(0)} ms (abort: ${aborting.busyMs.toFixed(0)} ms)`,
  }];
}

/** No target: the row reports a ratio to read beside the others (see the case's name). */
const reported: Goal = { kind: "reported" };

function countRow(name: string, entity: string, calls: readonly number[]): BenchRow {
  const goal: Goal = { kind: "count-at-most", target: 1 };
  const worst = Math.max(...calls);
  return { case: name, entity, subject: "loader calls", baseline: "–", goal, ratio: worst, pass: passes(goal, worst), detail: `loader calls per round: ${calls.join(", ")}` };
}

function runWorker(worker: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", worker, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`loading worker exited ${String(code)}: ${err}`))));
  });
}
