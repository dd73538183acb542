import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { basename } from "node:path";
import { goalText, type BenchRow } from "./harness.js";

const header = ["case", "entity", "ratio", "target", "pass", "measured (medians)"];

function cells(r: BenchRow): string[] {
  const value =
    r.goal.kind === "seconds-at-most" ? `${r.ratio.toFixed(2)} s`
    : r.goal.kind === "count-at-most" ? `${r.ratio}`
    : r.goal.kind === "ms-at-most" || (r.goal.kind === "reported" && r.goal.unit === "ms") ? `${r.ratio.toFixed(3)} ms`
    : r.goal.kind === "reported" && r.goal.unit === "B" ? `${Math.round(r.ratio)} B`
    : r.goal.kind === "fraction-at-least" ? `${(r.ratio * 100).toFixed(2)}%`
    : `${r.ratio.toFixed(2)}×`;
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
export function environment(command = "npm run bench"): Record<string, string> {
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
    command,
  };
}

/**
 * Writes `jsonPath` and replaces a generated section of docs/benchmarks.md,
 * keeping the prose around it: the full run's (between `<!-- bench:start -->`
 * and `<!-- bench:end -->`), or one suite's run by itself (`section`, between
 * `<!-- bench:<section>:start -->` and its end marker, with that suite's command).
 */
export function writeReport(rows: readonly BenchRow[], jsonPath: string, mdPath: string, section?: string): void {
  const start = section === undefined ? "<!-- bench:start -->" : `<!-- bench:${section}:start -->`;
  const end = section === undefined ? "<!-- bench:end -->" : `<!-- bench:${section}:end -->`;
  const env = environment(section === undefined ? "npm run bench" : `npm run bench -- --only=${section}`);
  const json = rows.map((r) => ({ case: r.case, entity: r.entity, subject: r.subject, baseline: r.baseline, ratio: Number(r.ratio.toFixed(4)), target: goalText(r.goal), pass: r.pass, measured: r.detail }));
  writeFileSync(jsonPath, `${JSON.stringify({ environment: env, results: json }, null, 2)}\n`);
  const table = [
    `Measured ${env["date"]?.slice(0, 10)} with \`${env["command"]}\` on Node ${env["node"]}, ${env["redis"]}, ${env["cpu"]}.`,
    "",
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${cells(r).map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`),
    "",
    `Subjects and baselines per row are listed in \`bench/${basename(jsonPath)}\`.`,
  ].join("\n");
  const previous = existsSync(mdPath) ? readFileSync(mdPath, "utf8") : `# Benchmarks\n\n${start}\n${end}\n`;
  const [before, rest] = previous.includes(start) ? previous.split(start) : [`${previous}\n`, `\n${end}\n`];
  const after = (rest ?? "").split(end)[1] ?? "\n";
  writeFileSync(mdPath, `${before ?? ""}${start}\n${table}\n${end}${after}`);
}
