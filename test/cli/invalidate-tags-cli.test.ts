import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { accessorInternals, type WithInternals } from "../../src/accessor/internals.js";
import { tagKeyOf } from "../../src/invalidation/tag-keys.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { heardAll, l1, listen, user } from "../support/l1-harness.js";
import { repoRoot } from "../support/project.js";
import { uniquePrefix } from "../support/redis-client.js";

/** Runs the CLI in this repository, REDIS_URL unset. */
function run(args: readonly string[]): { status: number; stdout: string; stderr: string } {
  const { REDIS_URL: _, ...env } = process.env;
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), ...args], { cwd: repoRoot, encoding: "utf8", env });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("protocache invalidate-tags", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.disconnect());

  it("run by another process, it reaches an accessor's L1: after the state's invalidation arrives, the tagged entry is a miss and an untagged one still a hit", async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore(redis);
    const tracking = store.tracking();
    const heard = listen(tracking, prefix);
    const users = userCache(store, { prefix, deadlineMs: 5_000, l1, invalidation: true });
    const internals = (users as unknown as WithInternals<never, never>)[accessorInternals]();
    expect(await internals.l1?.ready(10_000)).toBe(true);
    expect(await internals.invalidationReady(10_000)).toBe(true);
    await users.set(user("1"), { tags: ["shop:s1"] });
    await users.set(user("2"), { tags: ["shop:s2"] });
    await heardAll(heard, [users.keyOf({ id: "1" }), users.keyOf({ id: "2" })]);
    expect((await users.get({ id: "1" }))?.id).toBe("1");
    expect((await users.get({ id: "2" }))?.id).toBe("2");
    const hits = users.stats().l1.hit;
    expect((await users.get({ id: "1" }))?.id).toBe("1");
    expect(users.stats().l1.hit).toBe(hits + 1);

    const done = run(["invalidate-tags", "shop:s1", "--prefix", prefix, "--redis", inject("redisUrl"), "--json"]);
    expect(done.status, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ ok: true, tags: ["shop:s1"], prefix });
    await heardAll(heard, [tagKeyOf(prefix, "shop:s1")]);
    expect(await users.get({ id: "1" })).toBeUndefined();
    expect((await users.get({ id: "2" }))?.id).toBe("2");
    heard.close();
    await users.close();
  });

  it("refuses a tag over 128 bytes and a bad --keep-seconds in one line, exit 2", () => {
    const long = run(["invalidate-tags", "x".repeat(129), "--redis", inject("redisUrl")]);
    expect(long.status).toBe(2);
    expect(long.stderr.trim().split("\n")).toHaveLength(1);
    expect(long.stderr).toMatch(/invalidate-tags: .*128 UTF-8 bytes/);
    const keep = run(["invalidate-tags", "t", "--keep-seconds", "-1", "--redis", inject("redisUrl")]);
    expect(keep.status).toBe(2);
    expect(keep.stderr).toMatch(/invalid --keep-seconds "-1"/);
  });
});
