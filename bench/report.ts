import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { basename, join } from "node:path";
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

/** How long one suite took in a run. */
export interface SuiteTime {
  readonly suite: string;
  readonly seconds: number;
  readonly rows: number;
}

/** What `writeResults` needs besides the rows. */
export interface RunInfo {
  readonly times: readonly SuiteTime[];
  readonly totalSeconds: number;
  /** `os.loadavg()` (1, 5, 15 minutes) when the run started and ended. */
  readonly loadAtStart: readonly number[];
  readonly loadAtEnd: readonly number[];
  readonly quick: boolean;
  /** The suites `--only` named; undefined for a full run. */
  readonly only: readonly string[] | undefined;
  readonly benchDir: string;
  readonly docPath: string;
}

/** Suites with a section of their own in docs/benchmarks.md (between `<!-- bench:<suite>:start -->` and its end marker); the others' rows make the main table. */
export const sectionSuites = ["loading", "l1", "tags", "json"] as const;

/**
 * Writes a run's results. Every run writes bench/.work-results.json
 * (ignored by git). A full run (not `--quick`, no `--only`) writes every
 * generated table of docs/benchmarks.md: the main one (bench/results.json)
 * and each section suite's (bench/results-<suite>.json), all with the date
 * and the command. An `--only` run writes the sections of the section
 * suites it ran; the main table only changes with a full run.
 */
export function writeResults(rows: readonly BenchRow[], run: RunInfo): void {
  writeFileSync(join(run.benchDir, ".work-results.json"), `${JSON.stringify(rows, null, 2)}\n`);
  if (run.quick) return;
  const command = run.only === undefined ? "npm run bench" : `npm run bench -- --only=${run.only.join(",")}`;
  const load = (l: readonly number[]): string => l.map((v) => v.toFixed(2)).join(", ");
  const timeOf = (suite: string): SuiteTime | undefined => run.times.find((t) => t.suite === suite);
  const took = (suite: string): string => `${(timeOf(suite)?.seconds ?? 0).toFixed(0)} s`;
  for (const section of sectionSuites) {
    if (timeOf(section) === undefined) continue;
    const note = run.only === undefined ? `This suite took ${took(section)} of the full run's ${run.totalSeconds.toFixed(0)} s.` : `This suite took ${took(section)}; load average (1, 5, 15 min) ${load(run.loadAtStart)} at the start, ${load(run.loadAtEnd)} at the end.`;
    writeReport(rows.filter((r) => r.suite === section), join(run.benchDir, `results-${section}.json`), run.docPath, command, note, section);
  }
  if (run.only !== undefined) return;
  const main = rows.filter((r) => !(sectionSuites as readonly string[]).includes(r.suite ?? ""));
  const note = [
    `The whole run (every table in this file) took ${run.totalSeconds.toFixed(0)} s: ${run.times.map((t) => `${t.suite} ${t.seconds.toFixed(0)} s`).join(", ")}.`,
    `Load average (1, 5, 15 min) ${load(run.loadAtStart)} at the start, ${load(run.loadAtEnd)} at the end (2 cores).`,
  ].join(" ");
  writeReport(main, join(run.benchDir, "results.json"), run.docPath, command, note, undefined, run.times);
}

/**
 * Writes `jsonPath` and replaces a generated table of docs/benchmarks.md,
 * keeping the prose around it: the main one (between `<!-- bench:start -->`
 * and `<!-- bench:end -->`), or one suite's (`section`, between
 * `<!-- bench:<section>:start -->` and its end marker).
 */
function writeReport(rows: readonly BenchRow[], jsonPath: string, mdPath: string, command: string, note: string, section?: string, times?: readonly SuiteTime[]): void {
  const start = section === undefined ? "<!-- bench:start -->" : `<!-- bench:${section}:start -->`;
  const end = section === undefined ? "<!-- bench:end -->" : `<!-- bench:${section}:end -->`;
  const env = environment(command);
  const json = rows.map((r) => ({ suite: r.suite, case: r.case, entity: r.entity, subject: r.subject, baseline: r.baseline, ratio: Number(r.ratio.toFixed(4)), target: goalText(r.goal), pass: r.pass, measured: r.detail }));
  const timing = times?.map((t) => ({ suite: t.suite, seconds: Number(t.seconds.toFixed(1)), rows: t.rows }));
  writeFileSync(jsonPath, `${JSON.stringify({ environment: env, ...(timing === undefined ? {} : { suites: timing }), results: json }, null, 2)}\n`);
  const table = [
    `Measured ${env["date"]?.slice(0, 10)} with \`${env["command"]}\` on Node ${env["node"]}, ${env["redis"]}, ${env["cpu"]}. ${note}`,
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
