import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { accessorCases } from "./cases/accessor.js";
import { genCases } from "./cases/gen.js";
import { fixtures, type Fixture } from "./fixtures.js";
import type { BenchRow } from "./harness.js";
import { printTable, writeReport } from "./report.js";
import { startRedis } from "../test/support/redis-server.js";

/**
 * `npm run bench [-- --quick] [-- --only=codec,redis,gen]`: every case is a
 * ratio against a baseline measured side by side in the same run. Prints a
 * table, writes bench/results.json and docs/benchmarks.md (full runs only).
 */
const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const wanted = (name: string): boolean => only === undefined || only.split(",").includes(name);
const rows: BenchRow[] = [];
const here = import.meta.dirname;

function codecSuite(extra: string[]): BenchRow[] {
  const result = spawnSync(process.execPath, ["--import", "tsx", join(here, "suites", "codec.ts"), ...extra, ...(quick ? ["--quick"] : [])], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`codec suite failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as BenchRow[];
}

if (wanted("codec")) {
  console.error("codec: clean process …");
  rows.push(...codecSuite([]));
  console.error("codec: process with ioredis loaded …");
  rows.push(...codecSuite(["--with-ioredis"]).map((r) => ({ ...r, entity: `${r.entity}, ioredis loaded` })));
}
if (wanted("redis")) {
  console.error("redis: 64 concurrent callers …");
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  const redis = new Redis(process.env["REDIS_URL"] ?? server?.url ?? "");
  try {
    rows.push(...(await accessorCases(redis, fixtures() as unknown as Fixture<unknown>[], { rounds: quick ? 3 : 7, timeMs: quick ? 400 : 1000, concurrency: 64 })));
  } finally {
    redis.disconnect();
    await server?.stop();
  }
}
if (wanted("gen")) {
  console.error("gen …");
  rows.push(...genCases(quick ? 3 : 9));
}

printTable(rows);
if (!quick && only === undefined) writeReport(rows, join(here, "results.json"), join(here, "..", "docs", "benchmarks.md"));
else writeFileSync(join(here, ".work-results.json"), JSON.stringify(rows, null, 2));
