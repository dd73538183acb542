import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisBusDriver, redisDriver } from "bentocache/drivers/redis";
import { Redis } from "ioredis";
import { createEntityCache, type EntityCache } from "../../src/accessor/entity-cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import type { Fixture } from "../fixtures.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";
import type { BenchClient } from "./clients.js";

/** Options of the accessor throughput cases. */
export interface ThroughputOptions {
  readonly rounds: number;
  readonly timeMs: number;
  readonly concurrency: number;
  /** Each contender's one warm-up run before the rounds. */
  readonly warmupMs: number;
}

/** No target: the row reports a ratio to read beside the others. */
const reported: Goal = { kind: "reported" };

const keysPerCaller = 16;
type Op = (caller: number, i: number) => Promise<unknown>;
type Results = Map<string, number[]>;

/**
 * Accessor get/set throughput, 64 concurrent callers, on every client
 * given (ioredis first, then node-redis and valkey-glide, on one server),
 * against hand-written baselines on the same connections and data: the raw
 * client with pre-encoded Buffers (the floor), the guard script sent raw,
 * JSON strings, and protobufjs; for sets also bentocache 1.6 `set` on the
 * ioredis connection, Redis only and memory + Redis + bus (the write rows).
 * All contenders of one operation run interleaved in the same rounds, so
 * every ratio, across clients too, is measured side by side.
 */
export async function accessorCases(clients: readonly BenchClient[], list: readonly Fixture<unknown>[], options: ThroughputOptions & { readonly redisUrl: string }): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const ioredis = clients[0] as BenchClient;
  const nodeRedis = clients.find((c) => c.name === "node-redis");
  const bento = bentoWriters(options.redisUrl);
  try {
    for (const fx of list) {
      const prefix = `bench:${fx.entity.entity}:`;
      const cache = (c: BenchClient, extra: AccessorOptions<unknown> = {}) => createEntityCache(fx.entity, c.store, { prefix, ...extra });
      const rawKey = (caller: number, i: number): string => `${prefix}raw:${caller}:${i % keysPerCaller}`;
      const valueOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
      const preEncoded = encodeEnvelope(new Writer(), fx.entity.current.schemaId, fx.value, fx.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 0 }, Date.now());
      const knownIds = fx.entity.registry.knownIds;
      const pbBytes = Buffer.from(fx.type.encode(fx.pb).finish());
      const jsonText = JSON.stringify(fx.json);
      const seed = cache(ioredis, { guardWrites: false });
      for (let caller = 0; caller < options.concurrency; caller++) {
        for (let i = 0; i < keysPerCaller; i++) {
          await seed.set(valueOf(caller, i));
          await ioredis.setBuffer(rawKey(caller, i), preEncoded, 3600);
          await ioredis.setBuffer(`${rawKey(caller, i)}:pb`, pbBytes, 3600);
          await ioredis.setString(`${rawKey(caller, i)}:json`, jsonText, 3600);
        }
      }

      const sets: Record<string, Op> = {};
      const gets: Record<string, Op> = {};
      for (const c of clients) {
        const guarded = cache(c);
        const unguarded = cache(c, { guardWrites: false });
        sets[`${c.name}: accessor`] = (k, i) => guarded.set(valueOf(k, i));
        sets[`${c.name}: accessor, guardWrites false`] = (k, i) => unguarded.set(valueOf(k, i));
        sets[`${c.name}: raw SET`] = (k, i) => c.setBuffer(rawKey(k, i), preEncoded, 3600);
        sets[`${c.name}: raw guard script`] = (k, i) => c.guardedSet(rawKey(k, i), preEncoded, 3600, knownIds);
        sets[`${c.name}: JSON`] = (k, i) => c.setString(`${rawKey(k, i)}:json`, JSON.stringify(fx.json), 3600);
        gets[`${c.name}: accessor`] = (k, i) => guarded.get(valueOf(k, i) as never);
        gets[`${c.name}: raw GET`] = (k, i) => c.getBuffer(rawKey(k, i));
        gets[`${c.name}: JSON`] = async (k, i) => JSON.parse((await c.getString(`${rawKey(k, i)}:json`)) as string);
      }
      sets["protobufjs + ioredis"] = (k, i) => ioredis.setBuffer(`${rawKey(k, i)}:pb`, fx.type.encode(fx.pb).finish() as Buffer, 3600);
      gets["protobufjs + ioredis"] = async (k, i) => fx.type.decode((await ioredis.getBuffer(`${rawKey(k, i)}:pb`)) as Buffer);
      const l2 = bento.cache.use("l2").namespace(fx.entity.entity);
      const multi = bento.cache.use("multi").namespace(fx.entity.entity);
      const bentoKey = (k: number, i: number): string => `${k}-${i % keysPerCaller}`;
      sets["bentocache set, Redis only"] = (k, i) => l2.set({ key: bentoKey(k, i), value: fx.json, ttl: "1h" });
      sets["bentocache set, memory + Redis + bus"] = (k, i) => multi.set({ key: bentoKey(k, i), value: fx.json, ttl: "1h" });

      for (const [op, contenders] of [["set", sets], ["get", gets]] as const) {
        const results = await compareThroughput(contenders, options);
        const row = (subject: string, baseline: string, caseName: string, goal: Goal): void => {
          rows.push(ratioRow(results, subject, baseline, caseName, fx.name, goal));
        };
        for (const c of clients) {
          const floor = op === "set" ? "raw SET" : "raw GET";
          row(`${c.name}: accessor`, `${c.name}: ${floor}`, `accessor ${op} on ${c.name} vs raw ${c.name}, pre-encoded Buffers`, atLeast(0.9));
          if (op === "set") {
            row(`${c.name}: accessor`, `${c.name}: raw guard script`, `accessor set on ${c.name} vs the guard script sent raw, pre-encoded`, atLeast(0.9));
            row(`${c.name}: accessor, guardWrites false`, `${c.name}: raw SET`, `accessor set, guardWrites: false, on ${c.name} vs raw ${c.name}, pre-encoded Buffers`, atLeast(0.9));
          }
          // On ioredis, JSON on the same client is the JSON + ioredis baseline: its row is below.
          if (c !== ioredis) row(`${c.name}: accessor`, `${c.name}: JSON`, `accessor ${op} on ${c.name} vs JSON on ${c.name}`, atLeast(1.05));
        }
        // Against the classic JSON + ioredis path: 1.05× on ioredis itself, 1.3× on node-redis (the fastest client here, docs/operations.md).
        const classic = (name: string): Goal => (name === ioredis.name ? atLeast(1.05) : name === nodeRedis?.name ? atLeast(1.3) : reported);
        const json = op === "set" ? "JSON + ioredis SET EX" : "JSON + ioredis GET";
        for (const c of clients) {
          row(`${c.name}: accessor`, `${ioredis.name}: JSON`, `accessor ${op}${op === "set" ? ", guarded," : ""} on ${c.name} vs ${json}`, classic(c.name));
        }
        if (op === "set") {
          for (const c of clients) {
            row(`${c.name}: accessor, guardWrites false`, `${ioredis.name}: JSON`, `accessor set, guardWrites: false, on ${c.name} vs ${json}`, c.name === ioredis.name ? reported : classic(c.name));
          }
          row(`${ioredis.name}: accessor`, "bentocache set, Redis only", "accessor set, guarded, on ioredis vs bentocache set, its Redis driver on the same connection", reported);
          row(`${ioredis.name}: accessor, guardWrites false`, "bentocache set, Redis only", "accessor set, guardWrites: false, on ioredis vs bentocache set, its Redis driver on the same connection", reported);
          row(`${ioredis.name}: accessor`, "bentocache set, memory + Redis + bus", "accessor set, guarded, on ioredis (no L1) vs bentocache set, memory + Redis + bus", reported);
        }
        row(`${ioredis.name}: accessor`, "protobufjs + ioredis", `accessor ${op} on ioredis vs protobufjs + ioredis`, atLeast(0.95));
      }
      rows.push(...(await getManyCases(fx, clients.map((c) => ({ name: c.name, cache: cache(c) })), options)));
    }
  } finally {
    await bento.close();
  }
  return rows;
}

/** bentocache 1.6 over its own ioredis connections to `url`: "l2" (Redis only) and "multi" (memory L1 + Redis + bus). */
function bentoWriters(url: string): { readonly cache: BentoCache<{ l2: ReturnType<typeof bentostore>; multi: ReturnType<typeof bentostore> }>; close(): Promise<void> } {
  const redis = new Redis(url);
  const bus = new Redis(url);
  const cache = new BentoCache({
    default: "l2",
    stores: {
      l2: bentostore().useL2Layer(redisDriver({ connection: redis, prefix: "bench:writes:bento-l2" })),
      multi: bentostore()
        .useL1Layer(memoryDriver({ maxSize: "64mb" }))
        .useL2Layer(redisDriver({ connection: redis, prefix: "bench:writes:bento-multi" }))
        .useBus(redisBusDriver({ connection: bus })),
    },
  });
  return {
    cache,
    close: async () => {
      await cache.disconnectAll();
      redis.disconnect();
      bus.disconnect();
    },
  };
}

/**
 * The accessor's own CPU per call, deadlines on vs off, with no I/O at all:
 * a MemoryStore answering at once, one caller. The upper bound of what
 * deadlines can cost relative to a call.
 */
export async function deadlineCpuCases(list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const fx of list) {
    const store = new MemoryStore();
    const on = createEntityCache(fx.entity, store, {});
    const off = createEntityCache(fx.entity, store, { deadlineMs: 0 });
    const value = withKey(fx, "cpu");
    await off.set(value);
    for (const op of ["get", "set"] as const) {
      const run = (cache: EntityCache<unknown, never>): Op => (op === "get" ? () => cache.get(value as never) : () => cache.set(value));
      const results = await compareThroughput({ on: run(on), off: run(off) }, { ...options, concurrency: 1 });
      const row = ratioRow(results, "on", "off", `accessor ${op} without I/O (MemoryStore), deadlines on vs off`, fx.name, atLeast(0.97));
      const ns = (name: string): string => `${(1e9 / median(results.get(name) ?? [])).toFixed(0)} ns`;
      rows.push({ ...row, detail: `${ns("on")} vs ${ns("off")} per call` });
    }
  }
  return rows;
}

/**
 * The cost of per-call deadlines: the same accessor with `deadlineMs` on
 * (the default) and off, only those two interleaved, over more and shorter
 * rounds than the other cases, since the expected difference is small.
 */
export async function deadlineCases(clients: readonly BenchClient[], list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const fx of list) {
    const prefix = `bench:deadline:${fx.entity.entity}:`;
    const valueOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
    for (const c of clients) {
      const on = createEntityCache(fx.entity, c.store, { prefix });
      const off = createEntityCache(fx.entity, c.store, { prefix, deadlineMs: 0 });
      for (let caller = 0; caller < options.concurrency; caller++) for (let i = 0; i < keysPerCaller; i++) await off.set(valueOf(caller, i));
      for (const op of ["get", "set"] as const) {
        const run = (cache: EntityCache<unknown, never>): Op => (op === "get" ? (k, i) => cache.get(valueOf(k, i) as never) : (k, i) => cache.set(valueOf(k, i)));
        const results = await compareThroughput({ on: run(on), off: run(off) }, options);
        rows.push(ratioRow(results, "on", "off", `accessor ${op} on ${c.name}, deadlines on vs off`, fx.name, atLeast(0.97)));
      }
    }
  }
  return rows;
}

/** getMany(100) against 100 concurrent single gets, every client's pair interleaved in the same rounds, 8 callers. */
async function getManyCases(fx: Fixture<unknown>, caches: readonly { readonly name: string; readonly cache: EntityCache<unknown, never> }[], options: ThroughputOptions): Promise<BenchRow[]> {
  const keys = Array.from({ length: 100 }, (_, i) => withKey(fx, `many-${i}`) as never);
  await caches[0]?.cache.setMany(keys);
  const contenders: Record<string, Op> = {};
  for (const { name, cache } of caches) {
    contenders[`${name}: getMany`] = () => cache.getMany(keys);
    contenders[`${name}: singles`] = () => Promise.all(keys.map((k) => cache.get(k)));
  }
  const results = await compareThroughput(contenders, { ...options, concurrency: 8 });
  return caches.map(({ name }) => {
    const row = ratioRow(results, `${name}: getMany`, `${name}: singles`, `getMany(100) vs 100 single gets, ${name}`, fx.name, atLeast(5));
    return { ...row, subject: "accessor.getMany", baseline: "Promise.all of accessor.get", detail: `${kops(median(results.get(`${name}: getMany`) ?? []) * 100)} vs ${kops(median(results.get(`${name}: singles`) ?? []) * 100)} keys/s` };
  });
}

/** A row comparing two contenders of one run: the median of per-round ratios. */
export function ratioRow(results: Results, subject: string, baseline: string, caseName: string, entity: string, goal: Goal): BenchRow {
  const s = results.get(subject) ?? [];
  const b = results.get(baseline) ?? [];
  const ratio = median(s.map((v, i) => v / (b[i] ?? 1)));
  return { case: caseName, entity, subject, baseline, goal, ratio, pass: passes(goal, ratio), detail: `${kops(median(s))} vs ${kops(median(b))} ops/s` };
}

/** Throughput goal. */
export function atLeast(target: number): Goal {
  return { kind: "throughput-at-least", target };
}

/** The fixture's value with its key field(s) replaced, so callers use distinct keys. */
export function withKey(fx: Fixture<unknown>, id: string): unknown {
  const v = fx.value as Record<string, unknown>;
  return "tenantId" in v ? { ...v, sessionId: id } : { ...v, id };
}

/** The key fields alone of the fixture's value with id `id`: what a caller passes to `get` (a whole value would be copied per call). */
export function keyFieldsOf(fx: Fixture<unknown>, id: string): unknown {
  const v = fx.value as Record<string, unknown>;
  return "tenantId" in v ? { tenantId: v.tenantId, sessionId: id } : { id };
}

/** Thousands per second, one decimal. */
export function kops(opsPerSecond: number): string {
  return `${(opsPerSecond / 1000).toFixed(1)}k`;
}
