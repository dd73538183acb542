import { defineConfig } from "vitest/config";

/** Where .ci/run wants a JSON report besides the console output (it counts passed and failed tests from it). */
const jsonReport = process.env["PROTOCACHE_TEST_REPORT"] || undefined;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    ...(jsonReport === undefined ? {} : { reporters: ["default", "json"], outputFile: { json: jsonReport } }),
  },
});
