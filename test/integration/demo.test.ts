import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/project.js";

describe("npm run demo", () => {
  it("tells the whole story on a local redis-server with the counts each step must produce", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "examples", "demo", "main.ts")], { cwd: repoRoot, encoding: "utf8", timeout: 240_000 });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const out = run.stdout;
    expect(out).toMatch(/on a local redis-server on port \d+/);
    expect(out).toContain("legacy=960, legacy_rejected=40");
    expect(out).toContain("adopted=960, legacy_deleted=960");
    expect(out).toMatch(/user:v1:7 now: 5\d\d\.\d s left \(the old key's\), v3:user:7: absent/);
    expect(out).toContain('"fullName":"Unknown","verified":true,"locale":"en-US"');
    expect(out).toContain("upgraded=200, written_back=200");
    expect(out).toContain('"fullName":"Grace Hopper 0"');
    expect(out).toContain("invalidated=50 of 50");
    expect(out).toContain("one more pass over them: hit=150, miss=50");
    expect(out).toContain("read_through=960, miss=40");
    expect(out).toContain("migrated=960, migrate_skipped=0");
    expect(out).toContain("written=100, dual_written=100; v1 instances read them: hit=100, miss=0");
    expect(out).toContain("user:v2:5 absent, user:v1:5 absent");
  });

  it("runs on MemoryStore, and says so, where redis-server is not installed", () => {
    // A PATH with nothing on it: node itself is started by its absolute path.
    const env = { ...process.env, PATH: mkdtempSync(join(tmpdir(), "protocache-empty-path-")) };
    const run = spawnSync(process.execPath, ["--import", "tsx", join(repoRoot, "examples", "demo", "main.ts")], { cwd: repoRoot, encoding: "utf8", timeout: 240_000, env });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/on MemoryStore \(redis-server is not installed/);
    expect(run.stdout).toContain("migrated=960, migrate_skipped=0");
    expect(run.stdout).toContain("user:v2:5 absent, user:v1:5 absent");
  });
});
