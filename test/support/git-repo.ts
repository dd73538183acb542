import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { parseLock, serializeLock } from "../../codegen/lock.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./project.js";

const gitEnv = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" };

/** Runs git in `cwd`, returning stdout (throws on failure). */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: gitEnv, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Runs the protocache CLI in `cwd`. */
export function cli(cwd: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), ...args, "-C", cwd], { encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A temporary git repository with the example schemas generated and committed on `main`. */
export interface TempRepo {
  readonly root: string;
  /** Replaces `from` (which must occur) with `to` (text, or a function of the match as String.replace takes it) in a file. */
  edit(path: string, from: string | RegExp, to: string | ((match: string, ...groups: never[]) => string)): void;
  read(path: string): string;
  write(path: string, content: string): void;
  commit(message: string): string;
  remove(): void;
}

function wrap(root: string): TempRepo {
  return {
    root,
    edit(path, from, to) {
      const before = readFileSync(join(root, path), "utf8");
      const after = typeof to === "string" ? before.replace(from, to) : before.replace(from, to as (match: string, ...rest: unknown[]) => string);
      if (after === before) throw new Error(`edit of ${path}: ${String(from)} not found`);
      writeFileSync(join(root, path), after);
    },
    read: (path) => readFileSync(join(root, path), "utf8"),
    write: (path, content) => writeFileSync(join(root, path), content),
    commit(message) {
      git(root, "add", "-A");
      git(root, "commit", "-q", "-m", message);
      return git(root, "rev-parse", "HEAD");
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Creates the baseline repository once: the repo's schemas and lock,
 * generated, committed on main. Without the second major of User
 * (acme.user.v2, which migrates_from v1): the catalogue edits v1 on its own.
 */
export function baselineRepo(): TempRepo {
  const root = mkdtempSync(join(tmpdir(), "protocache-gate-"));
  for (const f of ["buf.yaml", "proto"]) cpSync(join(repoRoot, f), join(root, f), { recursive: true });
  rmSync(join(root, "proto", "acme", "user", "v2"), { recursive: true, force: true });
  const lockFile = join(root, "proto", "protocache.lock.json");
  const lock = parseLock(readFileSync(lockFile, "utf8"), "proto/protocache.lock.json");
  writeFileSync(lockFile, serializeLock({ entries: lock.entries.filter((e) => !("message" in e && e.message.startsWith("acme.user.v2."))) }));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name: "gate-fixture", private: true }));
  writeFileSync(join(root, ".gitignore"), "node_modules/\n");
  git(root, "init", "-q", "-b", "main");
  const gen = cli(root, "gen", "-q");
  if (gen.status !== 0) throw new Error(`baseline gen failed: ${gen.stderr}`);
  const repo = wrap(root);
  repo.commit("baseline");
  return repo;
}

/** A fresh copy (history included) of a repository, for one edit. */
export function copyRepo(source: TempRepo): TempRepo {
  const root = mkdtempSync(join(tmpdir(), "protocache-gate-case-"));
  cpSync(source.root, root, { recursive: true });
  return wrap(root);
}
