import { Redis } from "ioredis";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planGeneration, syncOutput } from "../../codegen/index.js";
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { repoRoot } from "../support/project.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";

/**
 * Two generations of generated code, built from two revisions of the same
 * proto, run side by side against one Redis as during a rolling deploy.
 */
const work = join(repoRoot, ".tmp", "rolling");

const userV1 = `syntax = "proto3";
package acme.user.v1;
import "protocache/v1/options.proto";
message User {
  option (protocache.v1.entity) = { key: "user:{id}" ttl_seconds: 3600 };
  string id = 1;
  string name = 2;
  string email = 3;
}
`;
const userV1Next = userV1.replace(
  "  string email = 3;\n",
  '  string email = 3;\n  string full_name = 4 [(protocache.v1.field).default_string = "Unknown"];\n  uint32 logins = 5;\n',
);

/** A repeatable pseudo-random integer in [0, n) per call (a linear congruential generator from `seed`). */
function seededRandom(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
}

/** Runs an action over and over until `deadline` (epoch ms), collecting what it throws into `thrown`. */
function repeatUntil(deadline: number, thrown: unknown[]): (act: () => Promise<void>) => Promise<void> {
  return async (act) => {
    while (Date.now() < deadline) {
      try {
        await act();
      } catch (error) {
        thrown.push(error);
      }
    }
  };
}

async function generation(name: string, proto: string, lockFrom?: string): Promise<string> {
  const root = join(work, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "proto", "acme", "user", "v1"), { recursive: true });
  cpSync(join(repoRoot, "buf.yaml"), join(root, "buf.yaml"));
  if (lockFrom !== undefined) cpSync(join(lockFrom, "proto", "protocache.lock.json"), join(root, "proto", "protocache.lock.json"));
  writeFileSync(join(root, "package.json"), JSON.stringify({ name, private: true, type: "module", protocache: { runtime: "../../../src/runtime/index.js" } }));
  writeFileSync(join(root, "proto", "acme", "user", "v1", "user.proto"), proto);
  const plan = await planGeneration(root, { date: "2026-01-01" });
  await syncOutput(join(root, "generated"), plan.files);
  writeFileSync(join(root, "proto", "protocache.lock.json"), plan.lockText);
  return root;
}

interface OldUser { id: string; name: string; email: string }
interface NewUser extends OldUser { fullName: string; logins: number }
type Factory<T> = (store: RedisStore, options?: object) => EntityCache<T, { id: string }>;

let redis: Redis;
let oldCache: Factory<OldUser>;
let newCache: Factory<NewUser>;

beforeAll(async () => {
  const oldRoot = await generation("old", userV1);
  const newRoot = await generation("new", userV1Next, oldRoot);
  oldCache = ((await import(join(oldRoot, "generated", "acme", "user", "v1", "user.cache.ts"))) as { userCache: Factory<OldUser> }).userCache;
  newCache = ((await import(join(newRoot, "generated", "acme", "user", "v1", "user.cache.ts"))) as { userCache: Factory<NewUser> }).userCache;
  redis = connectRedis();
});

afterAll(async () => {
  await redis?.quit();
  rmSync(work, { recursive: true, force: true });
});

/** Old and new code (four instances each) on one cache for 2.5 s, with the guard's `onGuarded` policy; asserts per policy. */
async function rollingDeploy(onGuarded: "keep" | "delete"): Promise<void> {
  const prefix = uniquePrefix();
  const store = new RedisStore(redis);
  const errors: unknown[] = [];
  // A generous deadline: these tests are about what each generation reads and writes, not about the store's latency
  // (the default 200 ms timed calls out on a saturated machine, and `errors` then held StoreTimeoutErrors).
  const options = { prefix, onGuarded, deadlineMs: 5_000, onError: (e: unknown) => errors.push(e) };
  const olds = Array.from({ length: 4 }, () => oldCache(store, options));
  const news = Array.from({ length: 4 }, () => newCache(store, options));
  const keys = Array.from({ length: 40 }, (_, i) => `u${i}`);
  const writtenByNew = new Set<string>();
  const thrown: unknown[] = [];
  const deadline = Date.now() + 2500;
  const random = seededRandom(7);

  // The deploy starts: old code's entries everywhere, then each meeting once, in order.
  await olds[0]?.setMany(keys.map((id) => ({ id, name: `old-${id}`, email: `${id}@old` })));
  expect(await news[0]?.get({ id: "u0" })).toMatchObject({ name: "old-u0", fullName: "Unknown", logins: 0 });
  expect(await news[0]?.set({ id: "u1", name: "new-u1", email: "u1@new", fullName: "Full u1", logins: 3 })).toBe("written");
  writtenByNew.add("u1");
  expect(await olds[0]?.get({ id: "u1" })).toMatchObject({ name: "new-u1", email: "u1@new" });
  expect(await olds[0]?.set({ id: "u1", name: "old-u1", email: "u1@old" })).toBe("guarded");
  if (onGuarded === "delete") {
    // The refused write took the newer entry with it: nobody reads what old code just tried to change.
    expect(await news[0]?.get({ id: "u1" })).toBeUndefined();
    expect(await news[0]?.set({ id: "u1", name: "new-u1", email: "u1@new", fullName: "Full u1", logins: 3 })).toBe("written");
  }

  // Then both generations at once, at random.
  const worker = repeatUntil(deadline, thrown);
  await Promise.all([
    ...olds.map((cache) =>
      worker(async () => {
        const id = keys[random(keys.length)] as string;
        if (random(2) === 0) {
          const got = await cache.get({ id });
          if (got !== undefined) expect(got.id).toBe(id);
        } else {
          await cache.set({ id, name: `old-${id}`, email: `${id}@old` });
        }
      }),
    ),
    ...news.map((cache) =>
      worker(async () => {
        const id = keys[random(keys.length)] as string;
        if (random(2) === 0) {
          const got = await cache.get({ id });
          if (got !== undefined) {
            expect(got.id).toBe(id);
            if (got.name.startsWith("old-")) expect(got.fullName).toBe("Unknown");
          }
        } else if ((await cache.set({ id, name: `new-${id}`, email: `${id}@new`, fullName: `Full ${id}`, logins: 3 })) === "written") {
          writtenByNew.add(id);
        }
      }),
    ),
  ]);

  expect(thrown).toEqual([]);
  expect(errors).toEqual([]);
  const sum = (caches: EntityCache<unknown, never>[], pick: (s: ReturnType<EntityCache<unknown, never>["stats"]>) => number): number =>
    caches.reduce((n, c) => n + pick(c.stats()), 0);
  const all = [...olds, ...news] as unknown as EntityCache<unknown, never>[];
  expect(sum(all, (s) => s.reads.corrupt + s.reads.wrong_type + s.reads.error)).toBe(0);
  expect(sum(olds as never, (s) => s.reads.unknown)).toBeGreaterThan(0);
  expect(sum(olds as never, (s) => s.writes.guarded)).toBeGreaterThan(0);
  expect(sum(news as never, (s) => s.reads.upgraded)).toBeGreaterThan(0);

  const reader = newCache(store, { prefix, deadlineMs: 5_000 });
  if (onGuarded === "keep") {
    // Every key new code wrote still holds new code's entry: old code never downgraded one.
    expect(writtenByNew.size).toBeGreaterThan(0);
    for (const id of writtenByNew) {
      const entry = await reader.getEntry({ id });
      expect(entry.outcome, id).toBe("hit");
      expect(entry.value).toMatchObject({ name: `new-${id}`, fullName: `Full ${id}`, logins: 3 });
    }
    expect(sum(olds as never, (s) => s.deletes.guard_deleted)).toBe(0);
  } else {
    // Every refusal deleted the newer entry, atomically: each key holds a whole entry of either generation
    // (old ones possibly written back by new readers), or nothing.
    expect(sum(olds as never, (s) => s.deletes.guard_deleted)).toBe(sum(olds as never, (s) => s.writes.guarded));
    for (const id of keys) {
      const entry = await reader.getEntry({ id });
      expect(["hit", "upgraded", "miss"], id).toContain(entry.outcome);
      if (entry.value === undefined) continue;
      if (entry.value.name === `new-${id}`) expect(entry.value).toMatchObject({ fullName: `Full ${id}`, logins: 3 });
      else expect(entry.value).toMatchObject({ name: `old-${id}`, fullName: "Unknown", logins: 0 });
    }
  }
  // And old code reading a new entry still gets every field it knows.
  await news[0]?.set({ id: "last", name: "new-last", email: "last@new", fullName: "Full last", logins: 3 });
  const oldReader = oldCache(store, { prefix, deadlineMs: 5_000 });
  expect(await oldReader.get({ id: "last" })).toMatchObject({ id: "last", name: "new-last", email: "last@new" });
}

/** Old code `set`s while new code only `getOrSet`s (its loader is the source of truth) for 2 s, with the default onGuarded: delete. */
async function rollingLoad(): Promise<void> {
  const prefix = uniquePrefix();
  const store = new RedisStore(redis);
  const errors: unknown[] = [];
  const options = { prefix, deadlineMs: 5_000, onError: (e: unknown) => errors.push(e) };
  const olds = Array.from({ length: 4 }, () => oldCache(store, options));
  const news = Array.from({ length: 4 }, () => newCache(store, options));
  const keys = Array.from({ length: 40 }, (_, i) => `u${i}`);
  /** The source's version of each key: bumped by every old-code write (the write a real service makes after updating its database). */
  const version = new Map<string, number>(keys.map((id) => [id, 0]));
  const thrown: unknown[] = [];
  const deadline = Date.now() + 2000;
  const random = seededRandom(11);
  const worker = repeatUntil(deadline, thrown);
  await Promise.all([
    ...olds.map((cache) =>
      worker(async () => {
        const id = keys[random(keys.length)] as string;
        const v = (version.get(id) ?? 0) + 1;
        version.set(id, v);
        await cache.set({ id, name: `old-${id}-${v}`, email: `${id}@old` });
      }),
    ),
    ...news.map((cache) =>
      worker(async () => {
        const id = keys[random(keys.length)] as string;
        const got = await cache.getOrSet({ id }, ({ id: asked }) => ({ id: asked, name: `new-${asked}-${version.get(asked) ?? 0}`, email: `${asked}@new`, fullName: `Full ${asked}`, logins: 3 }));
        expect(got?.id).toBe(id);
      }),
    ),
  ]);
  expect(thrown).toEqual([]);
  expect(errors).toEqual([]);
  const olderGuarded = olds.reduce((n, c) => n + c.stats().writes.guarded, 0);
  expect(olderGuarded).toBeGreaterThan(0);
  expect(olds.reduce((n, c) => n + c.stats().deletes.guard_deleted, 0)).toBe(olderGuarded);
  // After the deploy, every key holds a whole entry of either generation or nothing (a refused old write deleted
  // the new entry with it, so the next getOrSet loaded the source again instead of serving what old code replaced).
  const reader = newCache(store, { prefix, deadlineMs: 5_000 });
  for (const id of keys) {
    const entry = await reader.getEntry({ id });
    expect(["hit", "upgraded", "miss"], id).toContain(entry.outcome);
    if (entry.value === undefined) continue;
    if (entry.value.name.startsWith("new-")) expect(entry.value).toMatchObject({ fullName: `Full ${id}`, logins: 3 });
    else expect(entry.value).toMatchObject({ fullName: "Unknown", logins: 0 });
  }
  expect(news.reduce((n, c) => n + c.stats().loads.loaded, 0)).toBeGreaterThan(0);
}

describe("a rolling deploy: old and new code share one cache", () => {
  it("old code sets while new code getOrSets: no reader crashes, no error, every refused old write deletes the new entry, every key ends holding a whole entry of either generation or nothing", () => rollingLoad());
  it("onGuarded keep: no reader crashes, new code upgrades old entries, old code's writes over new entries are refused, and every key new code wrote still holds new code's entry", () => rollingDeploy("keep"));
  it("onGuarded delete: no reader crashes, new code upgrades old entries, each refused write deletes the new entry, and every key ends holding a whole entry of either generation or nothing", () => rollingDeploy("delete"));
});
