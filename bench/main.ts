import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { accessorCases, deadlineCases, deadlineCpuCases } from "./cases/accessor.js";
import { clientSettingsCases, settingNames } from "./cases/client-settings.js";
import { glideClient, ioredisClient, nodeRedisClient } from "./cases/clients.js";
import { genCases } from "./cases/gen.js";
import { compareCases, writeBackCases } from "./cases/migrations.js";
import { invalidationLatencyCases, l1HitCases, missReadCases, servedAgeCostCases, trackingCostCases } from "./cases/l1.js";
import { invalidationScaleCases, tagHitCases } from "./cases/tags.js";
import { l1HitRateCases } from "./cases/l1-hit-rate.js";
import { backgroundCompletionCases, batchFillCases, failSafeCases, loadingHitCases, stampedeCases } from "./cases/loading.js";
import { censusCases, metricsCases, migrateCases } from "./cases/ops.js";
import { fixtures, type Fixture } from "./fixtures.js";
import type { BenchRow } from "./harness.js";
import { printTable, writeReport } from "./report.js";
import { startRedis } from "../test/support/redis-server.js";

/**
 * `npm run bench [-- --quick] [-- --only=codec,json,redis,deadlines,clients,loading,l1,tags,migrations,ops,metrics,gen]`: every case is a
 * ratio against a baseline measured side by side in the same run. Prints a
 * table, writes bench/results.json and docs/benchmarks.md (full runs), or
 * bench/results-<suite>.json and that suite's section of docs/benchmarks.md
 * (a run of one suite that has a section there: `--only=loading`, `--only=l1`).
 */
const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const wanted = (name: string): boolean => only === undefined || only.split(",").includes(name);
const rows: BenchRow[] = [];
const here = import.meta.dirname;

/** Runs `bench/suites/<suite>.ts` in a process of its own and returns its rows. */
function childSuite(suite: string, extra: string[]): BenchRow[] {
  const result = spawnSync(process.execPath, ["--import", "tsx", join(here, "suites", `${suite}.ts`), ...extra, ...(quick ? ["--quick"] : [])], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${suite} suite failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as BenchRow[];
}

if (wanted("codec")) {
  console.error("codec: clean process …");
  rows.push(...childSuite("codec", []));
  console.error("codec: process with ioredis loaded …");
  rows.push(...childSuite("codec", ["--with-ioredis"]).map((r) => ({ ...r, entity: `${r.entity}, ioredis loaded` })));
}
if (wanted("json")) {
  console.error("json: toJson/fromJson vs protobuf-es and JSON.stringify, clean process …");
  rows.push(...childSuite("json", []));
}
if (wanted("migrations")) {
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  try {
    console.error("migrations: writeBack on vs off …");
    rows.push(...(await writeBackCases(process.env["REDIS_URL"] ?? server?.url ?? "", { rounds: quick ? 3 : 7, entries: quick ? 2000 : 10_000, timeMs: 0 })));
  } finally {
    await server?.stop();
  }
  console.error("migrations: SET IFEQ vs Lua on Redis 8.4+ …");
  rows.push(...(await compareCases({ rounds: quick ? 3 : 7, timeMs: quick ? 300 : 700 })));
}
if (wanted("redis") || wanted("deadlines") || wanted("clients")) {
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  const url = process.env["REDIS_URL"] ?? server?.url ?? "";
  const throughput = { rounds: quick ? 3 : 5, timeMs: quick ? 400 : 1000, concurrency: 64 };
  const fxs = fixtures() as unknown as Fixture<unknown>[];
  try {
    if (wanted("redis") || wanted("deadlines")) {
      console.error("redis: accessors on ioredis, node-redis and valkey-glide, 64 concurrent callers …");
      // ioredis as `new Redis(url)` makes it; node-redis with its per-command timeout off (docs/operations.md).
      const clients = [ioredisClient(url), await nodeRedisClient(url, "node-redis", 0), await glideClient(url)];
      try {
        if (wanted("redis")) rows.push(...(await accessorCases(clients, fxs, throughput)));
        rows.push(...(await deadlineCases(clients, fxs, { ...throughput, rounds: quick ? 3 : 9, timeMs: quick ? 300 : 500 })));
        rows.push(...(await deadlineCpuCases(fxs, { ...throughput, rounds: quick ? 3 : 9, timeMs: quick ? 300 : 500 })));
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    }
    if (wanted("clients")) {
      console.error("clients: settings of each client …");
      const clients = {
        ioredis: ioredisClient(url, settingNames.ioredis),
        ioredisFailFast: ioredisClient(url, settingNames.ioredisFailFast, { commandTimeout: 200, maxRetriesPerRequest: 1, enableOfflineQueue: false }),
        ioredisAuto: ioredisClient(url, settingNames.ioredisAuto, { enableAutoPipelining: true }),
        nodeRedis: await nodeRedisClient(url, settingNames.nodeRedis, undefined),
        nodeRedisOff: await nodeRedisClient(url, settingNames.nodeRedisOff, 0),
      };
      try {
        for (const fx of fxs) rows.push(...(await clientSettingsCases(clients, fx, throughput)));
      } finally {
        await Promise.all(Object.values(clients).map((c) => c.close()));
      }
    }
  } finally {
    await server?.stop();
  }
}
if (wanted("loading")) {
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  const url = process.env["REDIS_URL"] ?? server?.url ?? "";
  const fxs = fixtures() as unknown as Fixture<unknown>[];
  try {
    console.error("loading: getOrSet hits vs get, bentocache and cachified, 64 concurrent callers …");
    rows.push(...(await loadingHitCases(url, fxs, { rounds: quick ? 3 : 5, timeMs: quick ? 400 : 1000, concurrency: 64 })));
    console.error("loading: stampedes, in one process and across 4 …");
    rows.push(...(await stampedeCases(url, fxs, quick ? 2 : 5)));
    console.error("loading: getManyOrSet(100) vs 100 getOrSet, cold …");
    rows.push(...(await batchFillCases(url, fxs, { rounds: quick ? 3 : 5, timeMs: quick ? 400 : 1000, concurrency: 4 })));
    console.error("loading: fail-safe, 10k stale reads with a failing source …");
    rows.push(...(await failSafeCases(url, fxs)));
    console.error("loading: background completion vs abort, a source slower than the hard timeout …");
    rows.push(...(await backgroundCompletionCases(url, fxs, quick ? 3 : 5)));
  } finally {
    await server?.stop();
  }
}
if (wanted("l1")) {
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  const url = process.env["REDIS_URL"] ?? server?.url ?? "";
  const fxs = fixtures() as unknown as Fixture<unknown>[];
  try {
    console.error("l1: L1 hits vs get from Redis and bentocache memory + Redis + bus, copy vs frozen, 64 concurrent callers …");
    rows.push(...(await l1HitCases(url, fxs, { rounds: quick ? 3 : 7, timeMs: quick ? 300 : 500, concurrency: 64 })));
    console.error("l1: served-age histogram on vs off on the L1 hit path, and the staleness audit …");
    rows.push(...(await servedAgeCostCases(url, fxs, { rounds: quick ? 5 : 15, timeMs: quick ? 200 : 300, concurrency: 64 })));
    console.error("l1: the miss path (GET and PTTL) vs get without L1, and the ways of reading a TTL with a value …");
    rows.push(...(await missReadCases(url, fxs, { rounds: quick ? 3 : 5, timeMs: quick ? 300 : 500, concurrency: 64 })));
    const samples = quick ? 1000 : 2000;
    console.error(`l1: invalidation latency, ${samples} writes by another connection …`);
    rows.push(...(await invalidationLatencyCases(url, samples)));
    const entries = quick ? 5000 : 20_000;
    console.error(`l1: heap bytes per entry, ${entries / 1000}k entries (own process, --expose-gc) …`);
    const heap = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", join(here, "suites", "l1-heap.ts"), url, String(entries)], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (heap.status !== 0) throw new Error(`l1 heap suite failed: ${heap.stderr}`);
    rows.push(...(JSON.parse(heap.stdout) as BenchRow[]));
  } finally {
    await server?.stop();
  }
  console.error("l1: hit rate, TinyLfuMap vs lru-cache on a Zipf stream …");
  rows.push(...l1HitRateCases(quick ? { reads: 200_000 } : {}));
  const tracked = quick ? 20_000 : 100_000;
  console.error(`l1: server-side cost of per-key and BCAST tracking, ${tracked / 1000}k keys (fresh servers) …`);
  rows.push(...(await trackingCostCases(tracked)));
}
if (wanted("tags")) {
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  const url = process.env["REDIS_URL"] ?? server?.url ?? "";
  const fxs = fixtures() as unknown as Fixture<unknown>[];
  try {
    console.error("tags: hits of tagged vs untagged entries (L1, Redis), getOrSet with the invalidation option vs without, 64 concurrent callers …");
    rows.push(...(await tagHitCases(url, fxs, { rounds: quick ? 3 : 7, timeMs: quick ? 300 : 500, concurrency: 64 })));
    const big = quick ? 100_000 : 1_000_000;
    console.error(`tags: invalidateTags and clear() over ${big.toLocaleString("en")} entries vs 10 …`);
    rows.push(...(await invalidationScaleCases(url, fxs[0] as Fixture<unknown>, big, quick ? 20 : 100)));
  } finally {
    await server?.stop();
  }
}
if (wanted("ops") || wanted("metrics")) {
  // A server of their own: the cases FLUSHDB it between rounds.
  const server = await startRedis();
  try {
    if (wanted("ops")) {
      const keys = quick ? 50_000 : 200_000;
      const ops = { keys, rounds: quick ? 1 : 3, naiveSample: quick ? 500 : 2_000 };
      console.error(`ops: migrate ${keys / 1000}k small entries vs the naive loop and the raw pipelined copy …`);
      rows.push(...(await migrateCases(server.url, ops)));
      console.error(`ops: census of ${keys / 1000}k ~1 KB entries vs SCAN + full GET and SCAN + GETRANGE …`);
      rows.push(...(await censusCases(server.url, ops)));
    }
    if (wanted("metrics")) {
      console.error("metrics: no-op sink vs none …");
      rows.push(...(await metricsCases(server.url, quick ? 3 : 9, quick ? 300 : 500)));
    }
  } finally {
    await server.stop();
  }
}
if (wanted("gen")) {
  console.error("gen …");
  rows.push(...genCases(quick ? 3 : 9));
}

printTable(rows);
/** Suites whose run by itself rewrites their own section of docs/benchmarks.md. */
const sections = ["loading", "l1", "tags", "json"];
if (!quick && only === undefined) writeReport(rows, join(here, "results.json"), join(here, "..", "docs", "benchmarks.md"));
else if (!quick && only !== undefined && sections.includes(only)) writeReport(rows, join(here, `results-${only}.json`), join(here, "..", "docs", "benchmarks.md"), only);
else writeFileSync(join(here, ".work-results.json"), JSON.stringify(rows, null, 2));
