import { Redis } from "ioredis";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planGeneration, syncOutput } from "../../codegen/index.js";
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import type { CacheStats } from "../../src/stats.js";
import type { CacheStore } from "../../src/stores/store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { repoRoot } from "../support/project.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";

/**
 * A rolling deploy across a major: code generated from two proto snapshots
 * (v1 alone; v1 plus a v2 that migrates_from v1) runs side by side against
 * one Redis, v2 reading through and dual-writing, while both generations
 * read, write and delete the same keys.
 */
const work = join(repoRoot, ".tmp", `rolling-major-${process.pid}`);

const v1Proto = `syntax = "proto3";
package acme.user.v1;
import "protocache/v1/options.proto";
message User {
  option (protocache.v1.entity) = { key: "user:{id}" ttl_seconds: 3600 };
  string id = 1;
  string name = 2;
  string email = 3;
  string full_name = 4;
}
`;
const v2Proto = `syntax = "proto3";
package acme.user.v2;
import "protocache/v1/options.proto";
message User {
  option (protocache.v1.entity) = { key: "user:{id}" ttl_seconds: 3600 migrates_from: "acme.user.v1.User" };
  string id = 1;
  string display_name = 2;
  string email = 3;
  repeated string roles = 4;
}
`;

async function generation(name: string, protos: Record<string, string>, lockFrom?: string): Promise<string> {
  const root = join(work, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "proto"), { recursive: true });
  cpSync(join(repoRoot, "buf.yaml"), join(root, "buf.yaml"));
  if (lockFrom !== undefined) cpSync(join(lockFrom, "proto", "protocache.lock.json"), join(root, "proto", "protocache.lock.json"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name, private: true, type: "module", protocache: { runtime: "../../../src/runtime/index.js" } }));
  for (const [path, text] of Object.entries(protos)) {
    mkdirSync(join(root, "proto", path, ".."), { recursive: true });
    writeFileSync(join(root, "proto", path), text);
  }
  const plan = await planGeneration(root, { date: "2026-01-01" });
  await syncOutput(join(root, "generated"), plan.files);
  writeFileSync(join(root, "proto", "protocache.lock.json"), plan.lockText);
  return root;
}

interface V1 { id: string; name: string; email: string; fullName: string }
interface V2 { id: string; displayName: string; email: string; roles: string[] }
type Factory<T> = (store: CacheStore, options?: AccessorOptions<T, { id: string }>) => EntityCache<T, { id: string }>;
type Define = (migrations: { fromPrevious: (old: V1) => V2; toPrevious?: (v: V2) => V1 }) => Factory<V2>;

// A third major whose key field has another name: its migrations must map the key (previousKey).
const v3Proto = `syntax = "proto3";
package acme.user.v3;
import "protocache/v1/options.proto";
message User {
  option (protocache.v1.entity) = { key: "user:{account_id}" ttl_seconds: 3600 migrates_from: "acme.user.v2.User" };
  string account_id = 1;
  string display_name = 2;
}
`;

interface V3 { accountId: string; displayName: string }
type DefineV3 = (migrations: { fromPrevious: (old: V2) => V3; previousKey: (key: { accountId: string }) => { id: string } }) => (store: CacheStore, options?: object) => EntityCache<V3, { accountId: string }>;

let redis: Redis;
let v1Cache: Factory<V1>;
let defineV2: Define;
let chain: { v1: Factory<V1>; defineV2: Define; defineV3: DefineV3 };

beforeAll(async () => {
  const old = await generation("old", { "acme/user/v1/user.proto": v1Proto });
  const next = await generation("new", { "acme/user/v1/user.proto": v1Proto, "acme/user/v2/user.proto": v2Proto }, old);
  const third = await generation("third", { "acme/user/v1/user.proto": v1Proto, "acme/user/v2/user.proto": v2Proto, "acme/user/v3/user.proto": v3Proto }, next);
  const load = async <M>(root: string, major: number): Promise<M> => (await import(join(root, "generated", "acme", "user", `v${major}`, "user.cache.ts"))) as M;
  v1Cache = (await load<{ userCache: Factory<V1> }>(old, 1)).userCache;
  defineV2 = (await load<{ defineUserCache: Define }>(next, 2)).defineUserCache;
  chain = {
    v1: (await load<{ userCache: Factory<V1> }>(third, 1)).userCache,
    defineV2: (await load<{ defineUserCache: Define }>(third, 2)).defineUserCache,
    defineV3: (await load<{ defineUserCache: DefineV3 }>(third, 3)).defineUserCache,
  };
  redis = connectRedis();
});

afterAll(async () => {
  await redis?.quit();
  rmSync(work, { recursive: true, force: true });
});

// Values carry the id of the write that made them; read-through copies have no roles.
const fromPrevious = (old: V1): V2 => ({ id: old.id, displayName: old.fullName || old.name, email: old.email, roles: [] });
const toPrevious = (v: V2): V1 => ({ id: v.id, name: v.displayName, email: v.email, fullName: v.displayName });

describe("a rolling deploy across a major: v1 and v2 code share one Redis", () => {
  it("no read throws, v1 keeps hitting under dual-write, no v2 copy outlives the v1 entry it came from, and deletes remove both keys for good", async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore(redis);
    const errors: unknown[] = [];
    const options = { prefix, deadlineMs: 5_000, onError: (e: unknown) => errors.push(e) };
    const v2Cache = defineV2({ fromPrevious, toPrevious });
    const olds = Array.from({ length: 3 }, () => v1Cache(store, options));
    const news = Array.from({ length: 3 }, () => v2Cache(store, { ...options, previousMajor: "dual-write" }));
    const ids = Array.from({ length: 2000 }, (_, i) => `u${i}`);
    const v1Key = (id: string): string => `${prefix}user:v1:${id}`;
    const v2Key = (id: string): string => `${prefix}user:v2:${id}`;
    /** Latest expiry (epoch ms, same host clock as the server) each write can have given its entry. */
    const latestExpiry = new Map<string, number>();
    let writes = 0;
    const thrown: unknown[] = [];
    const violations: string[] = [];
    let checked = 0;

    // Each meeting once, in order: v1 entries read through by v2, v2 writes seen by v1, deletes.
    await olds[0]?.set({ id: "u0", name: "n", email: "e", fullName: "first" }, { ttlSeconds: 30 });
    const v1ExpireAt = await redis.pexpiretime(v1Key("u0"));
    expect(await news[0]?.get({ id: "u0" })).toEqual({ id: "u0", displayName: "first", email: "e", roles: [] });
    await expect.poll(() => redis.pexpiretime(v2Key("u0"))).toBe(v1ExpireAt);
    expect(await news[0]?.set({ id: "u1", displayName: "second", email: "e", roles: ["admin"] })).toBe("written");
    expect(await olds[0]?.get({ id: "u1" })).toEqual({ id: "u1", name: "second", email: "e", fullName: "second" });
    expect(olds[0]?.stats().reads.hit).toBe(1);
    expect(await news[0]?.delete({ id: "u1" })).toBe(true);
    expect(await redis.exists(v1Key("u1"), v2Key("u1"))).toBe(0);

    // v1 alone in production first: every key has a v1 entry, with short TTLs so some expire during the run.
    let seed = 11;
    const random = (n: number): number => {
      // mulberry32: every bit is random, so ids are spread over the whole range.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    for (let ttl = 2; ttl <= 6; ttl++) {
      const batch = ids.filter((_, i) => i % 5 === ttl - 2 && i > 1);
      await olds[0]?.setMany(batch.map((id) => ({ id, name: `seed${ttl}`, email: "v1", fullName: `seed${ttl}` })), { ttlSeconds: ttl });
      latestExpiry.set(`seed${ttl}`, Date.now() + ttl * 1000);
    }
    const deadline = Date.now() + 3500;
    const worker = async (act: () => Promise<void>): Promise<void> => {
      while (Date.now() < deadline) {
        try {
          await act();
        } catch (error) {
          thrown.push(error);
        }
      }
    };
    // Operation order per key, by a counter: when each write finished and each delete started.
    let seq = 0;
    const lastWriteEnd = new Map<string, number>();
    const lastDeleteStart = new Map<string, number>();
    const tagged = async (id: string, write: (tag: string, ttl: number) => Promise<unknown>): Promise<void> => {
      const tag = `w${writes++}`;
      const ttl = 1 + random(5);
      await write(tag, ttl);
      latestExpiry.set(tag, Date.now() + ttl * 1000);
      lastWriteEnd.set(id, seq++);
    };
    // The invariant, checked while the deploy runs: a v2 copy never expires after the v1 write it was made from.
    const checkCopies = async (sample: readonly string[], reader = news[0]): Promise<void> => {
      for (const id of sample) {
        const replies = await redis.multi().getBuffer(v2Key(id)).pexpiretime(v2Key(id)).exec();
        const value = replies?.[0]?.[1] as Buffer | null;
        const expireAt = replies?.[1]?.[1] as number;
        if (value === null) continue;
        const read = await reader?.getEntry({ id });
        const copy = read?.value;
        if (copy === undefined || copy.roles.length > 0) continue;
        const limit = latestExpiry.get(copy.displayName);
        if (limit !== undefined) checked++;
        if (limit !== undefined && (expireAt < 0 || expireAt > limit)) violations.push(`${id}: copy of ${copy.displayName} expires at ${expireAt}, after ${limit}`);
      }
    };
    const checker = (async () => {
      while (Date.now() < deadline) {
        await checkCopies(Array.from({ length: 100 }, () => ids[random(ids.length)] as string));
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await Promise.all([
      ...olds.map((cache) =>
        worker(async () => {
          const id = ids[random(ids.length)] as string;
          const op = random(10);
          if (op < 6) {
            const got = await cache.get({ id });
            if (got !== undefined) expect(got.id).toBe(id);
          } else {
            await tagged(id, (tag, ttl) => cache.set({ id, name: tag, email: "v1", fullName: tag }, { ttlSeconds: ttl }));
          }
        }),
      ),
      ...news.map((cache) =>
        worker(async () => {
          const id = ids[random(ids.length)] as string;
          const op = random(20);
          if (op < 12) {
            const got = op % 2 === 0 ? await cache.get({ id }) : (await cache.getMany([{ id }]))[0];
            if (got !== undefined) expect(got.id).toBe(id);
          } else if (op < 19) {
            await tagged(id, (tag, ttl) => cache.set({ id, displayName: tag, email: "v2", roles: ["set"] }, { ttlSeconds: ttl }));
          } else {
            lastDeleteStart.set(id, seq++);
            await cache.delete({ id });
          }
        }),
      ),
      checker,
    ]);
    // Background copies settled (close() waits for them), then every key checked once more.
    expect(await Promise.all([...olds, ...news].map((c) => c.close({ timeoutMs: 60_000 })))).toEqual([...olds, ...news].map(() => 0));
    await checkCopies(ids, v2Cache(store, { ...options, previousMajor: "dual-write" }));

    expect(thrown).toEqual([]);
    expect(errors).toEqual([]);
    expect(violations).toEqual([]);
    const total = (caches: EntityCache<unknown, never>[]): CacheStats["reads"] & CacheStats["writes"] =>
      caches.map((c) => ({ ...c.stats().reads, ...c.stats().writes })).reduce((a, b) => {
        const sum = { ...a };
        for (const [k, v] of Object.entries(b)) (sum as Record<string, number>)[k] = ((a as Record<string, number>)[k] ?? 0) + v;
        return sum;
      });
    const v1 = total(olds as unknown as EntityCache<unknown, never>[]);
    const v2 = total(news as unknown as EntityCache<unknown, never>[]);
    expect(v1.corrupt + v1.wrong_type + v1.error + v2.corrupt + v2.wrong_type + v2.error + v2.upgrade_failed).toBe(0);
    // v1 keeps hitting: most of its reads find an entry (written by v1 or dual-written by v2; 94% here).
    expect(v1.hit).toBeGreaterThan(0);
    expect(v1.hit / (v1.hit + v1.miss)).toBeGreaterThan(0.8);
    expect(checked).toBeGreaterThan(0);
    expect(v2.read_through).toBeGreaterThan(0);
    expect(v2.migrated).toBeGreaterThan(0);
    expect(v2.dual_written).toBeGreaterThan(0);
    expect(v2.dual_write_error + v2.migrate_error).toBe(0);
    // Deletes remove both keys, and nothing deleted comes back: every key whose last delete started after its
    // last write had finished is absent in both majors, though read-throughs of it may have been in flight.
    const deletedLast = ids.filter((id) => (lastDeleteStart.get(id) ?? -1) > (lastWriteEnd.get(id) ?? -1));
    expect(deletedLast.length).toBeGreaterThan(0);
    const left: string[] = [];
    for (const id of deletedLast) if ((await redis.exists(v1Key(id), v2Key(id))) > 0) left.push(id);
    expect(left).toEqual([]);
  });

  it("chains work one step at a time: v3 reads through to v2 (mapping the key with previousKey), never to v1", async () => {
    const prefix = uniquePrefix();
    const store = new RedisStore(redis);
    const options = { prefix, deadlineMs: 5_000 };
    const v1 = chain.v1(store, options);
    const v2 = chain.defineV2({ fromPrevious, toPrevious })(store, options);
    const v3 = chain.defineV3({ fromPrevious: (old) => ({ accountId: old.id, displayName: old.displayName.toUpperCase() }), previousKey: (key) => ({ id: key.accountId }) })(store, options);
    await v1.set({ id: "a", name: "n", email: "e", fullName: "ada" }, { ttlSeconds: 100 });
    // Only v1 has it: v3 does not look two majors back.
    expect(await v3.get({ accountId: "a" })).toBeUndefined();
    expect(v3.stats().reads).toMatchObject({ miss: 1, read_through: 0 });
    // v2 (still deployed) reads through to v1; then v3 reads through to v2.
    expect(await v2.get({ id: "a" })).toEqual({ id: "a", displayName: "ada", email: "e", roles: [] });
    await expect.poll(() => v2.stats().writes.migrated).toBe(1);
    expect(await v3.get({ accountId: "a" })).toEqual({ accountId: "a", displayName: "ADA" });
    await expect.poll(() => v3.stats().writes.migrated).toBe(1);
    expect(await redis.pexpiretime(`${prefix}user:v3:a`)).toBe(await redis.pexpiretime(`${prefix}user:v1:a`));
    expect(await v3.delete({ accountId: "a" })).toBe(true);
    expect(await redis.exists(`${prefix}user:v2:a`, `${prefix}user:v3:a`)).toBe(0);
  });
});
