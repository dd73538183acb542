import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBuf, tsProtoPluginDir } from "../../codegen/buf.js";
import { tsProtoOptions } from "../../codegen/ts-proto-options.js";
import { assembleWorkspace } from "../../codegen/workspace.js";
import { median, passes, type BenchRow, type Goal } from "../harness.js";

const repo = join(import.meta.dirname, "..", "..");

function timeCommand(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): number {
  const start = performance.now();
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
  return ms;
}

/**
 * `protocache gen` (the built CLI bundle) against plain `buf generate` with
 * the same ts-proto options, alternating, on a copy of the example project;
 * and gen over a synthetic 200-message project.
 */
export function genCases(rounds: number): BenchRow[] {
  const work = mkdtempSync(join(tmpdir(), "protocache-bench-gen-"));
  try {
    for (const f of ["buf.yaml", "package.json", "proto"]) cpSync(join(repo, f), join(work, f), { recursive: true });
    const cli = join(repo, "bin", "protocache.mjs");
    const pathEnv = { PATH: `${tsProtoPluginDir()}:${process.env["PATH"] ?? ""}` };
    const runGen = (env: NodeJS.ProcessEnv = {}) => timeCommand(process.execPath, [cli, "gen", "-q", "-C", work], work, env);
    // The baseline sees the same buf workspace gen assembles (the schemas plus protocache's options).
    const workspace = assembleWorkspace(work, "proto");
    const template = JSON.stringify({ version: "v2", inputs: [{ directory: "proto" }], plugins: [{ local: "protoc-gen-ts_proto", out: "types", opt: tsProtoOptions }] });
    const runBuf = () => timeCommand(findBuf(), ["generate", "--template", template, "--output", join(work, "plain")], workspace.dir, pathEnv);
    runGen();
    runBuf();
    const warm: number[] = [];
    const cold: number[] = [];
    const plain: number[] = [];
    for (let r = 0; r < rounds; r++) {
      plain.push(runBuf());
      warm.push(runGen());
      cold.push(runGen({ PROTOCACHE_NO_CACHE: "1" }));
    }
    const goal: Goal = { kind: "time-at-most", target: 1.5 };
    const row = (subject: string, times: number[]): BenchRow => {
      const ratio = median(times.map((t, i) => t / (plain[i] ?? 1)));
      return { case: `npm run gen, example protos, ${subject.replace("protocache gen ", "")}`, entity: "acme.*", subject, baseline: "buf generate (ts-proto)", goal, ratio, pass: passes(goal, ratio), detail: `${median(times).toFixed(0)} ms vs ${median(plain).toFixed(0)} ms` };
    };
    const rows = [row("protocache gen (unchanged sources, tool cache warm)", warm), row("protocache gen (cold: PROTOCACHE_NO_CACHE=1)", cold)];
    rows.push(syntheticCase(cli));
    workspace.dispose();
    return rows;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function syntheticCase(cli: string): BenchRow {
  const work = mkdtempSync(join(tmpdir(), "protocache-bench-200-"));
  try {
    cpSync(join(repo, "buf.yaml"), join(work, "buf.yaml"));
    writeFileSync(join(work, "package.json"), "{}");
    for (let f = 0; f < 20; f++) {
      const dir = join(work, "proto", "synth", `p${f}`, "v1");
      mkdirSync(dir, { recursive: true });
      const messages = Array.from({ length: 10 }, (_, m) => `
// Synthetic entity ${f}.${m}.
message Entity${m} {
  option (protocache.v1.entity) = { key: "e${f}x${m}:{id}" ttl_seconds: 60 };
  message Part { string name = 1; int64 size = 2; }
  string id = 1;
  string title = 2 [(protocache.v1.field).default_string = "untitled"];
  int64 created_ms = 3;
  repeated Part parts = 4;
  map<string, string> tags = 5;
  Kind${m} kind = 6;
  optional double score = 7;
}

enum Kind${m} {
  KIND${m}_UNSPECIFIED = 0;
  KIND${m}_A = 1;
}`).join("\n");
      writeFileSync(join(dir, "entities.proto"), `syntax = "proto3";\n\npackage synth.p${f}.v1;\n\nimport "protocache/v1/options.proto";\n${messages}\n`);
    }
    const ms = timeCommand(process.execPath, [cli, "gen", "-q", "-C", work], work, { PROTOCACHE_NO_CACHE: "1" });
    const goal: Goal = { kind: "seconds-at-most", target: 5 };
    return { case: "npm run gen, synthetic 200 messages", entity: "20 files × 10", subject: "protocache gen (cold, first lock)", baseline: "—", goal, ratio: ms / 1000, pass: passes(goal, ms / 1000), detail: `${(ms / 1000).toFixed(2)} s` };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
