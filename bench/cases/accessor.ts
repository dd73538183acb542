import type { Redis } from "ioredis";
import { createEntityCache, type EntityCache } from "../../src/accessor/entity-cache.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { RedisStore } from "../../src/stores/redis-store.js";
import type { Fixture } from "../fixtures.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";

/** Options of the accessor throughput cases. */
export interface ThroughputOptions {
  readonly rounds: number;
  readonly timeMs: number;
  readonly concurrency: number;
}

const keysPerCaller = 16;

/**
 * Accessor get/set throughput with 64 concurrent callers against three
 * hand-written baselines on the same Redis connection and data, plus
 * getMany of 100 keys against 100 concurrent single gets.
 */
export async function accessorCases(redis: Redis, list: readonly Fixture<unknown>[], options: ThroughputOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const fx of list) {
    const prefix = `bench:${fx.entity.entity}:`;
    const guarded = createEntityCache(fx.entity, new RedisStore(redis), { prefix });
    const unguarded = createEntityCache(fx.entity, new RedisStore(redis), { prefix, guardWrites: false });
    const keyOf = (caller: number, i: number): string => `${prefix}raw:${caller}:${i % keysPerCaller}`;
    const fieldsOf = (caller: number, i: number): never => withKey(fx, `${caller}-${i % keysPerCaller}`) as never;
    const valueOf = (caller: number, i: number): unknown => withKey(fx, `${caller}-${i % keysPerCaller}`);
    const preEncoded = encodeEnvelope(new Writer(), fx.entity.current.schemaId, fx.value, fx.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 0 }, Date.now());
    const pbBytes = Buffer.from(fx.type.encode(fx.pb).finish());
    const jsonText = JSON.stringify(fx.json);

    // Populate every key each contender reads.
    for (let caller = 0; caller < options.concurrency; caller++) {
      for (let i = 0; i < keysPerCaller; i++) {
        await guarded.set(valueOf(caller, i));
        await redis.set(keyOf(caller, i), preEncoded);
        await redis.set(`${keyOf(caller, i)}:pb`, pbBytes);
        await redis.set(`${keyOf(caller, i)}:json`, jsonText);
      }
    }

    const sets = await compareThroughput(
      {
        accessor: (c, i) => guarded.set(valueOf(c, i)),
        "accessor (guardWrites: false)": (c, i) => unguarded.set(valueOf(c, i)),
        protobufjs: (c, i) => redis.set(`${keyOf(c, i)}:pb`, fx.type.encode(fx.pb).finish() as Buffer, "EX", 3600),
        json: (c, i) => redis.set(`${keyOf(c, i)}:json`, JSON.stringify(fx.json), "EX", 3600),
        floor: (c, i) => redis.set(keyOf(c, i), preEncoded, "EX", 3600),
      },
      { ...options, warmupMs: 300 },
    );
    const gets = await compareThroughput(
      {
        accessor: (c, i) => guarded.get(fieldsOf(c, i)),
        protobufjs: async (c, i) => fx.type.decode((await redis.getBuffer(`${keyOf(c, i)}:pb`)) as Buffer),
        json: async (c, i) => JSON.parse((await redis.get(`${keyOf(c, i)}:json`)) as string),
        floor: (c, i) => redis.getBuffer(keyOf(c, i)),
      },
      { ...options, warmupMs: 300 },
    );
    const add = (op: string, results: Map<string, number[]>, subject: string, baseline: string, label: string, goal: Goal): void => {
      const s = results.get(subject) ?? [];
      const b = results.get(baseline) ?? [];
      const ratio = median(s.map((v, i) => v / (b[i] ?? 1)));
      rows.push({
        case: `accessor ${op}${subject === "accessor" ? "" : ", guardWrites: false,"} vs ${label}`,
        entity: fx.name,
        subject: subject === "accessor" ? `accessor.${op}` : subject,
        baseline: label,
        goal,
        ratio,
        pass: passes(goal, ratio),
        detail: `${kops(median(s))} vs ${kops(median(b))} ops/s`,
      });
    };
    for (const [op, results] of [["set", sets], ["get", gets]] as const) {
      add(op, results, "accessor", "protobufjs", "protobufjs + ioredis", { kind: "throughput-at-least", target: 0.95 });
      add(op, results, "accessor", "json", "JSON + ioredis", { kind: "throughput-at-least", target: 1.05 });
      add(op, results, "accessor", "floor", "raw ioredis, pre-encoded (floor)", { kind: "throughput-at-least", target: 0.85 });
    }
    // The same set cases without the never-downgrade guard (a Lua EVALSHA per write), to separate its cost.
    add("set", sets, "accessor (guardWrites: false)", "protobufjs", "protobufjs + ioredis", { kind: "throughput-at-least", target: 0.95 });
    add("set", sets, "accessor (guardWrites: false)", "json", "JSON + ioredis", { kind: "throughput-at-least", target: 1.05 });
    add("set", sets, "accessor (guardWrites: false)", "floor", "raw ioredis, pre-encoded (floor)", { kind: "throughput-at-least", target: 0.85 });
    rows.push(await getManyCase(fx, guarded, options));
  }
  return rows;
}

async function getManyCase(fx: Fixture<unknown>, cache: EntityCache<unknown, never>, options: ThroughputOptions): Promise<BenchRow> {
  const keys = Array.from({ length: 100 }, (_, i) => withKey(fx, `many-${i}`) as never);
  await cache.setMany(keys);
  const results = await compareThroughput(
    {
      getMany: () => cache.getMany(keys),
      singles: () => Promise.all(keys.map((k) => cache.get(k))),
    },
    { rounds: options.rounds, timeMs: options.timeMs, concurrency: 8, warmupMs: 300 },
  );
  const s = results.get("getMany") ?? [];
  const b = results.get("singles") ?? [];
  const ratio = median(s.map((v, i) => v / (b[i] ?? 1)));
  const goal: Goal = { kind: "throughput-at-least", target: 5 };
  return {
    case: "getMany(100) vs 100 single gets",
    entity: fx.name,
    subject: "accessor.getMany",
    baseline: "Promise.all of accessor.get",
    goal,
    ratio,
    pass: passes(goal, ratio),
    detail: `${kops(median(s) * 100)} vs ${kops(median(b) * 100)} keys/s`,
  };
}

/** The fixture's value with its key field(s) replaced, so callers use distinct keys. */
function withKey(fx: Fixture<unknown>, id: string): unknown {
  const v = fx.value as Record<string, unknown>;
  return "tenantId" in v ? { ...v, sessionId: id } : { ...v, id };
}

function kops(opsPerSecond: number): string {
  return `${(opsPerSecond / 1000).toFixed(1)}k`;
}
