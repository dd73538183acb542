// `npm run hostile [-- --runs=N] [-- --skip-huge]`: measures every hostile stored value of
// test/support/hostile-values.ts (the ones test/unit/hostile-reads.test.ts asserts bounds on), each read in a
// fresh process (bench/hostile-case.ts) N times (default 5) as the process's first read and N times after a
// warm-up, at the default options and with the budgets
// raised to 10^9 (what the same read costs without them), plus a getMany of 1000 worst-case values and a
// 500 MB value in a real redis-server, and rewrites the table between the hostile markers of
// docs/reliability.md. The figures there are the last run of this command.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { MAX_WORK } from "../src/codec/work.js";
import { hostileValues, malformedValues, worstBatchValue, type HostileValue } from "../test/support/hostile-values.js";
import { startRedis } from "../test/support/redis-server.js";

const here = import.meta.dirname;
const root = join(here, "..");
const runs = Number(process.argv.find((x) => x.startsWith("--runs="))?.slice("--runs=".length) ?? 5);
const skipHuge = process.argv.includes("--skip-huge");
const work = join(root, ".tmp", "hostile");
mkdirSync(work, { recursive: true });
const MiB = 1024 * 1024;

interface Measured {
  readonly outcome: string;
  readonly reason?: string;
  readonly work?: number;
  readonly ms: number;
  readonly peakBytes: number;
}

function child(args: readonly string[], cold = false): Measured {
  const env = { ...process.env, PROTOCACHE_COLD: cold ? "1" : "0" };
  const run = spawnSync(process.execPath, ["--import", "tsx", join(here, "hostile-case.ts"), ...args], { encoding: "utf8", maxBuffer: 1 << 20, env });
  if (run.status !== 0) return { outcome: `crashed (${run.signal ?? `exit ${run.status}`}: ${run.stderr.trim().split("\n").pop() ?? ""})`, ms: NaN, peakBytes: NaN };
  return JSON.parse(run.stdout.trim().split("\n").pop() as string) as Measured;
}

/** The median of the runs, and their range when it differs: `12.3 (10.1–15.0)`. */
const range = (xs: readonly number[], digits: number): string => {
  const ok = xs.filter((x) => Number.isFinite(x)).sort((p, q) => p - q);
  if (ok.length === 0) return "–";
  const mid = (ok[(ok.length - 1) >> 1] as number).toFixed(digits);
  const lo = (ok[0] as number).toFixed(digits);
  const hi = (ok[ok.length - 1] as number).toFixed(digits);
  return lo === hi ? mid : `${mid} (${lo}–${hi})`;
};
const outcomeOf = (m: Measured): string => (m.reason === undefined ? m.outcome : `${m.outcome} (\`${m.reason}\`)`);
const num = (n: number): string => n.toLocaleString("en-US").replace(/,/g, " ");

const rows: string[][] = [];
const all: readonly HostileValue[] = [...hostileValues, ...malformedValues];
for (const [i, value] of all.entries()) {
  const file = join(work, `case-${i}.bin`);
  const bytes = value.bytes();
  writeFileSync(file, bytes);
  const bounded = Array.from({ length: runs }, () => child(["read", String(i), file]));
  const cold = Array.from({ length: runs }, () => child(["read", String(i), file], true));
  const first = bounded[0] as Measured;
  // What the same read costs with the budget out of the way (bounded only by maxPayloadBytes and depth, as before issue 19).
  const big = hostileValues.includes(value) && first.outcome !== "corrupt" ? child(["read", String(i), file, String(MAX_WORK)]) : undefined;
  rows.push([
    value.name,
    num(bytes.length),
    outcomeOf(first),
    num(first.work ?? 0),
    range(cold.map((m) => m.ms), 1),
    range(bounded.map((m) => m.ms), 1),
    range([...cold, ...bounded].map((m) => m.peakBytes / MiB), 1),
    (first.work ?? 0) < 10_000 ? "–" : range(bounded.map((m) => (m.ms * 1e6) / (m.work as number)), 0),
    big === undefined ? "–" : `${outcomeOf(big)}, ${big.ms.toFixed(0)} ms, ${(big.peakBytes / MiB).toFixed(1)} MiB`,
  ]);
  console.error(`${rows.length}/${all.length} ${value.name}: ${rows[rows.length - 1]?.slice(2).join(" | ")}`);
}

const batchFile = join(work, "batch.bin");
const batchValue = worstBatchValue();
writeFileSync(batchFile, batchValue);
const batch = Array.from({ length: runs }, () => child(["batch", "1000", batchFile]));
const batchCold = Array.from({ length: runs }, () => child(["batch", "1000", batchFile], true));
const batchBig = child(["batch", "6", batchFile, String(MAX_WORK), String(MAX_WORK)]);
rows.push([
  "`getMany` of 1000 keys, each the brotli-compressed 900 000-key map above",
  num(batchValue.length * 1000),
  (batch[0] as Measured).outcome,
  "8 388 608 (maxBatchWork)",
  range(batchCold.map((m) => m.ms), 0),
  range(batch.map((m) => m.ms), 0),
  range([...batchCold, ...batch].map((m) => m.peakBytes / MiB), 1),
  "–",
  `6 keys only: ${batchBig.outcome}, ${batchBig.ms.toFixed(0)} ms, ${(batchBig.peakBytes / MiB).toFixed(0)} MiB`,
]);

const huge: string[] = [];
if (!skipHuge) {
  for (const args of [[], ["--proto-max-bulk-len", "16mb"]]) {
    const server = await startRedis(args);
    const redis = new Redis(server.url);
    let stored = "stored";
    try {
      await redis.set("user:v1:huge", Buffer.alloc(500_000_000, 0x61));
    } catch (error) {
      stored = `refused by the server (${(error as Error).message})`;
    }
    const got = Array.from({ length: runs }, () => child(["huge", server.url]));
    huge.push(
      `| ${args.length === 0 ? "defaults (proto-max-bulk-len 512mb)" : "`proto-max-bulk-len 16mb`"} | ${stored} | ${(got[0] as Measured).outcome} | ${range(got.map((m) => m.ms), 0)} | ${range(got.map((m) => m.peakBytes / MiB), 0)} |`,
    );
    redis.disconnect();
    await server.stop();
  }
}

const header = ["hostile value", "stored bytes", "outcome", "work units", "time, first read (ms)", "time, warm (ms)", "peak memory (MiB)", "ns per unit (warm)", "with maxReadWork 10^9 (warm)"];
const table = [
  `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run hostile\` on Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length} (load average ${loadavg()[0]?.toFixed(1)} at the start, shared with other work): each read in a fresh process, as its first read ("first read": its code not yet optimized) or after 2000 reads of typical values ("warm"), ${runs} runs of each: median (min–max); peak memory is V8 heap in use above the start, sampled before every collection, plus ArrayBuffer memory held at the end.`,
  "",
  `| ${header.join(" | ")} |`,
  `| ${header.map(() => "---").join(" | ")} |`,
  ...rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`),
  ...(huge.length === 0
    ? []
    : [
        "",
        "A 500 MB value at a key (`get` through ioredis, `deadlineMs` 200; memory is the process's RSS growth over the 4 s after the call):",
        "",
        "| server | SET of 500 MB | `get` | returned after (ms) | RSS growth (MiB) |",
        "| --- | --- | --- | --- | --- |",
        ...huge,
      ]),
].join("\n");

const doc = join(root, "docs", "reliability.md");
const start = "<!-- hostile:start -->";
const end = "<!-- hostile:end -->";
const text = readFileSync(doc, "utf8");
const from = text.indexOf(start);
const to = text.indexOf(end);
if (from < 0 || to < from) throw new Error(`${doc} has no ${start} … ${end} section`);
writeFileSync(doc, `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`);
console.log(table);
