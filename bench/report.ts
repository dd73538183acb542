import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { goalText, type BenchRow } from "./harness.js";

const header = ["case", "entity", "ratio", "target", "pass", "measured (medians)"];

function cells(r: BenchRow): string[] {
  const value = r.goal.kind === "seconds-at-most" ? `${r.ratio.toFixed(2)} s` : `${r.ratio.toFixed(2)}×`;
  return [r.case, r.entity, value, goalText(r.goal), r.pass ? "yes" : "**no**", r.detail];
}

/** Prints the results as an aligned table. */
export function printTable(rows: readonly BenchRow[]): void {
  const body = rows.map((r) => cells(r).map((c) => c.replace(/\*\*/g, "")));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (row: readonly string[]): string => row.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
}

/** What the numbers were measured on. */
export function environment(): Record<string, string> {
  let redis = "unknown";
  try {
    redis = execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    // not on PATH
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    redis,
    cpu: `${cpus()[0]?.model ?? "unknown"} × ${cpus().length}`,
    command: "npm run bench",
  };
}

const start = "<!-- bench:start -->";
const end = "<!-- bench:end -->";

/**
 * Writes bench/results.json and replaces the generated section of
 * docs/benchmarks.md (between the bench markers), keeping the prose around it.
 */
export function writeReport(rows: readonly BenchRow[], jsonPath: string, mdPath: string): void {
  const env = environment();
  const json = rows.map((r) => ({ case: r.case, entity: r.entity, subject: r.subject, baseline: r.baseline, ratio: Number(r.ratio.toFixed(4)), target: goalText(r.goal), pass: r.pass, measured: r.detail }));
  writeFileSync(jsonPath, `${JSON.stringify({ environment: env, results: json }, null, 2)}\n`);
  const table = [
    `Measured ${env["date"]?.slice(0, 10)} with \`${env["command"]}\` on Node ${env["node"]}, ${env["redis"]}, ${env["cpu"]}.`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${cells(r).map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`),
    "",
    "Subjects and baselines per row are listed in `bench/results.json`.",
  ].join("\n");
  const previous = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : `# Benchmarks\n\n${start}\n${end}\n`;
  const [before, rest] = previous.includes(start) ? previous.split(start) : [`${previous}\n`, `\n${end}\n`];
  const after = (rest ?? "").split(end)[1] ?? "\n";
  writeFileSync(mdPath, `${before ?? ""}${start}\n${table}\n${end}${after}`);
}
