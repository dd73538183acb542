import { defineConfig } from "vitest/config";

/** Where .ci/run wants a JSON report besides the console output (it counts passed and failed tests from it). */
const jsonReport = process.env["PROTOCACHE_TEST_REPORT"] || undefined;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Hang guards, not speed limits: one value for every test and hook (no file sets its own), generous enough that
    // a test or setup that is slow but progressing finishes on a saturated machine (the slowest, packing and
    // type-checking projects, take about a minute there), and still ends a run that hangs. docs/reliability.md,
    // "A test suite that holds on a busy machine".
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // expect.poll waits for an event (an invalidation heard, a background write done): 30 s is a hang guard too, where
    // vitest's default (1 s) is a guess a saturated machine outlasts. It returns as soon as the condition holds.
    expect: { poll: { timeout: 30_000 } },
    pool: "forks",
    maxWorkers: 2,
    ...(jsonReport === undefined ? {} : { reporters: ["default", "json"], outputFile: { json: jsonReport } }),
  },
});
