import { Redis } from "ioredis";
import { accessorCases } from "./cases/accessor.js";
import { codecCases } from "./cases/codec.js";
import { fixtures, type Fixture } from "./fixtures.js";
import type { BenchRow } from "./harness.js";
import { printTable } from "./report.js";
import { startRedis } from "../test/support/redis-server.js";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const wanted = (name: string): boolean => only === undefined || only.split(",").includes(name);
const list = fixtures() as unknown as Fixture<unknown>[];
const rows: BenchRow[] = [];

if (wanted("codec")) rows.push(...(await codecCases(list, { rounds: quick ? 3 : 7, timeMs: quick ? 100 : 200, batch: 50 })));
if (wanted("redis")) {
  const server = process.env["REDIS_URL"] ? undefined : await startRedis();
  const redis = new Redis(process.env["REDIS_URL"] ?? server?.url ?? "");
  try {
    rows.push(...(await accessorCases(redis, list, { rounds: quick ? 3 : 5, timeMs: quick ? 400 : 1000, concurrency: 64 })));
  } finally {
    redis.disconnect();
    await server?.stop();
  }
}
printTable(rows);
