import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { readHeader } from "../../src/envelope/header.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { buildCacheDir, cacheKey } from "../support/build-cache.js";
import { repoRoot } from "../support/project.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";

/**
 * A rolling upgrade of protocache itself: the runtime as it was before the
 * loading cache (packed from commit 2fe12a3, with that commit's generated
 * code) and the runtime of this tree share one Redis. The old one must see
 * every new byte it does not know (absent markers) as a miss, never a value;
 * values the new one writes (with grace, jittered TTLs) are ordinary hits to
 * it; and a value it writes over a marker is stored and read by the new one.
 */
const before = "2fe12a3";
const work = join(repoRoot, ".tmp", "protocache-upgrade");
const oldTree = join(work, "tree");
/** The old service, kept in the build cache (test/support/build-cache.ts) by what it is built from; set in beforeAll. */
let oldApp: string;

function run(cwd: string, command: string, args: readonly string[]): string {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${String(r.status)}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The old runtime's worker: one get or set through the old generated accessor, printed as JSON. */
const workerSource = `
import { Redis } from "ioredis";
import { RedisStore } from "protocache";
import { userCache } from "./generated/acme/user/v1/user.cache.js";
const [url, prefix, op, id] = process.argv.slice(2);
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const users = userCache(new RedisStore(redis), { prefix, deadlineMs: 5000, writerTag: "protocache@${before}" });
try {
  const result = op === "probe"
    ? typeof users.getOrSet
    : op === "get"
    ? await users.get({ id })
    : await users.set({ id, name: "written by the old runtime", email: id + "@example.com", fullName: "", verified: true, locale: "en-GB" });
  console.log(JSON.stringify({ result: result ?? null, reads: users.stats().reads }));
} finally {
  redis.disconnect();
}
`;

let redis: Redis;
const url = (): string => inject("redisUrl");

function oldRuntime(prefix: string, op: "get" | "set" | "probe", id: string): { result: unknown; reads: Record<string, number> } {
  return JSON.parse(run(oldApp, process.execPath, ["worker.mjs", url(), prefix, op, id])) as { result: unknown; reads: Record<string, number> };
}

/**
 * Builds the old service in `app` (a directory that does not exist yet):
 * the old tree's runtime packed as npm would publish it and installed from
 * that tarball, its generated code, and the worker bundled.
 */
async function buildOldApp(app: string): Promise<void> {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(oldTree, { recursive: true });
  // The old tree, built with this checkout's node_modules (the same dependency versions), packed as npm would publish it.
  run(repoRoot, "sh", ["-c", `git archive ${before} | tar -x -C "${oldTree}"`]);
  symlinkSync(join(repoRoot, "node_modules"), join(oldTree, "node_modules"), "dir");
  run(oldTree, process.execPath, ["-e", 'const b = await import("./scripts/build.mjs"); b.buildRuntime();', "--input-type=module"]);
  const tarball = run(oldTree, "npm", ["pack", "./dist/protocache", "--pack-destination", work, "--silent"]).trim().split("\n").pop() ?? "";
  // The old service: protocache installed from that tarball; ioredis and the runtime's dependencies resolve from the
  // repo's node_modules above (the build cache is inside it).
  mkdirSync(join(app, "node_modules", "protocache"), { recursive: true });
  run(work, "tar", ["-xzf", join(work, tarball), "-C", join(app, "node_modules", "protocache"), "--strip-components=1"]);
  cpSync(join(oldTree, "generated"), join(app, "generated"), { recursive: true });
  writeFileSync(join(app, "worker.ts"), workerSource);
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
}

// Packing and building the old runtime takes ~10 s idle and a minute or more on a saturated machine: done once per
// commit, worker and dependency lock, then kept in the build cache.
beforeAll(async () => {
  const commit = run(repoRoot, "git", ["rev-parse", `${before}^{commit}`]).trim();
  const key = cacheKey(commit, workerSource, readFileSync(join(repoRoot, "package-lock.json")));
  oldApp = join(buildCacheDir, `protocache-upgrade-${key}`);
  if (!existsSync(join(oldApp, "worker.mjs"))) {
    const partial = `${oldApp}.${process.pid}.partial`;
    rmSync(partial, { recursive: true, force: true });
    await buildOldApp(partial);
    rmSync(oldApp, { recursive: true, force: true });
    renameSync(partial, oldApp);
  }
  redis = connectRedis();
});

afterAll(async () => {
  redis?.disconnect();
  rmSync(work, { recursive: true, force: true });
});

const user = (id: string, name: string): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });

describe(`a rolling upgrade of protocache: the runtime of ${before} (packed) beside this one`, () => {
  const current = (prefix: string) => userCache(new RedisStore(redis), { prefix, deadlineMs: 5_000, loading: { graceSeconds: 3_600 } });

  it("the packed old runtime really is the one before the loading cache: its accessor has no getOrSet", () => {
    expect(oldRuntime("probe:", "probe", "").result).toBe("undefined");
  });

  it("an absent marker the new runtime cached is a corrupt miss to the old one, never a value, and the marker is left to expire", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    expect(await cache.getOrSet({ id: "missing" }, () => undefined)).toBeUndefined();
    const stored = await redis.getBuffer(`${prefix}user:v1:missing`);
    expect(stored).not.toBeNull();
    expect(readHeader(stored as Buffer).absent).toBe(true);
    const old = oldRuntime(prefix, "get", "missing");
    expect(old.result).toBeNull();
    expect(old.reads).toMatchObject({ hit: 0, corrupt: 1 });
    // The marker still stands for the new runtime: no second call reaches the source.
    let calls = 0;
    expect(await cache.getOrSet({ id: "missing" }, () => { calls++; return undefined; })).toBeUndefined();
    expect(calls).toBe(0);
    await cache.close();
  });

  it("a value the new runtime loaded with grace and a jittered TTL is an ordinary hit to the old one", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    await cache.getOrSet({ id: "u1" }, ({ id }) => user(id, "loaded by the new runtime"));
    const old = oldRuntime(prefix, "get", "u1");
    expect(old.result).toEqual(user("u1", "loaded by the new runtime"));
    expect(old.reads).toMatchObject({ hit: 1 });
    await cache.close();
  });

  it("the old runtime's set over an absent marker stores its value, and the new runtime reads it without calling the loader", async () => {
    const prefix = uniquePrefix();
    const cache = current(prefix);
    expect(await cache.getOrSet({ id: "u2" }, () => undefined)).toBeUndefined();
    expect(oldRuntime(prefix, "set", "u2").result).toBe("written");
    let calls = 0;
    const got = await cache.getOrSet({ id: "u2" }, ({ id }) => { calls++; return user(id, "loaded"); });
    expect(got).toEqual(user("u2", "written by the old runtime"));
    expect(calls).toBe(0);
    expect(cache.stats().reads).toMatchObject({ hit: 1 });
    await cache.close();
  });
});
