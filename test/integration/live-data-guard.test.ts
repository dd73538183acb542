import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userCache, userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { schemaRegistry } from "../../generated/registry.js";
import { cleanup } from "../../src/ops/cleanup.js";
import { migrate } from "../../src/ops/migrate.js";
import { ConfigError, LiveDataError } from "../../src/errors.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { schemaDecoder } from "../support/descriptors.js";
import { envelope, userR1Entry, userRevisionId } from "../support/entries.js";
import { repoRoot, tempProject, type TempProject } from "../support/project.js";
import { uniquePrefix } from "../support/redis-client.js";

const hex = (id: number): string => `0x${id.toString(16).padStart(8, "0")}`;
const v2Id = (schemaRegistry.revisionsOf("acme.user.v2.User")[0] as { id: number }).id;

/** An entry as acme.user.v2.User r1 writes it (built by protobufjs from the lock's descriptor). */
function v2Entry(id: string): Buffer {
  const type = schemaDecoder.typeOf(v2Id);
  return envelope(v2Id, type.encode(type.fromObject({ id, displayName: id })).finish());
}

/** An entry of acme.user.v1.User's current revision (r2). */
function v1CurrentEntry(id: string): Buffer {
  const type = schemaDecoder.typeOf(userEntity.current.schemaId);
  return envelope(userEntity.current.schemaId, type.encode(type.fromObject({ id, name: id, fullName: id })).finish());
}

describe("destructive operations never touch live data without --include-live / includeLive", () => {
  let redis: Redis;
  let project: TempProject;
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
    // A copy of this repository's project (acme: user v1 and v2 in proto/, neither retired), so retire can change its lock.
    project = tempProject();
    cpSync(join(repoRoot, "proto"), join(project.root, "proto"), { recursive: true });
  });
  afterAll(() => {
    redis.disconnect();
    project.remove();
  });

  function run(args: readonly string[]): { status: number; stdout: string; stderr: string } {
    const { REDIS_URL: _, ...env } = process.env;
    const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), "-C", project.root, ...args, ...(args[0] === "retire" ? [] : ["--redis", inject("redisUrl")])], { encoding: "utf8", env });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  }

  /** Seeds v1 (revisions 1 and 2, legacy, corrupt) and v2 entries under a fresh prefix. */
  async function seed(): Promise<{ prefix: string; snapshot: () => Promise<Record<string, string>> }> {
    const prefix = uniquePrefix();
    const p = redis.pipeline();
    for (let i = 0; i < 30; i++) p.set(`${prefix}user:v1:old${i}`, userR1Entry({ id: `old${i}`, name: "n", email: "" }));
    for (let i = 0; i < 30; i++) p.set(`${prefix}user:v1:cur${i}`, v1CurrentEntry(`cur${i}`));
    for (let i = 0; i < 20; i++) p.set(`${prefix}user:v2:${i}`, v2Entry(String(i)));
    p.set(`${prefix}user:v1:legacy`, '{"id":"legacy"}');
    p.set(`${prefix}user:v1:corrupt`, Buffer.from([0xc1, 0x01, 0xf0, 0, 0, 0, 1]));
    await p.exec();
    const snapshot = async (): Promise<Record<string, string>> => {
      const keys = (await redis.keys(`${prefix}*`)).sort();
      const values = keys.length === 0 ? [] : await redis.mgetBuffer(...keys);
      return Object.fromEntries(keys.map((k, i) => [k, (values[i] as Buffer).toString("hex")]));
    };
    return { prefix, snapshot };
  }

  it("cleanup of a key space no entity in proto/ names (another team's keys, a typo) exits 2 without --message naming a locked message, and deletes nothing", async () => {
    const prefix = uniquePrefix();
    await redis.set(`${prefix}orders:v1:5`, '{"json":"another team"}');
    await redis.set(`${prefix}prodcut:v1:5`, '{"json":"another team"}');
    const cases = [
      { args: ["cleanup", "orders", "--prefix", prefix, "--major", "1", "--all", "--yes"], says: /no entity "orders" v1 in proto\/: name its retired message with --message/ },
      { args: ["cleanup", "prodcut", "--prefix", prefix, "--major", "1", "--all", "--dry-run"], says: /no entity "prodcut" v1 in proto\/: name its retired message with --message/ },
    ];
    for (const { args, says } of cases) {
      const r = run(args);
      expect({ args, status: r.status }).toEqual({ args, status: 2 });
      expect(r.stderr).toMatch(says);
    }
    expect((await redis.keys(`${prefix}*`)).sort()).toEqual([`${prefix}orders:v1:5`, `${prefix}prodcut:v1:5`]);
  });

  it("every cleanup selector that reaches a live major (--all, --revision or --schema-id of the revision written now), dry run or not, v1 or v2, exits 2 naming what is live and --include-live, and deletes nothing", async () => {
    const { prefix, snapshot } = await seed();
    const before = await snapshot();
    expect(Object.keys(before)).toHaveLength(82);
    const refused = [
      ["--major", "1", "--all", "--yes"],
      ["--major", "1", "--all", "--dry-run"],
      ["--major", "1", "--message", "acme.user.v1.User", "--all", "--yes"],
      ["--major", "1", "--all", "--legacy", "--corrupt", "--yes"],
      ["--major", "2", "--all", "--yes"],
      ["--major", "2", "--all", "--dry-run"],
      ["--major", "1", "--revision", "2", "--yes"],
      ["--major", "1", "--revision", "1", "--revision", "2", "--dry-run"],
      ["--major", "1", "--schema-id", hex(userEntity.current.schemaId), "--yes"],
      ["--major", "2", "--revision", "1", "--yes"],
      ["--major", "2", "--schema-id", hex(v2Id), "--dry-run"],
    ];
    for (const args of refused) {
      const r = run(["cleanup", "user", "--prefix", prefix, ...args]);
      expect(r.status, `${args.join(" ")}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stdout, args.join(" ")).not.toMatch(/would delete|deleted/);
      expect(r.stderr, args.join(" ")).toMatch(/^protocache cleanup: refused, nothing (deleted|counted): .*this is live data \(acme\.user\.v[12]\.User is in proto\/ and not retired in the lock\)\. To delete live entries on purpose add --include-live/);
    }
    const all = run(["cleanup", "user", "--prefix", prefix, "--major", "1", "--all", "--yes"]);
    expect(all.stderr).toContain(`--all would delete every entry of ${prefix}user:v1:*, the revision written now (${hex(userEntity.current.schemaId)}) included`);
    expect(all.stderr).toContain("remove it from proto/ and run `protocache retire acme.user.v1.User` first (then --all deletes it)");
    expect(run(["cleanup", "user", "--prefix", prefix, "--major", "2", "--all", "--yes"]).stderr).toContain("it is the major services write now");
    expect(run(["cleanup", "user", "--prefix", prefix, "--major", "1", "--all", "--yes", "--json"]).stdout).toMatch(/"ok": false,\s+"error": "refused, nothing deleted/);
    expect(await snapshot()).toEqual(before);
  });

  it("migrate and retire delete nothing; --include-live deletes live entries; after retire, --all (the runbook's command) deletes the retired major without it", async () => {
    const { prefix, snapshot } = await seed();
    const keys = Object.keys(await snapshot());
    expect(run(["migrate", "user", "--prefix", prefix, "--major", "1", "--dry-run"]).status).toBe(1); // the corrupt entry fails
    expect(run(["migrate", "user", "--prefix", prefix, "--major", "1"]).status).toBe(1);
    expect(Object.keys(await snapshot())).toEqual(keys);

    const dry = run(["cleanup", "user", "--prefix", prefix, "--major", "2", "--all", "--include-live", "--dry-run"]);
    expect(dry.stdout).toMatch(/^dry run: would delete 20 of 20 keys/);
    const v2 = run(["cleanup", "user", "--prefix", prefix, "--major", "2", "--revision", "1", "--include-live", "--yes"]);
    expect(v2.status, v2.stderr).toBe(0);
    expect(await redis.keys(`${prefix}user:v2:*`)).toEqual([]);
    expect(await redis.keys(`${prefix}user:v1:*`)).toHaveLength(62);

    // retire refuses a message still declared (live); removed from proto/, it is retired.
    const declared = run(["retire", "acme.user.v1.User"]);
    expect(declared.status).toBe(2);
    expect(declared.stderr).toMatch(/acme\.user\.v1\.User is still declared in proto\/: it is live/);
    // The runbook's order: v2 no longer migrates from v1, v1's .proto is deleted, then retire.
    const v2Proto = join(project.root, "proto", "acme", "user", "v2", "user.proto");
    writeFileSync(v2Proto, readFileSync(v2Proto, "utf8").replace(/\n\s*migrates_from: "acme\.user\.v1\.User"/, ""));
    rmSync(join(project.root, "proto", "acme", "user", "v1"), { recursive: true });
    const retired = run(["retire", "acme.user.v1.User"]);
    expect(retired.status, retired.stderr).toBe(0);
    expect(await redis.keys(`${prefix}user:v1:*`)).toHaveLength(62);
    const runbook = run(["cleanup", "user", "--prefix", prefix, "--major", "1", "--message", "acme.user.v1.User", "--all", "--yes"]);
    expect(runbook.status, runbook.stderr).toBe(0);
    expect(runbook.stdout).toMatch(/^deleted 62 of 62 keys/);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
  });

  it("the library refuses the same selections on an accessor's key space and on one named without retired: true, with a LiveDataError, dry runs too, and deletes with includeLive or retired", async () => {
    const { prefix, snapshot } = await seed();
    const before = await snapshot();
    const store = new RedisStore(redis);
    const users = userCache(store, { prefix, deadlineMs: 5_000 });
    const adopting = userCache(store, { prefix, deadlineMs: 5_000, legacy: {} });
    const named = { store, entity: "user", major: 1, prefix, registry: schemaRegistry };
    const refusals: [unknown, Record<string, unknown>, string][] = [
      [users, { all: true }, "all"],
      [users, { all: true, dryRun: true }, "all"],
      [users, { revisions: [2] }, "schemaIds"],
      [users, { schemaIds: [userEntity.current.schemaId], dryRun: true }, "schemaIds"],
      [adopting, { legacy: true }, "legacy"],
      [named, { all: true }, "all"],
      [{ ...named, message: "acme.user.v1.User" }, { revisions: [2] }, "schemaIds"],
      [named, { schemaIds: [userEntity.current.schemaId] }, "schemaIds"],
      [{ ...named, major: 2 }, { all: true, dryRun: true }, "all"],
    ];
    for (const [target, selection, selector] of refusals) {
      const error = await cleanup(target, selection).catch((e: unknown) => e);
      expect(error, JSON.stringify(selection)).toBeInstanceOf(LiveDataError);
      expect((error as LiveDataError).selector).toBe(selector);
      expect((error as LiveDataError).message).toMatch(/Pass includeLive: true to delete live entries on purpose/);
    }
    expect(((await cleanup(users, { all: true }).catch((e: unknown) => e)) as LiveDataError).message).toBe(
      `cleanup refused, nothing deleted: all: true would delete every entry of ${prefix}user:v1:*, the revision written now (${hex(userEntity.current.schemaId)}) included; acme.user.v1.User is live (the accessor given reads and writes it). ` +
        "Pass includeLive: true to delete live entries on purpose; for a major no code reads any more, retire it (protocache retire <message>) and name its key space with retired: true",
    );
    await expect(cleanup(users, { all: true, includeLive: "yes" } as never)).rejects.toThrow(ConfigError);
    await expect(cleanup({ ...named, retired: 1 } as never, { all: true })).rejects.toThrow(ConfigError);
    expect((await migrate(users, {})).counts.migrated).toBe(30);
    expect(Object.keys(await snapshot())).toEqual(Object.keys(before));

    expect((await cleanup(users, { legacy: true, corrupt: true })).deleted).toBe(2);
    expect((await cleanup({ ...named, major: 2 }, { all: true, dryRun: true, includeLive: true })).deleted).toBe(20);
    expect((await cleanup({ ...named, major: 2, retired: true }, { all: true })).deleted).toBe(20);
    expect((await cleanup(users, { revisions: [2], includeLive: true })).deleted).toBe(60);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect(userRevisionId(2)).toBe(userEntity.current.schemaId);
  });
});
