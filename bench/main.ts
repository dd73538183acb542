import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { join } from "node:path";
import { accessorCases, deadlineCases, deadlineCpuCases } from "./cases/accessor.js";
import { clientSettingsCases, settingNames } from "./cases/client-settings.js";
import { glideClient, ioredisClient, nodeRedisClient, type BenchClient } from "./cases/clients.js";
import { genCases } from "./cases/gen.js";
import { compareCases, writeBackCases } from "./cases/migrations.js";
import { invalidationLatencyCases, l1HitCases, missReadCases, servedAgeCostCases, trackingCostCases } from "./cases/l1.js";
import { invalidationScaleCases, tagHitCases } from "./cases/tags.js";
import { l1HitRateCases } from "./cases/l1-hit-rate.js";
import { backgroundCompletionCases, batchFillCases, failSafeCases, loadingHitCases, stampedeCases } from "./cases/loading.js";
import { censusCases, metricsCases, migrateCases } from "./cases/ops.js";
import { fixtures, type Fixture } from "./fixtures.js";
import type { BenchRow } from "./harness.js";
import { printTable, writeResults, type SuiteTime } from "./report.js";
import { startRedis } from "../test/support/redis-server.js";

/**
 * `npm run bench [-- --quick] [-- --only=codec,json,...]`: every case is a
 * ratio against a baseline measured side by side in the same run. Prints a
 * table and each suite's time (stderr). A full run writes every generated
 * table of docs/benchmarks.md (the main one and the sections of loading,
 * l1, tags and json) with bench/results.json and bench/results-<suite>.json;
 * an `--only` run writes the sections of the suites it ran that have one.
 * `--quick` only prints (fewer and shorter rounds, smaller fixed workloads).
 */
const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const here = import.meta.dirname;
/** A setting of the full run, or of `--quick`. */
const pick = <T>(full: T, fast: T): T => (quick ? fast : full);

/** Rounds of 64 concurrent callers against Redis: every contender runs `timeMs` per round, interleaved, after one warm-up. */
const throughput = { rounds: pick(5, 3), timeMs: pick(250, 60), warmupMs: pick(150, 40), concurrency: 64 };
/** Pairs that differ by a few percent (deadlines, served age, metrics sinks): more and shorter rounds. */
const pairs = { ...throughput, rounds: pick(9, 3), timeMs: pick(150, 50) };
/** tinybench rounds of the codec and JSON micro-benchmarks (calls per sample: 50). */
const micro = { rounds: pick(5, 3), timeMs: pick(150, 40) };

/** One suite: its rows come from `run`, which starts and stops what it needs. */
interface Suite {
  readonly name: string;
  run(): Promise<BenchRow[]>;
}

/** Runs `bench/suites/<suite>.ts` in a process of its own and returns its rows. */
function childSuite(suite: string, args: string[], node: string[] = []): BenchRow[] {
  const result = spawnSync(process.execPath, [...node, "--import", "tsx", join(here, "suites", `${suite}.ts`), ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`${suite} suite failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as BenchRow[];
}

/** Runs `work` against REDIS_URL, or a redis-server of its own, stopped after. */
async function onRedis<T>(work: (url: string) => Promise<T>, own = false): Promise<T> {
  const server = process.env["REDIS_URL"] === undefined || own ? await startRedis() : undefined;
  try {
    return await work(server?.url ?? (process.env["REDIS_URL"] as string));
  } finally {
    await server?.stop();
  }
}

/** ioredis as `new Redis(url)` makes it, node-redis with its per-command timeout off (docs/operations.md), and valkey-glide, closed after `work`. */
async function withEveryClient<T>(url: string, work: (clients: BenchClient[]) => Promise<T>): Promise<T> {
  const clients = [ioredisClient(url), await nodeRedisClient(url, "node-redis", 0), await glideClient(url)];
  try {
    return await work(clients);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

const fxs = (): Fixture<unknown>[] => fixtures() as unknown as Fixture<unknown>[];
const started = performance.now();
/** Progress on stderr, with the seconds since the run started. */
const say = (text: string): void => console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${text}`);

const suites: Suite[] = [
  {
    name: "codec",
    run: async () => {
      const args = [String(micro.rounds), String(micro.timeMs)];
      say("codec: clean process …");
      const clean = childSuite("codec", args);
      say("codec: process with ioredis loaded …");
      const loaded = childSuite("codec", [...args, "--with-ioredis"]).map((r) => ({ ...r, entity: `${r.entity}, ioredis loaded` }));
      return [...clean, ...loaded];
    },
  },
  {
    name: "json",
    run: async () => {
      say("json: toJson/fromJson vs protobuf-es and JSON.stringify, clean process …");
      return childSuite("json", [String(micro.rounds), String(micro.timeMs)]);
    },
  },
  {
    name: "migrations",
    run: async () => {
      const entries = pick(10_000, 2000);
      say(`migrations: writeBack on vs off, ${entries / 1000}k entries …`);
      const rows = await onRedis((url) => writeBackCases(url, { rounds: pick(5, 3), entries, timeMs: 0 }));
      say("migrations: SET IFEQ vs Lua on Redis 8.4+ …");
      rows.push(...(await compareCases({ ...throughput, timeMs: pick(300, 60) })));
      return rows;
    },
  },
  {
    name: "redis",
    run: () =>
      onRedis(async (url) => {
        say("redis: accessors on ioredis, node-redis and valkey-glide, bentocache writes, 64 concurrent callers …");
        return withEveryClient(url, (clients) => accessorCases(clients, fxs(), { ...throughput, redisUrl: url }));
      }),
  },
  {
    name: "deadlines",
    run: () =>
      onRedis(async (url) => {
        say("deadlines: on vs off, each client and without I/O …");
        return withEveryClient(url, async (clients) => [...(await deadlineCases(clients, fxs(), pairs)), ...(await deadlineCpuCases(fxs(), pairs))]);
      }),
  },
  {
    name: "clients",
    run: () =>
      onRedis(async (url) => {
        say("clients: settings of each client …");
        const clients = {
          ioredis: ioredisClient(url, settingNames.ioredis),
          ioredisFailFast: ioredisClient(url, settingNames.ioredisFailFast, { commandTimeout: 200, maxRetriesPerRequest: 1, enableOfflineQueue: false }),
          ioredisAuto: ioredisClient(url, settingNames.ioredisAuto, { enableAutoPipelining: true }),
          nodeRedis: await nodeRedisClient(url, settingNames.nodeRedis, undefined),
          nodeRedisOff: await nodeRedisClient(url, settingNames.nodeRedisOff, 0),
        };
        try {
          const rows: BenchRow[] = [];
          for (const fx of fxs()) rows.push(...(await clientSettingsCases(clients, fx, throughput)));
          return rows;
        } finally {
          await Promise.all(Object.values(clients).map((c) => c.close()));
        }
      }),
  },
  {
    name: "loading",
    run: () =>
      onRedis(async (url) => {
        const rows: BenchRow[] = [];
        say("loading: getOrSet hits vs get, bentocache and cachified, 64 concurrent callers …");
        rows.push(...(await loadingHitCases(url, fxs(), throughput)));
        say("loading: stampedes, in one process and across 4 …");
        rows.push(...(await stampedeCases(url, fxs(), pick(3, 1))));
        say("loading: getManyOrSet(100) vs 100 getOrSet, cold …");
        rows.push(...(await batchFillCases(url, fxs(), throughput)));
        const stale = pick(10_000, 2000);
        say(`loading: fail-safe, ${stale / 1000}k stale reads with a failing source …`);
        rows.push(...(await failSafeCases(url, fxs(), stale)));
        say("loading: background completion vs abort, a source slower than the hard timeout …");
        rows.push(...(await backgroundCompletionCases(url, fxs(), pick(5, 2))));
        return rows;
      }),
  },
  {
    name: "l1",
    run: async () => {
      const rows = await onRedis(async (url) => {
        const out: BenchRow[] = [];
        say("l1: L1 hits vs get from Redis and bentocache memory + Redis + bus, copy vs frozen, 64 concurrent callers …");
        out.push(...(await l1HitCases(url, fxs(), throughput)));
        say("l1: served-age histogram on vs off on the L1 hit path, and the staleness audit …");
        out.push(...(await servedAgeCostCases(url, fxs(), pairs)));
        say("l1: the miss path (GET and PTTL) vs get without L1, and the ways of reading a TTL with a value …");
        out.push(...(await missReadCases(url, fxs(), throughput)));
        const samples = pick(2000, 500);
        say(`l1: invalidation latency, ${samples} writes by another connection …`);
        out.push(...(await invalidationLatencyCases(url, samples)));
        const entries = pick(20_000, 2000);
        say(`l1: heap bytes per entry, ${entries / 1000}k entries (own process, --expose-gc) …`);
        out.push(...childSuite("l1-heap", [url, String(entries)], ["--expose-gc"]));
        return out;
      });
      say("l1: hit rate, TinyLfuMap vs lru-cache on a Zipf stream …");
      rows.push(...l1HitRateCases({ reads: pick(1_000_000, 100_000) }));
      const tracked = pick(100_000, 10_000);
      say(`l1: server-side cost of per-key and BCAST tracking, ${tracked / 1000}k keys (fresh servers) …`);
      rows.push(...(await trackingCostCases(tracked)));
      return rows;
    },
  },
  {
    name: "tags",
    run: () =>
      onRedis(async (url) => {
        say("tags: hits of tagged vs untagged entries (L1, Redis), getOrSet with the invalidation option vs without, 64 concurrent callers …");
        const rows = await tagHitCases(url, fxs(), throughput);
        const big = pick(1_000_000, 20_000);
        say(`tags: invalidateTags and clear() over ${big.toLocaleString("en")} entries vs 10 …`);
        rows.push(...(await invalidationScaleCases(url, fxs()[0] as Fixture<unknown>, big, pick(100, 20))));
        return rows;
      }),
  },
  {
    name: "ops",
    // A server of its own: the cases FLUSHDB it between rounds.
    run: () =>
      onRedis(async (url) => {
        const keys = pick(50_000, 10_000);
        const ops = { keys, rounds: pick(3, 1), naiveSample: pick(1000, 300) };
        say(`ops: migrate ${keys / 1000}k small entries vs the naive loop and the raw pipelined copy …`);
        const rows = await migrateCases(url, ops);
        say(`ops: census of ${keys / 1000}k ~1 KB entries vs SCAN + full GET and SCAN + GETRANGE …`);
        rows.push(...(await censusCases(url, ops)));
        return rows;
      }, true),
  },
  {
    name: "metrics",
    run: () =>
      onRedis(async (url) => {
        say("metrics: no-op sink vs none …");
        return metricsCases(url, pairs);
      }, true),
  },
  {
    name: "gen",
    run: async () => {
      say("gen …");
      return genCases(pick(5, 1));
    },
  },
];

if (only !== undefined) {
  const unknown = only.filter((name) => !suites.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown suite(s): ${unknown.join(", ")}; suites: ${suites.map((s) => s.name).join(", ")}`);
}
const loadAtStart = loadavg();
const rows: BenchRow[] = [];
const times: SuiteTime[] = [];
for (const suite of suites) {
  if (only !== undefined && !only.includes(suite.name)) continue;
  const t = performance.now();
  const suiteRows = await suite.run();
  const seconds = (performance.now() - t) / 1000;
  times.push({ suite: suite.name, seconds, rows: suiteRows.length });
  say(`${suite.name}: ${seconds.toFixed(1)} s, ${suiteRows.length} rows (load average ${loadavg()[0]?.toFixed(2)})`);
  rows.push(...suiteRows.map((r) => ({ ...r, suite: suite.name })));
}
const total = (performance.now() - started) / 1000;
say(`all suites: ${total.toFixed(1)} s (${times.map((t) => `${t.suite} ${t.seconds.toFixed(0)} s`).join(", ")})`);

printTable(rows);
writeResults(rows, { times, totalSeconds: total, loadAtStart, loadAtEnd: loadavg(), quick, only, benchDir: here, docPath: join(here, "..", "docs", "benchmarks.md") });
