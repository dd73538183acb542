import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { buildImage, repoRoot } from "../support/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findBuf } from "../../codegen/buf.js";
import { spawnSync } from "node:child_process";
import { baselineRepo, cli, copyRepo, git, type TempRepo } from "../support/git-repo.js";

let base: TempRepo;
const dirs: string[] = [];
beforeAll(() => {
  base = baselineRepo();
});
afterAll(() => {
  base?.remove();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "protocache-env-"));
  dirs.push(d);
  return d;
}

describe("protocache check: environment and output", () => {
  it("exits 0 on a clean tree and prints what it compared with", () => {
    const r = cli(base.root, "check");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/note: compared with main \([0-9a-f]{12}\)/);
  });

  it("exits 2 with one line outside a git repository", () => {
    const dir = tempDir();
    for (const f of ["buf.yaml", "proto", "package.json", "generated"]) cpSync(join(base.root, f), join(dir, f), { recursive: true });
    const r = cli(dir, "check");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^protocache check: .* is not inside a git repository, so there is no "main" to compare with\n {2}run protocache check in the repository, or pass --against-image/);
  });

  it("exits 2 in a shallow single-branch clone and prints the git command that fetches the ref", () => {
    const repo = copyRepo(base);
    try {
      git(repo.root, "checkout", "-q", "-b", "feature");
      repo.edit("proto/acme/user/v1/user.proto", "string locale = 6", "string nickname = 7;\n  string locale = 6");
      repo.commit("feature work");
      const clone = tempDir();
      git(tmpdir(), "clone", "-q", "--depth", "1", "--single-branch", "--branch", "feature", `file://${repo.root}`, clone);
      const r = cli(clone, "check");
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/git ref "main" is not in this clone \(a shallow clone; current branch: feature\)\n {2}fetch it with: git fetch --no-tags --depth=1 origin main:main/);
      git(clone, "fetch", "-q", "--no-tags", "--depth=1", "origin", "main:main");
      const again = cli(clone, "check", "--against", "main");
      expect(again.stderr).toMatch(/compared with main/);
      expect(again.status).toBe(1);
      expect(again.stderr).toMatch(/lock-out-of-sync/);
    } finally {
      repo.remove();
    }
  });

  it("reads the base's own configuration: moving proto/ does not hide a breaking change", () => {
    const repo = copyRepo(base);
    try {
      git(repo.root, "mv", "proto", "schemas");
      repo.edit("buf.yaml", "  - path: proto", "  - path: schemas");
      repo.write("package.json", JSON.stringify({ name: "gate-fixture", private: true, protocache: { protoDir: "schemas" } }));
      repo.edit("schemas/acme/session/v1/session.proto", "int64 created_at_ms = 4;", "string created_at_ms = 4;");
      cli(repo.root, "gen", "-q");
      const r = cli(repo.root, "check");
      expect(r.stderr).toMatch(/schemas\/acme\/session\/v1\/session\.proto:\d+:\d+: \[FIELD_WIRE_COMPATIBLE_TYPE\]/);
      expect(r.status).toBe(1);
    } finally {
      repo.remove();
    }
  });

  it("exits 2 for a ref that does not exist in a repository without a remote: says so, names the current branch, suggests --against", () => {
    const r = cli(base.root, "check", "--against", "release-9");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^protocache check: git ref "release-9" does not exist in this repository, which has no remote to fetch it from \(current branch: main\)\n {2}compare with a branch that exists: pass --against main$/m);
    expect(r.stderr).not.toMatch(/git fetch/);
  });

  it("without main and without a remote (git init on master): the hint names the current branch and the branches to pass to --against, not a fetch", () => {
    const repo = copyRepo(base);
    try {
      git(repo.root, "branch", "-m", "main", "master");
      git(repo.root, "checkout", "-q", "-b", "feature");
      const r = cli(repo.root, "check");
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/git ref "main" does not exist in this repository, which has no remote to fetch it from \(current branch: feature\)\n {2}compare with a branch that exists: pass --against <branch> \(branches: feature, master\)/);
      const fresh = tempDir();
      cpSync(join(base.root, "proto"), join(fresh, "proto"), { recursive: true });
      for (const f of ["buf.yaml", "package.json"]) cpSync(join(base.root, f), join(fresh, f));
      git(fresh, "init", "-q", "-b", "master");
      const unborn = cli(fresh, "check");
      expect(unborn.status).toBe(2);
      expect(unborn.stderr).toMatch(/git ref "main" does not exist in this repository, which has no remote to fetch it from \(current branch: master, no commit yet\)\n {2}commit first, then pass --against <branch>/);
    } finally {
      repo.remove();
    }
  });

  it("exits 2 for a ref a clone lacks: the fetch command, or the remote-tracking name when the clone has it", () => {
    const clone = tempDir();
    git(tmpdir(), "clone", "-q", `file://${base.root}`, clone);
    git(clone, "checkout", "-q", "-b", "feature");
    git(clone, "branch", "-q", "-D", "main");
    const r = cli(clone, "check");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/git ref "main" is not in this clone \(current branch: feature\)\n {2}it is a remote-tracking branch here: pass --against origin\/main$/m);
    const missing = cli(clone, "check", "--against", "release-9");
    expect(missing.stderr).toMatch(/git ref "release-9" is not in this clone \(a single-branch clone\? current branch: feature\)\n {2}fetch it with: git fetch --no-tags origin release-9:release-9 \(or, if origin has no release-9, pass --against <branch>\)/);
  });

  it("compares with a saved image (--against-image) and says the lock history is not compared", async () => {
    const repo = copyRepo(base);
    try {
      const image = join(tempDir(), "base.binpb");
      await buildImage(repo.root, image);
      repo.edit("proto/acme/session/v1/session.proto", "int64 created_at_ms = 4;", "string created_at_ms = 4;");
      cli(repo.root, "gen", "-q");
      const r = cli(repo.root, "check", "--against-image", image);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/proto\/acme\/session\/v1\/session\.proto:\d+:\d+: \[FIELD_WIRE_COMPATIBLE_TYPE\] Field "4" with name "created_at_ms"/);
      expect(r.stderr).toMatch(/fix: to change the type of `created_at_ms`, add a new major: `acme.session.v2`/);
      expect(r.stderr).toMatch(/note: compared with image .*the lock history is not compared/);
      expect(cli(repo.root, "check", "--against-image", "/nonexistent.binpb").status).toBe(2);
      // A relative path (resolved against the working directory) and a JSON image work too.
      const json = join(tempDir(), "base.json");
      expect(spawnSync(findBuf(), ["build", image, "-o", json]).status).toBe(0);
      const viaJson = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), "check", "-C", repo.root, "--against-image", relative(process.cwd(), json)], { encoding: "utf8" });
      expect(viaJson.status).toBe(1);
      expect(viaJson.stderr).toMatch(/FIELD_WIRE_COMPATIBLE_TYPE/);
    } finally {
      repo.remove();
    }
  });

  it("prints findings as JSON with --json", () => {
    const repo = copyRepo(base);
    try {
      repo.edit("proto/acme/user/v1/user.proto", 'key: "user:{id}"', 'key: "user:{email}"');
      cli(repo.root, "gen", "-q");
      const r = cli(repo.root, "check", "--json");
      expect(r.status).toBe(1);
      const out = JSON.parse(r.stdout) as { ok: boolean; findings: { rule: string; location: { file: string; line: number }; breaks: string; fix: string }[] };
      expect(out.ok).toBe(false);
      expect(out.findings).toEqual([
        expect.objectContaining({ rule: "key-template-changed", location: expect.objectContaining({ file: "proto/acme/user/v1/user.proto", line: 8 }), fix: 'keep "user:{id}", or change the key in a new major (v2)' }),
      ]);
      const usage = cli(repo.root, "check", "--bogus");
      expect(usage.status).toBe(2);
    } finally {
      repo.remove();
    }
  });
});
