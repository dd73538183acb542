import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userEntity as userEntityV2 } from "../../generated/acme/user/v2/user.cache.js";
import { peekSchemaId } from "../../src/envelope/header.js";
import { RedisStore } from "../../src/index.js";
import { userR1Entry, userRevisionId } from "../support/entries.js";
import { repoRoot } from "../support/project.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * `protocache migrate --from-major 1 --module <compiled module>`: the CLI
 * moves acme.user.v1 entries into acme.user.v2 with the service's own typed
 * fromPrevious, loaded from a compiled module (here bundled by esbuild from
 * the repository's generated code); and `deprecatable` for the whole major.
 */

let dir: string;
let service: string;

function run(args: readonly string[]): { status: number; stdout: string; stderr: string; json: Record<string, unknown> } {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), ...args], { cwd: repoRoot, encoding: "utf8", timeout: 120_000, env: { ...process.env, REDIS_URL: inject("redisUrl") } });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not JSON output
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

beforeAll(async () => {
  mkdirSync(join(repoRoot, ".tmp"), { recursive: true });
  dir = mkdtempSync(join(repoRoot, ".tmp", "migrate-major-"));
  const source = join(dir, "caches.ts");
  writeFileSync(
    source,
    `import { createUser as createUserV1 } from "../../generated/acme/user/v1/user.cache.js";
import { createUser, defineUserCache } from "../../generated/acme/user/v2/user.cache.js";
export const userCache = defineUserCache({
  fromPrevious: (old) => createUser({ id: old.id, displayName: old.fullName === "Unknown" ? old.name.toUpperCase() : old.fullName, email: old.email, emailVerified: old.verified, locale: old.locale }),
  toPrevious: (u) => createUserV1({ id: u.id, name: u.displayName, fullName: u.displayName, email: u.email, verified: u.emailVerified, locale: u.locale }),
});
`,
  );
  service = join(dir, "caches.js");
  await build({ entryPoints: [source], outfile: service, bundle: true, format: "esm", platform: "node", packages: "external", logLevel: "silent" });
  writeFileSync(join(dir, "empty.js"), "export const answer = 42;\n");
  writeFileSync(join(dir, "throws.js"), 'throw new Error("no config");\n');
  // An entry point passed by mistake: it starts a server (a handle that would keep a process alive) and exports no factory.
  writeFileSync(join(dir, "entry.js"), 'import { createServer } from "node:http";\ncreateServer().listen(0);\nsetInterval(() => {}, 1000);\n');
  writeFileSync(join(dir, "imports-missing.js"), 'export * from "./generated/acme/user/v2/user.cache.js";\n');
  const stale = { typeName: "acme.user.v2.User", major: 2, current: { schemaId: 0x12345678, revision: 1 } };
  writeFileSync(join(dir, "stale.js"), `export const userCache = Object.assign(() => {}, { [Symbol.for("protocache.factoryEntity")]: ${JSON.stringify(stale)} });\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("protocache migrate --from-major (a whole previous major, by the service's compiled fromPrevious)", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.disconnect());

  it("dry run counts the entries it would move and those already in v2 and writes nothing; the run moves them keeping each expiry; deprecatable --major 1 then says removable", async () => {
    const prefix = uniquePrefix();
    const p = redis.pipeline();
    for (let i = 0; i < 300; i++) p.set(`${prefix}user:v1:${i}`, userR1Entry({ id: String(i), name: `n${i}`, email: `${i}@x` }), "EX", 900);
    await p.exec();
    // 20 of them already exist in v2 (written there by v2 code): never overwritten.
    const mod = (await import(pathToFileURL(service).href)) as { userCache: (store: RedisStore, options: object) => { set(v: object): Promise<string>; get(k: { id: string }): Promise<{ displayName: string } | undefined>; close(): Promise<void> } };
    const users = mod.userCache(new RedisStore(redis), { prefix, previousMajor: "off" });
    for (let i = 0; i < 20; i++) expect(await users.set({ id: String(i), displayName: "kept", email: "", emailVerified: false, locale: "", roles: [] })).toBe("written");

    const dry = run(["migrate", "user", "--from-major", "1", "--module", service, "--prefix", prefix, "--dry-run", "--json"]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.json).toMatchObject({ dryRun: true, mode: "major", from: { major: 1, message: "acme.user.v1.User" }, to: 1, module: "userCache", counts: { migrated: 280, current: 20, failed: 0 } });
    expect((await redis.keys(`${prefix}user:v2:*`)).length).toBe(20);

    const notYet = run(["deprecatable", "user", "--major", "1", "--prefix", prefix, "--reads", writeReads({})]);
    expect(notYet.status).toBe(1);
    expect(notYet.stdout).toMatch(/280 entries of acme\.user\.v1\.User \(major 1\) remain among the keys .*user:v1:\*, not in the next major yet; move them into major 2 \(protocache migrate user --from-major 1 --module <the service's compiled module> --prefix /);

    const moved = run(["migrate", "user", "--from-major", "1", "--module", service, "--prefix", prefix]);
    expect(moved.status, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/user:v1:\* → acme\.user\.v2\.User r1 \(the service's userCache\): 300 keys/);
    expect(moved.stdout).toMatch(/migrated 280, already in the new major 20, skipped 0, failed 0/);
    expect(peekSchemaId((await redis.getBuffer(`${prefix}user:v2:150`)) as Buffer)).toBe(userEntityV2.current.schemaId);
    expect(await users.get({ id: "150" })).toMatchObject({ displayName: "N150" });
    expect(await users.get({ id: "5" })).toMatchObject({ displayName: "kept" });
    expect(await redis.pttl(`${prefix}user:v2:150`)).toBeGreaterThan(800_000);
    expect(await redis.call("PEXPIRETIME", `${prefix}user:v2:150`)).toBe(await redis.call("PEXPIRETIME", `${prefix}user:v1:150`));
    await users.close();

    const verdict = run(["deprecatable", "user", "--major", "1", "--prefix", prefix, "--reads", writeReads({ [`0x${userRevisionId(1).toString(16)}`]: 0 })]);
    expect(verdict.stdout).toMatch(/^acme\.user\.v1\.User \(major 1\) can be removed/);
    expect(verdict.stdout).toMatch(/300 entries of acme\.user\.v1\.User \(major 1\) among the keys .* are already in the next major/);
    expect(verdict.status, verdict.stdout).toBe(0);
    // The current major is never removable, and nothing advises migrating it.
    const current = run(["deprecatable", "user", "--major", "2", "--prefix", prefix, "--reads", writeReads({})]);
    expect(current.status).toBe(1);
    expect(current.stdout).toMatch(/acme\.user\.v2\.User \(major 2\) is what the current code writes/);
    expect(current.stdout).toMatch(/current entries, nothing to migrate/);
    expect(current.stdout).not.toMatch(/protocache migrate|migrate them|move them/);
  });

  it("without --module, with a module that is missing, TypeScript, unbuilt, throwing, exporting no factory of the entity (an entry point that starts a server included: the command still exits), or compiled from other schemas: exit 2 with one line saying what to build or export", () => {
    const cases: [string[], RegExp][] = [
      [[], /moving acme\.user\.v1\.User entries into acme\.user\.v2\.User runs the service's typed fromPrevious: pass --module <the service's compiled JavaScript module that exports the factory defineUserCache returns> \(build the service first/],
      [["--module", join(dir, "dist", "caches.js")], /--module .*dist\/caches\.js: no such file\. --module takes the service's compiled JavaScript module .*build the service first/],
      [["--module", join(dir, "caches.ts")], /--module .*caches\.ts is TypeScript source: pass the JavaScript module your build writes from it/],
      [["--module", join(dir, "imports-missing.js")], /--module .*imports-missing\.js cannot be loaded: .*build the service first/],
      [["--module", join(dir, "throws.js")], /--module .*throws\.js threw while loading: no config/],
      [["--module", join(dir, "empty.js")], /--module .*empty\.js exports no accessor factory of acme\.user\.v2\.User \(factories it exports: none\): export the one defineUserCache returns, e\.g\. `export const userCache = defineUserCache\(\{ \.\.\. \}\)`/],
      [["--module", join(dir, "entry.js")], /--module .*entry\.js exports no accessor factory of acme\.user\.v2\.User/],
      [["--module", join(dir, "stale.js")], /--module .*stale\.js was compiled from other schemas: its acme\.user\.v2\.User writes r1 \(0x12345678\), proto\/ holds r1 \(0x[0-9a-f]{8}\): run npm run gen and rebuild the service/],
    ];
    for (const [extra, message] of cases) {
      const r = run(["migrate", "user", "--from-major", "1", ...extra, "--dry-run"]);
      expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
    }
    const wrongMajor = run(["migrate", "user", "--from-major", "2", "--module", service, "--dry-run"]);
    expect(wrongMajor.stderr).toMatch(/no entity in proto\/ migrates from major 2 of "user" \(user v2 migrates from acme\.user\.v1\.User \(major 1\)\)/);
    expect(wrongMajor.status).toBe(2);
    const noFromMajor = run(["migrate", "user", "--major", "2", "--module", service, "--dry-run"]);
    expect(noFromMajor.stderr).toMatch(/acme\.user\.v2\.User migrates from acme\.user\.v1\.User: with --module, migrate moves major 1's entries into it; pass --from-major 1/);
    expect(noFromMajor.status).toBe(2);
  });
});

function writeReads(counts: Record<string, number>): string {
  const file = join(dir, `reads-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(counts));
  return file;
}
