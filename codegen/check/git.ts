import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";

/** The environment cannot answer the question (no git, missing ref): exit code 2, not a finding. */
export class CheckEnvironmentError extends Error {
  override readonly name = "CheckEnvironmentError";
  /** The exact command or step that fixes it. */
  readonly hint: string;

  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

function git(root: string, args: readonly string[], input?: Buffer): { status: number; stdout: Buffer; stderr: string } {
  const result = spawnSync("git", args, { cwd: root, input, maxBuffer: 1 << 28 });
  if (result.error !== undefined) throw new CheckEnvironmentError(`cannot run git: ${result.error.message}`, "install git, or pass --against-image <file> built with `buf build -o`");
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr.toString("utf8") };
}

/** The commit a ref names, or a {@link CheckEnvironmentError} that says how to get it. */
export function resolveRef(root: string, ref: string): string {
  if (git(root, ["rev-parse", "--is-inside-work-tree"]).status !== 0) {
    throw new CheckEnvironmentError(`${root} is not inside a git repository, so there is no "${ref}" to compare with`, "run protocache check in the repository, or pass --against-image <file> built with `buf build -o <file>` on the base");
  }
  const found = git(root, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  if (found.status === 0) return found.stdout.toString("utf8").trim();
  const shallow = git(root, ["rev-parse", "--is-shallow-repository"]).stdout.toString("utf8").trim() === "true";
  const depth = shallow ? " --depth=1" : "";
  let fetch: string;
  if (/^[0-9a-f]{7,40}$/i.test(ref)) fetch = `git fetch --no-tags${depth} origin ${ref}`;
  else if (/[~^@:]/.test(ref)) fetch = shallow ? "git fetch --unshallow (the ref is relative to history this clone does not have)" : `git fetch origin (then check that ${ref} exists)`;
  else if (ref.startsWith("origin/")) fetch = `git fetch --no-tags${depth} origin ${ref.slice("origin/".length)}:refs/remotes/${ref}`;
  else fetch = `git fetch --no-tags${depth} origin ${ref}:${ref}`;
  throw new CheckEnvironmentError(`git ref "${ref}" is not in this clone${shallow ? " (a shallow clone)" : " (a single-branch clone?)"}`, `fetch it with: ${fetch}`);
}

/**
 * Copies the given paths (files or directories) as they are at `commit`
 * into `dir` (created if needed); paths missing at that commit are skipped.
 */
export function exportPaths(root: string, commit: string, paths: readonly string[], dir: string): void {
  mkdirSync(dir, { recursive: true });
  const listed = git(root, ["ls-tree", "-r", "--name-only", commit, "--", ...paths]);
  const files = listed.stdout.toString("utf8").split("\n").filter((f) => f !== "");
  if (files.length === 0) return;
  const archive = git(root, ["archive", "--format=tar", commit, "--", ...files]);
  if (archive.status !== 0) throw new CheckEnvironmentError(`git archive ${commit} failed: ${archive.stderr.trim()}`, "check that the repository is readable");
  const untar = spawnSync("tar", ["-x", "-C", dir], { input: archive.stdout });
  if (untar.status !== 0) throw new CheckEnvironmentError(`cannot unpack the base tree: ${untar.stderr.toString("utf8").trim()}`, "check that tar is installed and the temporary directory is writable");
}
