import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BenchRow } from "../../bench/harness.js";
import { sectionSuites, writeResults, type RunInfo } from "../../bench/report.js";

/**
 * bench/report.ts: a full `npm run bench` rewrites every generated table of
 * docs/benchmarks.md (the main one and each section suite's), so that no
 * table is left from an older run; an `--only` run rewrites only the
 * sections of the suites it ran.
 */
const row = (suite: string): BenchRow => ({
  suite,
  case: `${suite} case`,
  entity: "User (small)",
  subject: "s",
  baseline: "b",
  goal: { kind: "reported" },
  ratio: 1.5,
  pass: true,
  detail: `${suite} detail`,
});

const stale = "| stale row from an older run |";
const markers = (name?: string): string => (name === undefined ? `<!-- bench:start -->\n${stale}\n<!-- bench:end -->` : `<!-- bench:${name}:start -->\n${stale}\n<!-- bench:${name}:end -->`);

describe("bench/report writeResults", () => {
  let dir: string;
  let doc: string;
  const run = (rows: readonly BenchRow[], only: readonly string[] | undefined, quick = false): void => {
    const times = [...new Set(rows.map((r) => r.suite as string))].map((suite) => ({ suite, seconds: 1, rows: 1 }));
    const info: RunInfo = { times, totalSeconds: times.length, loadAtStart: [1, 1, 1], loadAtEnd: [2, 2, 2], quick, only, benchDir: dir, docPath: doc };
    writeResults(rows, info);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "bench-report-"));
    doc = join(dir, "benchmarks.md");
    writeFileSync(doc, ["# Benchmarks", "prose before", markers(), ...sectionSuites.flatMap((s) => [`## ${s} prose`, markers(s)]), "prose after", ""].join("\n\n"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("a full run replaces the main table and every section table, each with the command, and writes results.json and results-<suite>.json", () => {
    run([row("codec"), ...sectionSuites.map(row), row("gen")], undefined);
    const text = readFileSync(doc, "utf8");
    expect(text).not.toContain(stale);
    for (const suite of ["codec", "gen", ...sectionSuites]) expect(text).toContain(`${suite} detail`);
    expect(text.match(/with `npm run bench` on/g)?.length).toBe(1 + sectionSuites.length);
    expect(text).toContain("prose before");
    expect(text).toContain("prose after");
    const main = JSON.parse(readFileSync(join(dir, "results.json"), "utf8")) as { results: { suite: string }[]; suites: unknown[] };
    expect(main.results.map((r) => r.suite)).toEqual(["codec", "gen"]);
    expect(main.suites).toHaveLength(2 + sectionSuites.length);
    for (const suite of sectionSuites) {
      const section = JSON.parse(readFileSync(join(dir, `results-${suite}.json`), "utf8")) as { results: { suite: string }[] };
      expect(section.results.map((r) => r.suite)).toEqual([suite]);
    }
  });

  it("an --only run replaces only the sections of the suites it ran, not the main table", () => {
    run([row("loading"), row("redis")], ["loading", "redis"]);
    const text = readFileSync(doc, "utf8");
    expect(text).toContain("with `npm run bench -- --only=loading,redis` on");
    expect(text).toContain("loading detail");
    expect(text).not.toContain("redis detail");
    // The main table and the sections of l1, tags and json keep their rows.
    expect(text.split(stale).length - 1).toBe(1 + sectionSuites.length - 1);
    expect(existsSync(join(dir, "results.json"))).toBe(false);
  });

  it("a --quick run writes no table and no committed results", () => {
    run([row("codec"), row("loading")], undefined, true);
    expect(readFileSync(doc, "utf8").split(stale).length - 1).toBe(1 + sectionSuites.length);
    expect(existsSync(join(dir, "results.json"))).toBe(false);
    expect(existsSync(join(dir, ".work-results.json"))).toBe(true);
  });
});
