import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { peekSchemaId } from "../../src/envelope/header.js";
import { clusterNodes, connectIoredisCluster } from "../support/backends.js";
import { userR1Entry, userRevisionId } from "../support/entries.js";
import { repoRoot } from "../support/project.js";
import { uniquePrefix } from "../support/redis-client.js";

/** Runs the CLI in this repository (the acme project); REDIS_URL only when given. */
function run(args: readonly string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string } {
  const { REDIS_URL: _, ...rest } = process.env;
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), ...args], { cwd: repoRoot, encoding: "utf8", env: { ...rest, ...env } });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const url = "a Redis URL like redis://[user:password@]host[:port][/db] (rediss:// for TLS)";

describe("protocache operations commands refuse a bad option value or URL with one line and exit 2", () => {
  it.each([
    [["census", "--count", "abc"], 'protocache census: invalid --count "abc": expected a whole number from 1 to 100000'],
    [["census", "--count", "0"], 'protocache census: invalid --count "0": expected a whole number from 1 to 100000'],
    [["census", "--count", "100001"], 'protocache census: invalid --count "100001": expected a whole number from 1 to 100000'],
    [["census", "--sample", "x"], 'protocache census: invalid --sample "x": expected a whole number >= 1'],
    [["migrate", "user", "--rate", "0"], 'protocache migrate: invalid --rate "0": expected a whole number from 1 to 10000000'],
    [["migrate", "user", "--rate", "-5"], 'protocache migrate: invalid --rate "-5": expected a whole number from 1 to 10000000'],
    [["migrate", "user", "--count", "2.5"], 'protocache migrate: invalid --count "2.5": expected a whole number from 1 to 100000'],
    [["cleanup", "user", "--revision", "x"], 'protocache cleanup: invalid --revision "x": expected a revision number (a whole number >= 1)'],
    [["cleanup", "user", "--schema-id", "0xzz"], 'protocache cleanup: invalid --schema-id "0xzz": expected a schema ID (a uint32 from 1, e.g. 0x1a2b3c4d)'],
    [["census", "--major", "x"], 'protocache census: invalid --major "x": expected a major version (a whole number >= 1)'],
    [["deprecatable", "user", "--revision", "0"], 'protocache deprecatable: invalid --revision "0": expected a revision number (a whole number >= 1)'],
    [["census", "--redis", "localhost:27001"], `protocache census: invalid --redis "localhost:27001": expected ${url}; did you mean redis://localhost:27001?`],
    [["census", "--redis", "redis://127.0.0.1:notaport"], `protocache census: invalid --redis "redis://127.0.0.1:notaport": expected ${url}; the port "notaport" is not a number`],
    [["inspect", "k", "--redis", "redis://127.0.0.1:99999"], `protocache inspect: invalid --redis "redis://127.0.0.1:99999": expected ${url}; the port 99999 is over 65535`],
    [["census", "--redis", "http://cache:6379"], `protocache census: invalid --redis "http://cache:6379": expected ${url}; the scheme is "http", not redis or rediss`],
    [["census", "--redis", "redis://cache/db1"], `protocache census: invalid --redis "redis://cache/db1": expected ${url}; the database "db1" is not a number`],
    [["census", "--cluster", "nohost"], 'protocache census: invalid --cluster "nohost": expected Cluster seed nodes host:port[,host:port…]; "nohost" is not host:port'],
    [["cleanup", "user", "--all", "--yes", "--dryrun"], "error: unknown option '--dryrun' (did you mean --dry-run?)"],
  ])("%j prints exactly: %s", (args, line) => {
    const r = run(args);
    expect(r.stderr).toBe(`${line}\n`);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(2);
  });

  it("a bad REDIS_URL is named as REDIS_URL, in one line, exit 2", () => {
    const r = run(["census"], { REDIS_URL: "localhost:6379" });
    expect(r.stderr).toBe(`protocache census: invalid REDIS_URL "localhost:6379": expected ${url}; did you mean redis://localhost:6379?\n`);
    expect(r.status).toBe(2);
  });
});

describe("protocache operations commands against real servers", () => {
  let redis: Redis;
  const redisUrl = () => inject("redisUrl");
  beforeAll(() => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.disconnect());

  async function seed(prefix: string, n: number): Promise<string[]> {
    const keys = Array.from({ length: n }, (_, i) => `${prefix}user:v1:${i}`);
    const p = redis.pipeline();
    keys.forEach((k, i) => p.set(k, userR1Entry({ id: String(i), name: "n", email: "" }), "EX", 900));
    await p.exec();
    return keys;
  }

  it.each([
    ["cleanup", "--dryrun", "(did you mean --dry-run?)"],
    ["cleanup", "--dry_run", "(did you mean --dry-run?)"],
    ["cleanup", "--dryRun", "(did you mean --dry-run?)"],
    ["cleanup", "--dry-rn", "(did you mean --dry-run?)"],
    ["cleanup", "--dryrun=true", ""],
    ["migrate", "--dryrun", "(did you mean --dry-run?)"],
    ["migrate", "--dry-rn", "(did you mean --dry-run?)"],
  ])("%s with %s is refused in one line before it touches a key (exit 2, every entry still there, unchanged)", async (command, typo, suggestion) => {
    const prefix = uniquePrefix();
    const keys = await seed(prefix, 20);
    const args = command === "cleanup" ? ["cleanup", "user", "--major", "1", "--prefix", prefix, "--all", "--yes", typo] : ["migrate", "user", "--major", "1", "--prefix", prefix, typo];
    const r = run([...args, "--redis", redisUrl()]);
    expect(r.stderr).toBe(`error: unknown option '${typo}'${suggestion === "" ? "" : ` ${suggestion}`}\n`);
    expect(r.status).toBe(2);
    const values = await redis.mgetBuffer(...keys);
    expect(values.map((v) => (v === null ? undefined : peekSchemaId(v)))).toEqual(keys.map(() => userRevisionId(1)));
  });

  it("the same cleanup spelt --dry-run counts and deletes nothing, and --yes without it deletes (so the refusals above could fail)", async () => {
    const prefix = uniquePrefix();
    const keys = await seed(prefix, 20);
    const dry = run(["cleanup", "user", "--major", "1", "--prefix", prefix, "--all", "--include-live", "--dry-run", "--redis", redisUrl()]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^dry run: would delete 20 of 20 keys/);
    expect(await redis.exists(...keys)).toBe(20);
    expect(run(["cleanup", "user", "--major", "1", "--prefix", prefix, "--all", "--include-live", "--yes", "--redis", redisUrl()]).status).toBe(0);
    expect(await redis.exists(...keys)).toBe(0);
  });

  it("a dry run's progress line says what it would migrate, not what it migrated", async () => {
    const prefix = uniquePrefix();
    const keys = await seed(prefix, 30);
    const r = run(["migrate", "user", "--major", "1", "--prefix", prefix, "--dry-run", "--redis", redisUrl()]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^migrate ${prefix}user:v1: 30 keys, ~100%, \\d+ keys/s, would migrate 30, would fail 0$`, "m"));
    expect(r.stderr).not.toMatch(/\bmigrated\b/);
    expect(peekSchemaId((await redis.getBuffer(keys[0] as string)) as Buffer)).toBe(userRevisionId(1));
  });

  it("deprecatable names the key space as the pattern of its keys (prefix, entity, major, then *)", async () => {
    const prefix = uniquePrefix();
    await seed(prefix, 1);
    const r = run(["deprecatable", "user", "--major", "1", "--revision", "1", "--prefix", prefix, "--redis", redisUrl()]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`1 entry of acme.user.v1.User r1 (0x${userRevisionId(1).toString(16).padStart(8, "0")}) remains among the keys ${prefix}user:v1:*; migrate them`);
    expect(r.stdout).not.toMatch(/v1::/);
  });

  it("inspect and census with --redis on a Redis Cluster node say to use --cluster with that node, in one line, exit 2; inspect --cluster then reads the key", async () => {
    const cluster = await connectIoredisCluster();
    try {
      const key = `${uniquePrefix()}user:v1:42`;
      await cluster.set(key, userR1Entry({ id: "42", name: "n", email: "" }));
      const node = clusterNodes()[0] as { host: string; port: number };
      const at = `redis://${node.host}:${node.port}`;
      for (const args of [["inspect", key], ["census", "user", "--major", "1"]]) {
        const r = run([...args, "--redis", at]);
        expect(r.stderr).toBe(`protocache ${args[0]}: ${at} is a Redis Cluster node: pass --cluster ${node.host}:${node.port} (any node of the cluster; the others are found from it) instead of --redis\n`);
        expect(r.status).toBe(2);
      }
      const inspected = run(["inspect", key, "--cluster", `${node.host}:${node.port}`, "--json"]);
      expect(inspected.status, inspected.stderr).toBe(0);
      expect(JSON.parse(inspected.stdout)).toMatchObject({ exists: true, schema: { revision: 1 }, payload: { id: "42" } });
    } finally {
      cluster.disconnect();
    }
  });
});
