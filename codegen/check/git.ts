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
  throw missingRef(root, ref);
}

/** Why `ref` is missing and what to do: fetch it, use the remote-tracking name, or pick a branch that exists. */
function missingRef(root: string, ref: string): CheckEnvironmentError {
  const text = (args: readonly string[]): string => git(root, args).stdout.toString("utf8").trim();
  const branch = text(["symbolic-ref", "--quiet", "--short", "HEAD"]);
  const born = git(root, ["rev-parse", "--verify", "--quiet", "HEAD"]).status === 0;
  const current = `current branch: ${branch === "" ? "none (detached HEAD)" : branch}${born ? "" : ", no commit yet"}`;
  const remotes = text(["remote"]).split("\n").filter((r) => r !== "");
  if (remotes.length === 0) {
    const branches = text(["for-each-ref", "--format=%(refname:short)", "refs/heads"]).split("\n").filter((b) => b !== "");
    const hint =
      branches.length === 0 ? "commit first, then pass --against <branch> (the branch your changes will be merged into)"
      : branches.length === 1 ? `compare with a branch that exists: pass --against ${branches[0] as string}`
      : `compare with a branch that exists: pass --against <branch> (branches: ${branches.slice(0, 8).join(", ")}${branches.length > 8 ? ", …" : ""})`;
    return new CheckEnvironmentError(`git ref "${ref}" does not exist in this repository, which has no remote to fetch it from (${current})`, hint);
  }
  const tracking = remotes.map((r) => `${r}/${ref}`).find((name) => git(root, ["rev-parse", "--verify", "--quiet", `refs/remotes/${name}^{commit}`]).status === 0);
  if (tracking !== undefined) {
    return new CheckEnvironmentError(`git ref "${ref}" is not in this clone (${current})`, `it is a remote-tracking branch here: pass --against ${tracking}`);
  }
  const shallow = text(["rev-parse", "--is-shallow-repository"]) === "true";
  const depth = shallow ? " --depth=1" : "";
  let fetch: string;
  if (/^[0-9a-f]{7,40}$/i.test(ref)) fetch = `git fetch --no-tags${depth} origin ${ref}`;
  else if (/[~^@:]/.test(ref)) fetch = shallow ? "git fetch --unshallow (the ref is relative to history this clone does not have)" : `git fetch origin (then check that ${ref} exists)`;
  else if (ref.startsWith("origin/")) fetch = `git fetch --no-tags${depth} origin ${ref.slice("origin/".length)}:refs/remotes/${ref}`;
  else fetch = `git fetch --no-tags${depth} origin ${ref}:${ref}`;
  const name = ref.startsWith("origin/") ? ref.slice("origin/".length) : ref;
  return new CheckEnvironmentError(
    `git ref "${ref}" is not in this clone (${shallow ? "a shallow clone; " : "a single-branch clone? "}${current})`,
    `fetch it with: ${fetch} (or, if origin has no ${name}, pass --against <branch>)`,
  );
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
