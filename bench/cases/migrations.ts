import { Redis } from "ioredis";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { userR1Entry } from "../../test/support/entries.js";
import { startRedis } from "../../test/support/redis-server.js";
import { redis8Server } from "../../test/support/redis8.js";
import { compareThroughput, median, passes, type BenchRow, type Goal } from "../harness.js";

/** Options of the migration cases. */
export interface MigrationBenchOptions {
  readonly rounds: number;
  /** Revision-1 entries read per round. */
  readonly entries: number;
  readonly timeMs: number;
}

/**
 * The cost of `writeBack` (the default): the same revision-1 entries read
 * with write-back on and off, alternating per round on fresh copies, on one
 * server. First read: the whole key space once (with write-back, each entry
 * also costs a background compare-and-set, whose completion is timed);
 * four reads: the same, then three more passes (with write-back they are
 * hits); and the first pass until the reads returned (the compare-and-sets
 * run in the background). Reads are getMany of 100, one caller, ioredis.
 */
export async function writeBackCases(url: string, options: MigrationBenchOptions): Promise<BenchRow[]> {
  const redis = new Redis(url);
  const store = new RedisStore(redis);
  const ids = Array.from({ length: options.entries }, (_, i) => ({ id: `u${i}` }));
  // Each entry holds its own key's id: a value whose key fields name another key is refused on read (key_mismatch), never written back.
  const entries = ids.map(({ id }) => userR1Entry({ id, name: "Ada", email: "ada@example.com" }));
  const times: Record<string, number[]> = { "first:on": [], "first:off": [], "four:on": [], "four:off": [], "reads:on": [], "reads:off": [] };
  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const passes of [1, 4]) {
        for (const mode of round % 2 === 0 ? ["on", "off"] : ["off", "on"]) {
          const prefix = `bench:wb:${round}:${passes}:${mode}:`;
          for (let i = 0; i < ids.length; i += 1000) {
            const p = redis.pipeline();
            for (let j = i; j < Math.min(ids.length, i + 1000); j++) p.set(`${prefix}user:v1:${ids[j]?.id}`, entries[j] as Buffer, "EX", 3600);
            await p.exec();
          }
          const users = userCache(store, { prefix, writeBack: mode === "on", deadlineMs: 0 });
          const start = performance.now();
          for (let pass = 0; pass < passes; pass++) {
            for (let i = 0; i < ids.length; i += 100) await users.getMany(ids.slice(i, i + 100));
          }
          if (passes === 1) times[`reads:${mode}`]?.push(performance.now() - start);
          if (passes === 1 && users.stats().reads.upgraded !== ids.length) throw new Error(`writeBack bench: ${users.stats().reads.upgraded} of ${ids.length} entries read as upgraded (reads: ${JSON.stringify(users.stats().reads)})`);
          if (mode === "on") {
            const settled = (): number => users.stats().writes.written_back + users.stats().writes.write_back_skipped + users.stats().writes.write_back_error;
            while (settled() < ids.length) await new Promise((r) => setImmediate(r));
            if (users.stats().writes.write_back_error > 0) throw new Error(`writeBack bench: ${users.stats().writes.write_back_error} write-backs failed`);
          }
          times[`${passes === 1 ? "first" : "four"}:${mode}`]?.push(performance.now() - start);
          await redis.eval("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('UNLINK', k) end", 0, `${prefix}*`);
        }
      }
    }
  } finally {
    redis.disconnect();
  }
  const row = (name: string, which: string, goal: Goal): BenchRow => {
    const on = median(times[`${which}:on`] ?? []);
    const off = median(times[`${which}:off`] ?? []);
    const ratio = on / off;
    return {
      case: name,
      entity: "User r1 → r2",
      subject: "writeBack: true",
      baseline: "writeBack: false",
      goal,
      ratio,
      pass: passes(goal, ratio),
      detail: `${on.toFixed(0)} vs ${off.toFixed(0)} ms for ${options.entries} entries`,
    };
  };
  return [
    row("writeBack on vs off: first read of each older entry, until the reads return", "reads", { kind: "time-at-most", target: 1.25 }),
    row("writeBack on vs off: first read of each older entry (+ its compare-and-set)", "first", { kind: "time-at-most", target: 2.5 }),
    row("writeBack on vs off: four reads of each older entry", "four", { kind: "time-at-most", target: 1.25 }),
  ];
}

/**
 * Compare-and-set throughput on one Redis 8.4+ server: `SET … IFEQ …
 * KEEPTTL` against the Lua script (EVALSHA) that older servers get, 64
 * concurrent callers, each replacing its own key's value with the other
 * of two values. Skipped (no row) when no 8.4+ server can be had.
 */
export async function compareCases(options: { rounds: number; timeMs: number; warmupMs: number }): Promise<BenchRow[]> {
  const found = redis8Server();
  if ("reason" in found) {
    console.error(`compare: skipped, ${found.reason}`);
    return [];
  }
  const server = await startRedis([], { server: found.server });
  const ifeqClient = new Redis(server.url);
  const luaClient = new Redis(server.url);
  const ifeq = new RedisStore(ifeqClient);
  const lua = new RedisStore(luaClient, { compare: "lua" });
  try {
    await ifeq.compare.ready();
    const a = Buffer.alloc(64, 1);
    const b = Buffer.alloc(64, 2);
    for (let c = 0; c < 64; c++) {
      await ifeqClient.set(`cas:ifeq:${c}`, a);
      await ifeqClient.set(`cas:lua:${c}`, a);
    }
    const results = await compareThroughput(
      {
        ifeq: (c, i) => ifeq.replaceIfEqual(`cas:ifeq:${c}`, i % 2 === 0 ? a : b, i % 2 === 0 ? b : a),
        lua: (c, i) => lua.replaceIfEqual(`cas:lua:${c}`, i % 2 === 0 ? a : b, i % 2 === 0 ? b : a),
      },
      { ...options, concurrency: 64 },
    );
    const s = median(results.get("ifeq") ?? []);
    const l = median(results.get("lua") ?? []);
    const goal: Goal = { kind: "throughput-at-least", target: 1.0 };
    return [
      {
        case: `compare-and-set on Redis ${found.version}: SET IFEQ vs Lua`,
        entity: "64-byte values",
        subject: "SET key value IFEQ expected KEEPTTL",
        baseline: "EVALSHA replaceIfEqual",
        goal,
        ratio: s / l,
        pass: passes(goal, s / l),
        detail: `${(s / 1000).toFixed(1)}k vs ${(l / 1000).toFixed(1)}k ops/s`,
      },
    ];
  } finally {
    ifeqClient.disconnect();
    luaClient.disconnect();
    await server.stop();
  }
}
