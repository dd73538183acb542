import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCacheDir, cacheKey } from "./build-cache.js";
import { repoRoot } from "./project.js";

/** Runs a command, throwing with its output when it fails. */
export function runOrThrow(cwd: string, command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${String(r.status)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** What one old-runtime worker call printed: its result and its accessor's read counters. */
export interface OldResult {
  readonly result: unknown;
  readonly reads: Record<string, number>;
}

/** The worker of an old service: one `probe` (typeof the accessor method `probe`), `get` or `set` of a User, printed as JSON. */
function workerSource(commit: string, probe: string): string {
  return `
import { Redis } from "ioredis";
import { RedisStore } from "protocache";
import { userCache } from "./generated/acme/user/v1/user.cache.js";
const [url, prefix, op, id] = process.argv.slice(2);
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const users = userCache(new RedisStore(redis), { prefix, deadlineMs: 5000, writerTag: "protocache@${commit}" });
try {
  const result = op === "probe"
    ? typeof users[${JSON.stringify(probe)}]
    : op === "get"
    ? await users.get({ id })
    : await users.set({ id, name: "written by the old runtime", email: id + "@example.com", fullName: "", verified: true, locale: "en-GB" });
  console.log(JSON.stringify({ result: result ?? null, reads: users.stats().reads }));
} finally {
  redis.disconnect();
}
`;
}

/**
 * Builds an old service in `app` (a directory that does not exist yet):
 * the runtime of `commit` packed as npm would publish it (built with this
 * checkout's node_modules: the same dependency versions) and installed from
 * that tarball, that commit's generated code, and the worker bundled.
 */
async function buildOldApp(commit: string, app: string, worker: string): Promise<void> {
  const work = `${app}.work`;
  const tree = join(work, "tree");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  runOrThrow(repoRoot, "sh", ["-c", `git archive ${commit} | tar -x -C "${tree}"`]);
  symlinkSync(join(repoRoot, "node_modules"), join(tree, "node_modules"), "dir");
  runOrThrow(tree, process.execPath, ["-e", 'const b = await import("./scripts/build.mjs"); b.buildRuntime();', "--input-type=module"]);
  const tarball = runOrThrow(tree, "npm", ["pack", "./dist/protocache", "--pack-destination", work, "--silent"]).trim().split("\n").pop() ?? "";
  // ioredis and the runtime's dependencies resolve from the repo's node_modules above (the build cache is inside it).
  mkdirSync(join(app, "node_modules", "protocache"), { recursive: true });
  runOrThrow(work, "tar", ["-xzf", join(work, tarball), "-C", join(app, "node_modules", "protocache"), "--strip-components=1"]);
  cpSync(join(tree, "generated"), join(app, "generated"), { recursive: true });
  writeFileSync(join(app, "worker.ts"), worker);
  const { build } = await import("esbuild");
  await build({
    entryPoints: [join(app, "worker.ts")],
    outfile: join(app, "worker.mjs"),
    bundle: true,
    platform: "node",
    format: "esm",
    logLevel: "silent",
    external: ["ioredis", "protocache", "protocache/*"],
    plugins: [{
      // The repo's generated code imports the runtime from src/; a service's imports it as protocache/runtime.
      name: "runtime-as-package",
      setup(b) {
        b.onResolve({ filter: /\/src\/runtime\/index\.js$/ }, () => ({ path: "protocache/runtime", external: true }));
      },
    }],
  });
  rmSync(work, { recursive: true, force: true });
}

/**
 * The protocache runtime of `commit` in an old service of its own, and a
 * worker that runs one `probe`, `get` or `set` of a User through it as a
 * separate process. Packing and building takes ~10 s idle and a minute or
 * more on a saturated machine: done once per commit, worker and dependency
 * lock, then kept in the build cache (test/support/build-cache.ts).
 */
export async function oldRuntime(commit: string, name: string, probe: string): Promise<{ call(url: string, prefix: string, op: "get" | "set" | "probe", id: string): OldResult }> {
  const full = runOrThrow(repoRoot, "git", ["rev-parse", `${commit}^{commit}`]).trim();
  const worker = workerSource(commit, probe);
  const app = join(buildCacheDir, `${name}-${cacheKey(full, worker, readFileSync(join(repoRoot, "package-lock.json")))}`);
  if (!existsSync(join(app, "worker.mjs"))) {
    const partial = `${app}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    await buildOldApp(commit, partial, worker);
    rmSync(app, { recursive: true, force: true });
    renameSync(partial, app);
  }
  return { call: (url, prefix, op, id) => JSON.parse(runOrThrow(app, process.execPath, ["worker.mjs", url, prefix, op, id])) as OldResult };
}
