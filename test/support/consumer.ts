import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCacheDir } from "./build-cache.js";
import { repoRoot } from "./project.js";

/**
 * What the consumer tests share: the packed packages, a service made from
 * examples/service that installs them, and commands run as in a plain shell.
 */

/** The environment of a plain shell: without the npm_* variables of the `npm test` that runs us. */
export const consumerEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_"))),
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_prefer_offline: "true",
};

/** Runs a command; returns its exit status and output. */
export function sh(cwd: string, command: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, env: { ...consumerEnv, ...extra }, encoding: "utf8", maxBuffer: 1 << 26 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must succeed; returns its stdout. */
export function ok(cwd: string, command: string, ...args: string[]): string {
  return okWith({}, cwd, command, ...args);
}

/** Like {@link ok}, with extra environment variables. */
export function okWith(extra: NodeJS.ProcessEnv, cwd: string, command: string, ...args: string[]): string {
  const r = sh(cwd, command, args, extra);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Builds the two packages (scripts/build.mjs) and packs them into `packs`
 * (npm pack). The build rewrites the repository's dist/, which the consumer
 * test files share: one at a time, under a lock every test process sees (a
 * directory made atomically), or one file's build deletes what another is
 * packing.
 */
export function packPackages(packs: string): void {
  withDistLock(() => {
    ok(repoRoot, process.execPath, join(repoRoot, "scripts", "build.mjs"));
    mkdirSync(packs, { recursive: true });
    ok(repoRoot, "npm", "pack", "./dist/protocache", "./dist/protocache-gen", "--pack-destination", packs);
  });
}

/** Runs `work` holding the dist/ lock; a lock older than 10 minutes (its holder died) is taken over. */
function withDistLock(work: () => void): void {
  const lock = join(buildCacheDir, "dist.lock");
  mkdirSync(buildCacheDir, { recursive: true });
  const wait = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 10 * 60_000) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(wait, 0, 0, 200);
    }
  }
  try {
    work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * Copies examples/service (without what a build or gen leaves) to `svc`,
 * its dependencies on protocache and protocache-gen pointed at the
 * tarballs in `packs` (given relative to `svc`'s parent, as `../packs`).
 */
export function serviceFromExample(svc: string, packsFromParent: string): void {
  cpSync(join(repoRoot, "examples", "service"), svc, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|dist|generated)$/.test(src) && !/(buf\.yaml|protocache\.lock\.json|package-lock\.json)$/.test(src),
  });
  const pkg = JSON.parse(readFileSync(join(svc, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
  pkg.dependencies["protocache"] = `file:../${packsFromParent}/protocache-${version}.tgz`;
  pkg.devDependencies["protocache-gen"] = `file:../${packsFromParent}/protocache-gen-${version}.tgz`;
  writeFileSync(join(svc, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
}
