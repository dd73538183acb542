import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { Redis } from "ioredis";
import { createClient, RESP_TYPES } from "redis";
import { createEntityCache } from "../../src/accessor/entity-cache.js";
import { openTelemetryMetrics } from "../../src/metrics/otel-sink.js";
import type { L1Options } from "../../src/accessor/l1-options.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { startRedis } from "../../test/support/redis-server.js";
import type { Fixture } from "../fixtures.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";
import { atLeast, keyFieldsOf, ratioRow, withKey, type ThroughputOptions } from "./accessor.js";
import { keysPerCaller, l1Ready, reported, until, writeAndHear, type AnyCache, type Op } from "./l1-support.js";

// The L1 tier (docs/l1.md) measured side by side: L1 hits against reads
// from Redis on the same ioredis connection and against bentocache's own
// memory tier; what `values: "copy"` costs; how long an invalidation takes
// from another connection's write to the tracking listener; and what the
// two tracking modes cost the server (per-key against BCAST). Heap bytes
// per entry: bench/cases/l1-heap.ts.

/** The L1 counters of flushes: none may move while hits are timed. */
const flushCounters = ["flush_disconnected", "flush_heartbeat", "flush_topology", "flush_server"] as const;

/**
 * L1 hits against `get` from Redis (same ioredis connection, same keys, an
 * accessor without L1), against bentocache 1.6 `getOrSet` with its memory
 * L1 + Redis + bus (same Redis), and `values: "copy"` against `"frozen"`:
 * all contenders in the same rounds, 64 callers over 16 keys each. Every
 * key was written, its invalidation heard, then read once into each L1, so
 * the timed part is hits only (checked after: no L1 miss, no flush, no
 * loader call).
 */
export async function l1HitCases(url: string, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  const bus = new Redis(url);
  const store = new RedisStore(redis);
  const bento = new BentoCache({
    default: "multi",
    stores: {
      multi: bentostore()
        .useL1Layer(memoryDriver({ maxSize: "64mb" }))
        .useL2Layer(redisDriver({ connection: redis, prefix: "bench:l1:bento-multi" }))
        .useBus(redisBusDriver({ connection: bus })),
    },
  });
  try {
    for (const fx of list) {
      const prefix = `bench:l1:${fx.entity.entity}:`;
      const l1: L1Options = { maxEntries: 100_000, maxBytes: 256 << 20, ttlSeconds: 3600 };
      const plain: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600 });
      const frozen: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1 });
      const copy: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1: { ...l1, values: "copy" } });
      await l1Ready(frozen);
      await l1Ready(copy);
      const fieldsOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
      const keysOf = (caller: number, i: number): unknown => keyFieldsOf(fx, `${caller}-${i % keysPerCaller}`);
      const loader = (fields: unknown): unknown => ({ ...(fx.value as object), ...(fields as object) });
      const multi = bento.use("multi").namespace(fx.entity.entity);
      const bentoKey = (k: number, i: number): string => `${k}-${i % keysPerCaller}`;
      const all: unknown[] = [];
      for (let k = 0; k < options.concurrency; k++) for (let i = 0; i < keysPerCaller; i++) all.push(fieldsOf(k, i));
      await writeAndHear(plain, store.tracking(), prefix, all);
      for (let k = 0; k < options.concurrency; k++) {
        for (let i = 0; i < keysPerCaller; i++) {
          await frozen.get(fieldsOf(k, i) as never);
          await copy.get(fieldsOf(k, i) as never);
          await multi.getOrSet({ key: bentoKey(k, i), ttl: "1h", factory: () => fx.json });
        }
      }
      for (const [name, c] of [["frozen", frozen], ["copy", copy]] as const) {
        if (c.stats().l1.entries !== all.length) throw new Error(`l1 bench: the ${name} L1 holds ${c.stats().l1.entries} entries after the fill, not ${all.length}`);
      }
      const before = { frozen: frozen.stats(), copy: copy.stats() };
      // The floor for any in-process tier: the same held objects in a Map, awaited like a hit, by key strings built
      // beforehand (a Map pays no key building or checking: the strictest floor).
      const floor = new Map<string, unknown>();
      const floorKeys: string[][] = [];
      // The same, for the L1: each caller's key fields built beforehand (it still formats and checks the key per call).
      const heldFields: unknown[][] = [];
      for (let k = 0; k < options.concurrency; k++) {
        floorKeys.push([]);
        heldFields.push([]);
        for (let i = 0; i < keysPerCaller; i++) {
          const key = frozen.keyOf(fieldsOf(k, i) as never);
          floorKeys[k]?.push(key);
          heldFields[k]?.push(keysOf(k, i));
          floor.set(key, await frozen.get(fieldsOf(k, i) as never));
        }
      }
      const floorPrefix = (floorKeys[0]?.[0] ?? "").slice(0, (floorKeys[0]?.[0] ?? "").lastIndexOf("0-0"));
      if (floor.get(floorPrefix + "0-0") === undefined) throw new Error(`l1 bench: the floor's key prefix ${floorPrefix} does not build the held keys`);
      const contenders: Record<string, Op> = {
        "awaited Map.get of the same objects": async (k, i) => floor.get((floorKeys[k] as string[])[i % keysPerCaller] as string),
        // What any string-keyed in-process tier pays besides: a key string made per call (here the bare concatenation
        // of the key prefix and the id, unchecked), which the Map must hash (and flatten) on every lookup.
        "awaited Map.get, key concatenated per call": async (k, i) => floor.get(floorPrefix + `${k}-${i % keysPerCaller}`),
        "get from Redis (no L1)": (k, i) => plain.get(keysOf(k, i) as never),
        "L1 hit, get (frozen)": (k, i) => frozen.get(keysOf(k, i) as never),
        "L1 hit, get (frozen), key fields built beforehand": (k, i) => frozen.get((heldFields[k] as unknown[])[i % keysPerCaller] as never),
        "L1 hit, getOrSet (frozen)": (k, i) => frozen.getOrSet(keysOf(k, i) as never, loader as never),
        "L1 hit, get (copy)": (k, i) => copy.get(keysOf(k, i) as never),
        "bentocache getOrSet, memory + Redis + bus": (k, i) => multi.getOrSet({ key: bentoKey(k, i), ttl: "1h", factory: () => fx.json }),
      };
      // In-memory hits never leave the microtask queue: let timers (the tracking heartbeat) run between contenders.
      const results = await compareThroughput(contenders, { ...options, yieldBetween: true });
      for (const [name, c] of [["frozen", frozen], ["copy", copy]] as const) {
        const now = c.stats();
        const was = before[name];
        if (now.l1.miss !== was.l1.miss) throw new Error(`l1 bench: the ${name} L1 missed ${now.l1.miss - was.l1.miss} times in the timed part (flushes: ${flushCounters.map((f) => `${f} ${now.l1[f]}`).join(", ")})`);
        if (now.loads.loaded !== was.loads.loaded) throw new Error(`l1 bench: a hot getOrSet called its loader (${name})`);
      }
      const row = (subject: string, baseline: string, name: string, goal: Goal): void => {
        rows.push(ratioRow(results, subject, baseline, name, fx.name, goal));
      };
      row("L1 hit, get (frozen)", "get from Redis (no L1)", "L1 hit vs get from Redis, same ioredis connection (64 callers)", atLeast(20));
      row("L1 hit, getOrSet (frozen)", "bentocache getOrSet, memory + Redis + bus", "L1 hit (getOrSet) vs bentocache getOrSet hit, its memory L1 + Redis + bus", atLeast(10));
      row("L1 hit, get (frozen), key fields built beforehand", "awaited Map.get of the same objects", "L1 hit (get, key fields built beforehand) vs an awaited Map.get of the same objects, keys built beforehand (the floor)", atLeast(0.5));
      row("L1 hit, get (frozen)", "awaited Map.get of the same objects", "L1 hit (get, key fields made per call) vs an awaited Map.get of the same objects, keys built beforehand", reported);
      row("L1 hit, get (frozen)", "awaited Map.get, key concatenated per call", "L1 hit (get, key fields made per call) vs an awaited Map.get of the same objects, key concatenated per call (what any string-keyed tier pays)", reported);
      row("L1 hit, getOrSet (frozen)", "L1 hit, get (frozen)", "L1 hit, getOrSet vs get", atLeast(0.9));
      row("L1 hit, get (copy)", "L1 hit, get (frozen)", 'L1 hit, values: "copy" vs "frozen" (what a structuredClone per hit costs)', reported);
      row("L1 hit, get (copy)", "get from Redis (no L1)", 'L1 hit, values: "copy" vs get from Redis', reported);
      await Promise.all([plain.close(), frozen.close(), copy.close()]);
    }
  } finally {
    await bento.disconnectAll();
    redis.disconnect();
    bus.disconnect();
  }
  return rows;
}

/**
 * What recording served age costs on the L1 hit path (docs/served-age.md):
 * the same L1 hits with `servedAge` on (the default) and off, `get` and
 * `getOrSet`, only those interleaved, over more and shorter rounds than the
 * other cases, since the expected difference is small; and `getOrSet` with
 * the staleness audit sampling 1% of hits (at most 10 loader calls a
 * second, the default cap), reported; and the same `get` hits with the
 * OpenTelemetry adapter over the SDK (a MeterProvider with an in-memory
 * reader), its `servedAge` on vs off, reported. 64 callers over 16 keys
 * each, all held (checked: no L1 miss in the timed part).
 */
export async function servedAgeCostCases(url: string, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  const store = new RedisStore(redis);
  try {
    for (const fx of list) {
      const prefix = `bench:l1:age:${fx.entity.entity}:`;
      const l1: L1Options = { maxEntries: 100_000, maxBytes: 256 << 20, ttlSeconds: 3600 };
      const plain: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600 });
      const on: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1 });
      const off: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1, servedAge: false });
      const audited: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1, audit: { sampleRate: 0.01 } });
      const provider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 })] });
      const otelOn: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1, metrics: openTelemetryMetrics(provider.getMeter("bench")) });
      const otelOff: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1, metrics: openTelemetryMetrics(provider.getMeter("bench"), { servedAge: false }) });
      const caches = { on, off, audited, otelOn, otelOff };
      for (const c of Object.values(caches)) await l1Ready(c);
      const fieldsOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
      const keysOf = (caller: number, i: number): unknown => keyFieldsOf(fx, `${caller}-${i % keysPerCaller}`);
      const loader = (fields: unknown): unknown => ({ ...(fx.value as object), ...(fields as object) });
      const all: unknown[] = [];
      for (let k = 0; k < options.concurrency; k++) for (let i = 0; i < keysPerCaller; i++) all.push(fieldsOf(k, i));
      await writeAndHear(plain, store.tracking(), prefix, all);
      for (const c of Object.values(caches)) for (const f of all) await c.get(f as never);
      const before = Object.fromEntries(Object.entries(caches).map(([n, c]) => [n, c.stats().l1.miss]));
      const results = {
        get: await compareThroughput({ on: (k, i) => on.get(keysOf(k, i) as never), off: (k, i) => off.get(keysOf(k, i) as never) }, { ...options, yieldBetween: true }),
        getOrSet: await compareThroughput(
          {
            on: (k, i) => on.getOrSet(keysOf(k, i) as never, loader as never),
            off: (k, i) => off.getOrSet(keysOf(k, i) as never, loader as never),
            audited: (k, i) => audited.getOrSet(keysOf(k, i) as never, loader as never),
          },
          { ...options, yieldBetween: true },
        ),
        otel: await compareThroughput(
          {
            "otel, served age": (k, i) => otelOn.get(keysOf(k, i) as never),
            "otel, no served age": (k, i) => otelOff.get(keysOf(k, i) as never),
            "no sink": (k, i) => on.get(keysOf(k, i) as never),
          },
          { ...options, rounds: Math.max(3, Math.ceil(options.rounds / 3)), yieldBetween: true },
        ),
      };
      for (const [name, c] of Object.entries(caches)) {
        const missed = c.stats().l1.miss - (before[name] as number);
        if (missed !== 0) throw new Error(`l1 bench: the ${name} L1 missed ${missed} times in the timed part`);
      }
      if (on.stats().servedAge.l1.count === 0 || off.stats().servedAge.l1.count !== 0) throw new Error("l1 bench: served age was not recorded with it on, or was with it off");
      const ns = (r: Map<string, number[]>, name: string): string => `${(1e9 / median(r.get(name) ?? [])).toFixed(0)} ns`;
      for (const op of ["get", "getOrSet"] as const) {
        const row = ratioRow(results[op], "on", "off", `served-age histogram on vs off on the L1 hit path, ${op} (64 callers)`, fx.name, atLeast(0.9));
        rows.push({ ...row, detail: `${ns(results[op], "on")} vs ${ns(results[op], "off")} per hit (wall time / hits, 64 callers)` });
      }
      const audit = audited.stats().audit;
      const row = ratioRow(results.getOrSet, "audited", "on", "L1 hit, getOrSet: staleness audit of 1% of hits (≤ 10 loader calls/s) vs no audit", fx.name, reported);
      rows.push({ ...row, detail: `${audit.sampled} sampled, ${audit.loader_call} loader calls, ${audit.rate_limited} rate-limited` });
      const otel = ratioRow(results.otel, "otel, served age", "otel, no served age", "L1 hit, get, OpenTelemetry SDK sink: served-age histogram on vs off (openTelemetryMetrics servedAge)", fx.name, reported);
      rows.push({ ...otel, detail: `${ns(results.otel, "otel, served age")} vs ${ns(results.otel, "otel, no served age")} per hit; ${ns(results.otel, "no sink")} without a sink` });
      await Promise.all(Object.values(caches).map((c) => c.close()).concat(plain.close()));
      await provider.shutdown();
    }
  } finally {
    redis.disconnect();
  }
  return rows;
}

/**
 * What an L1 miss costs over a plain read (docs/l1.md, "Held no longer
 * than Redis keeps the key"): an L1 read also asks for the key's remaining
 * TTL in the same round trip. Measured at the accessor (get with an L1
 * that holds almost nothing, `maxEntries: 1`, so nearly every read is a
 * miss: ticket, GET and PTTL, decode, admission; against get without L1)
 * and for each way of reading the TTL with the value, on the same
 * connections: two commands written together (what the store does), one
 * pipeline, one EVALSHA returning both; plain GET is the baseline. 64
 * callers over 16 keys each, every key with a TTL.
 */
export async function missReadCases(url: string, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const redis = new Redis(url);
  const node = await createClient({ url }).on("error", () => {}).connect();
  const mapped = node.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const store = new RedisStore(redis);
  try {
    const both = "return {redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}";
    const sha = String(await redis.script("LOAD", both));
    for (const fx of list) {
      const prefix = `bench:l1:miss:${fx.entity.entity}:`;
      const plain: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600 });
      const missing: AnyCache = createEntityCache(fx.entity, store, { prefix, ttlSeconds: 3600, l1: { maxEntries: 1, maxBytes: 1 << 20 } });
      await l1Ready(missing);
      const fieldsOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
      const all: unknown[] = [];
      for (let k = 0; k < options.concurrency; k++) for (let i = 0; i < keysPerCaller; i++) all.push(fieldsOf(k, i));
      await writeAndHear(plain, store.tracking(), prefix, all);
      const keyOf = (k: number, i: number): string => plain.keyOf(fieldsOf(k, i) as never);
      // 100 of the written keys, starting at caller k's.
      const batchOf = (k: number): never[] => Array.from({ length: 100 }, (_, j) => all[(k * keysPerCaller + j) % all.length] as never);
      const batchKeys = (k: number): string[] => batchOf(k).map((f) => plain.keyOf(f));
      const before = missing.stats().l1;
      const accessors: Record<string, Op> = {
        "get without L1": (k, i) => plain.get(fieldsOf(k, i) as never),
        "get with an L1 that holds 1 entry (misses)": (k, i) => missing.get(fieldsOf(k, i) as never),
        "getMany of 100 without L1": (k) => plain.getMany(batchOf(k)),
        "getMany of 100 with an L1 that holds 1 entry (misses)": (k) => missing.getMany(batchOf(k)),
      };
      // The ways of reading a TTL with a value do not depend on the entity: timed with the first fixture only.
      const raw: Record<string, Op> = {
        "ioredis GET": (k, i) => redis.getBuffer(keyOf(k, i)),
        "ioredis GET and PTTL, two commands": (k, i) => Promise.all([redis.callBuffer("GET", keyOf(k, i)), redis.call("PTTL", keyOf(k, i))]),
        "ioredis GET and PTTL, one pipeline": (k, i) => redis.pipeline().getBuffer(keyOf(k, i)).pttl(keyOf(k, i)).exec(),
        "ioredis EVALSHA returning both": (k, i) => redis.callBuffer("EVALSHA", sha, "1", keyOf(k, i)),
        "node-redis GET": (k, i) => mapped.sendCommand(["GET", keyOf(k, i)]),
        "node-redis GET and PTTL, two commands": (k, i) => Promise.all([mapped.sendCommand(["GET", keyOf(k, i)]), mapped.sendCommand(["PTTL", keyOf(k, i)])]),
        "ioredis MGET of 100": (k) => redis.mgetBuffer(...batchKeys(k)),
        "ioredis MGET and PTTLs of 100, one script": (k) => store.getManyWithTtl(batchKeys(k)),
        "ioredis MGET and 100 PTTLs, one pipeline": (k) => {
          const p = redis.pipeline().mgetBuffer(...batchKeys(k));
          for (const key of batchKeys(k)) p.pttl(key);
          return p.exec();
        },
      };
      const results = await compareThroughput(fx === list[0] ? { ...accessors, ...raw } : accessors, options);
      const after = missing.stats().l1;
      const misses = after.miss - before.miss;
      const share = misses / Math.max(1, misses + after.hit - before.hit);
      const row = (subject: string, baseline: string, name: string): void => {
        rows.push(ratioRow(results, subject, baseline, name, fx.name, reported));
      };
      row("get with an L1 that holds 1 entry (misses)", "get without L1", `L1 miss (ticket, GET and PTTL, admission) vs get without L1, same ioredis connection (64 callers; ${(share * 100).toFixed(1)}% of its reads missed)`);
      row("getMany of 100 with an L1 that holds 1 entry (misses)", "getMany of 100 without L1", "L1 misses of a getMany of 100 (tickets, MGET and PTTLs in one script, admission) vs getMany without L1, same ioredis connection (64 callers)");
      if (fx === list[0]) {
        row("ioredis MGET and PTTLs of 100, one script", "ioredis MGET of 100", "reading 100 keys' TTLs with their values: one script (what an L1's getMany sends on a standalone server) vs MGET alone, ioredis");
        row("ioredis MGET and 100 PTTLs, one pipeline", "ioredis MGET of 100", "reading 100 keys' TTLs with their values: MGET and 100 PTTLs in one pipeline (the fallback where an ACL refuses scripts) vs MGET alone, ioredis");
        row("ioredis GET and PTTL, two commands", "ioredis GET", "reading a key's TTL with its value: GET and PTTL as two commands written together (what an L1 read sends) vs GET alone, ioredis");
        row("ioredis GET and PTTL, one pipeline", "ioredis GET", "reading a key's TTL with its value: GET and PTTL as one pipeline vs GET alone, ioredis");
        row("ioredis EVALSHA returning both", "ioredis GET", "reading a key's TTL with its value: one EVALSHA returning both vs GET alone, ioredis");
        row("node-redis GET and PTTL, two commands", "node-redis GET", "reading a key's TTL with its value: GET and PTTL as two commands vs GET alone, node-redis");
        rows.push(...(await serverTimeRows(redis, store, sha, batchKeys(0))));
      }
      await Promise.all([plain.close(), missing.close()]);
    }
  } finally {
    redis.disconnect();
    node.destroy();
  }
  return rows;
}

/**
 * What the server spends on each way of reading TTLs with values (INFO
 * commandstats after CONFIG RESETSTAT: execution only, not reading or
 * parsing the command), each way measured alone, 2000 times.
 */
async function serverTimeRows(redis: Redis, store: RedisStore, sha: string, keys: readonly string[]): Promise<BenchRow[]> {
  const usec = async (command: string, run: () => Promise<unknown>): Promise<number> => {
    await redis.call("CONFIG", "RESETSTAT");
    for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, run));
    const stats = String(await redis.info("commandstats"));
    const m = new RegExp(`cmdstat_${command}:calls=(\\d+),usec=(\\d+)`).exec(stats);
    return m === null ? NaN : Number(m[2]) / 2000;
  };
  const key = keys[0] as string;
  const get = await usec("get", () => redis.getBuffer(key));
  const both = (await usec("get", () => Promise.all([redis.getBuffer(key), redis.pttl(key)]))) + (await usec("pttl", () => Promise.all([redis.getBuffer(key), redis.pttl(key)])));
  const script = await usec("evalsha", () => redis.callBuffer("EVALSHA", sha, "1", key));
  const mget = await usec("mget", () => redis.mgetBuffer(...keys));
  const many = await usec("evalsha", () => store.getManyWithTtl(keys));
  const row = (name: string, subject: string, baseline: string, s: number, b: number): BenchRow => ({ case: `server time (INFO commandstats, execution only): ${name}`, entity: "–", subject, baseline, goal: reported, ratio: s / b, pass: true, detail: `${s.toFixed(2)} vs ${b.toFixed(2)} µs` });
  return [
    row("GET and PTTL vs GET, one key", "GET + PTTL", "GET", both, get),
    row("one EVALSHA returning GET and PTTL vs GET, one key", "EVALSHA", "GET", script, get),
    row("the MGET-with-TTLs script vs MGET, 100 keys", "script", "MGET", many, mget),
  ];
}

/** The `p`-quantile (nearest rank) of ascending `sorted`. */
function quantile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/**
 * Invalidation latency: a SET by a second ioredis connection, timed from
 * just before the command is handed to the client until the tracking
 * listener (the store's RedisTracking, BCAST on a prefix, its own
 * connection) is told that key changed; one write at a time, `samples`
 * times after 100 unrecorded ones.
 */
export async function invalidationLatencyCases(url: string, samples: number): Promise<BenchRow[]> {
  const redis = new Redis(url);
  const writer = new Redis(url);
  const store = new RedisStore(redis);
  const prefix = `bench:l1:latency:${Date.now()}:`;
  let waiting: { readonly key: string; readonly resolve: (at: number) => void } | undefined;
  let flushes = 0;
  let messages = 0;
  const watch = store.tracking().watch(prefix, {
    invalidate: (keys) => {
      messages += 1;
      if (waiting !== undefined && keys.includes(waiting.key)) {
        const w = waiting;
        waiting = undefined;
        w.resolve(performance.now());
      }
    },
    flush: () => void (flushes += 1),
  });
  try {
    if (!(await watch.ready(10_000))) throw new Error("l1 bench: tracking did not become live");
    const heardMs: number[] = [];
    const replyMs: number[] = [];
    /** Invalidation time minus the writer's reply time: negative when the invalidation came first. */
    const afterReplyMs: number[] = [];
    for (let i = -100; i < samples; i++) {
      const key = `${prefix}${i}`;
      let timer: NodeJS.Timeout | undefined;
      const heard = new Promise<number>((resolve, reject) => {
        waiting = { key, resolve };
        timer = setTimeout(() => reject(new Error(`l1 bench: no invalidation of ${key} within 5 s`)), 5000);
      });
      const started = performance.now();
      const replied = writer.set(key, "x").then(() => performance.now());
      const [at, repliedAt] = await Promise.all([heard, replied]);
      clearTimeout(timer);
      if (i >= 0) {
        heardMs.push(at - started);
        replyMs.push(repliedAt - started);
        afterReplyMs.push(at - repliedAt);
      }
    }
    const heardSorted = [...heardMs].sort((a, b) => a - b);
    const replySorted = [...replyMs].sort((a, b) => a - b);
    const afterSorted = [...afterReplyMs].sort((a, b) => a - b);
    const ms = (v: number): string => `${v.toFixed(3)} ms`;
    const caseName = `invalidation latency: SET by another connection → key at the tracking listener (BCAST, loopback), ${samples} writes one at a time`;
    const p99 = quantile(heardSorted, 0.99);
    const p50 = quantile(heardSorted, 0.5);
    const goal: Goal = { kind: "ms-at-most", target: 2 };
    const detail =
      `p50 ${ms(p50)}, p90 ${ms(quantile(heardSorted, 0.9))}, p99 ${ms(p99)}, max ${ms(heardSorted[heardSorted.length - 1] as number)}; ` +
      `the writer's own SET reply p50 ${ms(quantile(replySorted, 0.5))}, p99 ${ms(quantile(replySorted, 0.99))}; ` +
      `invalidation minus that reply p50 ${ms(quantile(afterSorted, 0.5))}, p99 ${ms(quantile(afterSorted, 0.99))}; flushes ${flushes}, messages ${messages}`;
    const p50Goal: Goal = { kind: "reported", unit: "ms" };
    return [
      { case: caseName, entity: "one key per write", subject: "p50", baseline: "–", goal: p50Goal, ratio: p50, pass: passes(p50Goal, p50) && flushes === 0, detail },
      { case: caseName, entity: "one key per write", subject: "p99", baseline: "–", goal, ratio: p99, pass: passes(goal, p99) && flushes === 0, detail },
    ];
  } finally {
    watch.close();
    redis.disconnect();
    writer.disconnect();
  }
}

/** INFO as a map of its `name:value` lines. */
async function info(redis: Redis): Promise<Map<string, string>> {
  const text = await redis.info();
  const out = new Map<string, string>();
  for (const line of text.split("\r\n")) {
    const at = line.indexOf(":");
    if (at > 0 && !line.startsWith("#")) out.set(line.slice(0, at), line.slice(at + 1));
  }
  return out;
}

async function usedMemory(redis: Redis): Promise<number> {
  return Number((await info(redis)).get("used_memory"));
}

/** One fresh redis-server with a writer, a subscriber to `__redis__:invalidate` (RESP2) counting keys and messages, and a tracked reader redirecting to it. */
async function trackingRig(): Promise<{
  writer: Redis;
  reader: Redis;
  subscriberId: number;
  heard: { keys: number; messages: number; marker: string | undefined; onMarker: (() => void) | undefined };
  write(keys: readonly string[], value: Buffer): Promise<void>;
  read(keys: readonly string[]): Promise<void>;
  /** Writes `marker`, which the tracking reports, and waits for its invalidation: everything written before it was reported by then. */
  settle(marker: string): Promise<void>;
  stop(): Promise<void>;
}> {
  const server = await startRedis();
  const writer = new Redis(server.url);
  const reader = new Redis(server.url, { protocol: 2 });
  const subscriber = new Redis(server.url, { protocol: 2 });
  const subscriberId = Number(await subscriber.client("ID"));
  const heard = { keys: 0, messages: 0, marker: undefined as string | undefined, onMarker: undefined as (() => void) | undefined };
  subscriber.on("messageBuffer", (_channel: Buffer, message: unknown) => {
    heard.messages += 1;
    const keys = (message as Buffer[] | null) ?? [];
    for (const k of keys) {
      if (heard.marker !== undefined && k.toString() === heard.marker) heard.onMarker?.();
      else heard.keys += 1;
    }
  });
  await subscriber.subscribe("__redis__:invalidate");
  const batch = 1000;
  return {
    writer,
    reader,
    subscriberId,
    heard,
    write: async (keys, value) => {
      for (let i = 0; i < keys.length; i += batch) {
        const p = writer.pipeline();
        for (const k of keys.slice(i, i + batch)) p.set(k, value);
        await p.exec();
      }
    },
    read: async (keys) => {
      for (let i = 0; i < keys.length; i += batch) {
        const p = reader.pipeline();
        for (const k of keys.slice(i, i + batch)) p.getBuffer(k);
        await p.exec();
      }
    },
    settle: async (marker) => {
      const done = new Promise<void>((resolve) => {
        heard.marker = marker;
        heard.onMarker = resolve;
      });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`l1 bench: no invalidation of the marker ${marker}`)), 10_000)));
      await writer.set(marker, "x");
      try {
        await Promise.race([done, late]);
      } finally {
        clearTimeout(timer);
      }
      heard.marker = undefined;
      heard.onMarker = undefined;
    },
    stop: async () => {
      writer.disconnect();
      reader.disconnect();
      subscriber.disconnect();
      await server.stop();
    },
  };
}

/**
 * What each tracking mode costs the server, each on a fresh redis-server:
 * `keys` distinct keys (80-byte values, about the small entity's envelope)
 * written, then read by one connection with (a) `CLIENT TRACKING ON`
 * (per-key, the default mode: the server remembers every key the client
 * read) or (b) `CLIENT TRACKING ON BCAST PREFIX` with one prefix (what
 * protocache uses: the server remembers the prefix only, and tells the
 * client of every write under it). Both redirect to a RESP2 connection
 * subscribed to `__redis__:invalidate`, which counts what it receives.
 */
export async function trackingCostCases(keys: number): Promise<BenchRow[]> {
  const prefix = "bench:l1:track:";
  const names = (tag: string): string[] => Array.from({ length: keys }, (_, i) => `${prefix}user:v1:${tag}-${String(i).padStart(6, "0")}`);
  const read = names("read");
  const unread = names("unread");
  const outside = Array.from({ length: keys }, (_, i) => `bench:other:${i}`);
  const value = Buffer.alloc(80, 0x61);
  const k = `${keys / 1000}k`;
  const rows: BenchRow[] = [];
  const bytesGoal: Goal = { kind: "reported", unit: "B" };
  const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;

  // (a) per-key tracking, the default mode.
  {
    const rig = await trackingRig();
    try {
      const empty = await usedMemory(rig.writer);
      await rig.write(read, value);
      await rig.write(unread, value);
      const dataset = await usedMemory(rig.writer);
      await rig.reader.call("CLIENT", "TRACKING", "ON", "REDIRECT", String(rig.subscriberId));
      await rig.read(read);
      const afterRead = await info(rig.writer);
      const delta = Number(afterRead.get("used_memory")) - dataset;
      // Writes to keys the client never read: nothing is sent. The marker is a key it did read.
      await rig.write(unread, value);
      await rig.settle(read[0] as string);
      const unreadHeard = rig.heard.keys;
      const before = rig.heard.messages;
      // Writes to the keys it read: one invalidation each (the first was the marker), and the table empties.
      await rig.write(read.slice(1), value);
      await until(() => rig.heard.keys >= unreadHeard + keys - 1, "per-key invalidations");
      const readHeard = rig.heard.keys - unreadHeard + 1;
      const messages = rig.heard.messages - before + 1;
      const afterWrite = await info(rig.writer);
      rows.push({
        case: `server cost of per-key tracking (CLIENT TRACKING ON, the default mode): one connection read ${k} distinct keys`,
        entity: `${k} keys, 80 B values`,
        subject: "used_memory delta / keys read",
        baseline: "–",
        goal: bytesGoal,
        ratio: delta / keys,
        pass: true,
        detail:
          `tracking_total_keys ${afterRead.get("tracking_total_keys")}, tracking_total_items ${afterRead.get("tracking_total_items")}; used_memory +${mb(delta)} (the ${2 * keys / 1000}k keys themselves: ${mb(dataset - empty)}); ` +
          `writing ${k} keys it never read: ${unreadHeard} invalidations; writing the ${k} it read: ${readHeard} keys in ${messages} messages, then tracking_total_keys ${afterWrite.get("tracking_total_keys")}, used_memory ${mb(Number(afterWrite.get("used_memory")) - dataset)} over the dataset`,
      });
    } finally {
      await rig.stop();
    }
  }

  // (b) BCAST with one prefix, what protocache's tracking connections use.
  {
    const rig = await trackingRig();
    try {
      await rig.write(read, value);
      await rig.write(outside, value);
      const dataset = await usedMemory(rig.writer);
      await rig.reader.call("CLIENT", "TRACKING", "ON", "REDIRECT", String(rig.subscriberId), "BCAST", "PREFIX", prefix);
      await rig.read(read);
      const afterRead = await info(rig.writer);
      const delta = Number(afterRead.get("used_memory")) - dataset;
      // Writes under the prefix to keys nobody read: every one is sent.
      await rig.write(unread, value);
      await until(() => rig.heard.keys >= keys, "BCAST invalidations");
      const unreadHeard = rig.heard.keys;
      const unreadMessages = rig.heard.messages;
      // Writes outside the prefix: nothing is sent (the marker is under the prefix).
      await rig.write(outside, value);
      await rig.settle(`${prefix}marker`);
      const outsideHeard = rig.heard.keys - unreadHeard;
      rows.push({
        case: `server cost of BCAST tracking with one prefix (what protocache uses): the same ${k} reads`,
        entity: `${k} keys, 80 B values`,
        subject: "used_memory delta / keys read",
        baseline: "per-key mode's row",
        goal: bytesGoal,
        ratio: delta / keys,
        pass: true,
        detail: `tracking_total_prefixes ${afterRead.get("tracking_total_prefixes")}, tracking_total_keys ${afterRead.get("tracking_total_keys")}, tracking_total_items ${afterRead.get("tracking_total_items")}; used_memory ${delta >= 0 ? "+" : ""}${(delta / 1000).toFixed(1)} kB after the reads`,
      });
      const ratio = unreadHeard / keys;
      rows.push({
        case: `server cost of BCAST, one prefix: invalidations a client receives for writes to ${k} keys under the prefix it never read`,
        entity: `${k} keys, 80 B values`,
        subject: "keys invalidated at the client",
        baseline: "keys written under the prefix",
        goal: reported,
        ratio,
        pass: true,
        detail: `${unreadHeard} keys in ${unreadMessages} messages (pipelines of 1000 SETs; the server batches a prefix's keys per event-loop turn); writes to ${k} keys outside the prefix: ${outsideHeard} invalidations`,
      });
    } finally {
      await rig.stop();
    }
  }
  return rows;
}
