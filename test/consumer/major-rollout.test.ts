import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ok, okWith, packPackages, serviceFromExample, sh } from "../support/consumer.js";
import { startRedis, type RedisProcess } from "../support/redis-server.js";

/**
 * docs/operations.md's runbook for a new major, walked end to end by a
 * service on the packed packages, with no TypeScript written for the
 * operations: v1 live (its service writes entries) → v2 deployed with
 * dual-write and read-through (fromPrevious converting the re-declared
 * enum with the generated statusFromV1) → `protocache migrate --from-major
 * 1 --module` (dry run, then the move) → `deprecatable --major 1` says yes
 * (with the read counts of a v2 instance) → v1 removed from proto/ and
 * `retire`d → `cleanup --all` of v1's key space.
 */

const work = mkdtempSync(join(tmpdir(), "protocache-rollout-"));
const packs = join(work, "packs");
const svc = join(work, "service");
let redis: RedisProcess;

const statusEnum = `enum Status {
  STATUS_UNSPECIFIED = 0;
  STATUS_ACTIVE = 1;
  STATUS_DISCONTINUED = 2;
}`;

const productV1 = `syntax = "proto3";
package shop.product.v1;
import "protocache/v1/options.proto";
${statusEnum}
// A product of the catalogue.
message Product {
  option (protocache.v1.entity) = { key: "product:{sku}" ttl_seconds: 3600 };
  string sku = 1;
  string name = 2;
  Status status = 3;
}
`;

const productV2 = (migratesFrom: boolean): string => `syntax = "proto3";
package shop.product.v2;
import "protocache/v1/options.proto";
${statusEnum}
// A product of the catalogue: the name is now a title, and a price was added.
message Product {
  option (protocache.v1.entity) = { key: "product:{sku}" ttl_seconds: 3600${migratesFrom ? ' migrates_from: "shop.product.v1.Product"' : ""} };
  string sku = 1;
  string title = 2;
  Status status = 3;
  int64 price_cents = 4;
}
`;

/** The v1 service: writes 200 products. */
const v1Service = `import { Redis } from "ioredis";
import { RedisStore } from "protocache";
import { createProduct, productCache, Status } from "../generated/shop/product/v1/product.cache.js";
const redis = new Redis(process.env["REDIS_URL"] as string, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
await redis.connect();
const products = productCache(new RedisStore(redis));
const written = await products.setMany(Array.from({ length: 200 }, (_, i) => createProduct({ sku: "p" + i, name: "Product " + i, status: i % 2 === 0 ? Status.STATUS_ACTIVE : Status.STATUS_DISCONTINUED })));
await products.close();
redis.disconnect();
console.log(JSON.stringify({ written: written.filter((w) => w === "written").length }));
`;

/** The service's one definition of v2's migrations. */
const cachesWithV1 = `import { createProduct as createProductV1 } from "../generated/shop/product/v1/product.cache.js";
import { createProduct, defineProductCache, statusFromV1, statusToV1 } from "../generated/shop/product/v2/product.cache.js";
export const productCache = defineProductCache({
  fromPrevious: (old) => createProduct({ sku: old.sku, title: old.name, status: statusFromV1(old.status) }),
  toPrevious: (p) => createProductV1({ sku: p.sku, name: p.title, status: statusToV1(p.status) }),
});
`;

/** The v2 service: during the rollout it reads 10 products through and updates one (dual-write); after, it reads all. */
const v2Service = `import { Redis } from "ioredis";
import { RedisStore } from "protocache";
import { productCache } from "./caches.js";
const redis = new Redis(process.env["REDIS_URL"] as string, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
await redis.connect();
const rollout = process.argv[2] === "rollout";
const products = productCache(new RedisStore(redis), rollout ? { previousMajor: "dual-write" } : {});
const out: Record<string, unknown> = {};
if (rollout) {
  const read = await products.getMany(Array.from({ length: 10 }, (_, i) => ({ sku: "p" + i })));
  out["read"] = read.map((p) => p?.title);
  const p11 = await products.get({ sku: "p11" });
  out["set"] = await products.set({ ...(p11 as NonNullable<typeof p11>), title: "Renamed", priceCents: 999n });
} else {
  const all = await products.getMany(Array.from({ length: 200 }, (_, i) => ({ sku: "p" + i })));
  out["found"] = all.filter((p) => p !== undefined).length;
  out["p11"] = all[11]?.title;
  out["p12status"] = all[12]?.status;
}
await products.close();
redis.disconnect();
out["stats"] = products.stats();
console.log(JSON.stringify(out, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
`;

beforeAll(async () => {
  packPackages(packs);
  serviceFromExample(svc, "packs");
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a major rollout by a service on the packed packages, following docs/operations.md", () => {
  it("v1 live → v2 with dual-write and read-through → migrate --from-major from the CLI (dry run counts, then moves) → deprecatable says yes → retire → cleanup --all: every v1 entry ends in v2 converted by the service's fromPrevious, none is lost, v1's key space is empty", async () => {
    const env = { REDIS_URL: redis.url };
    const run = (...args: string[]): string => okWith(env, svc, ...(args as [string, ...string[]]));
    const cli = (...args: string[]) => sh(svc, "npx", ["protocache", ...args], env);
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      ok(svc, "npm", "install");
      ok(svc, "npx", "protocache", "init");
      rmSync(join(svc, "src", "main.ts"));

      // v1 is live: its service writes the cache.
      ok(svc, "mkdir", "-p", "proto/shop/product/v1", "proto/shop/product/v2");
      writeFileSync(join(svc, "proto", "shop", "product", "v1", "product.proto"), productV1);
      ok(svc, "npm", "run", "gen");
      writeFileSync(join(svc, "src", "v1-service.ts"), v1Service);
      ok(svc, "npx", "tsc", "-p", "tsconfig.json");
      expect(JSON.parse(run(process.execPath, "dist/src/v1-service.js"))).toEqual({ written: 200 });

      // v2 ships with migrates_from; the service defines fromPrevious/toPrevious once, enums converted without a cast.
      writeFileSync(join(svc, "proto", "shop", "product", "v2", "product.proto"), productV2(true));
      expect(ok(svc, "npm", "run", "gen")).toMatch(/locked shop\.product\.v2\.Product r1/);
      const typings = readFileSync(join(svc, "generated", "shop", "product", "v2", "product.cache.ts"), "utf8");
      expect(typings).toContain("readonly fromPrevious: (old: ProductV1) => Product;");
      writeFileSync(join(svc, "src", "caches.ts"), cachesWithV1);
      writeFileSync(join(svc, "src", "v2-service.ts"), v2Service);
      ok(svc, "npx", "tsc", "-p", "tsconfig.json");
      const rollout = JSON.parse(run(process.execPath, "dist/src/v2-service.js", "rollout")) as { read: string[]; set: string; stats: { reads: Record<string, number>; writes: Record<string, number> } };
      expect(rollout.read).toEqual(Array.from({ length: 10 }, (_, i) => `Product ${i}`));
      expect(rollout.set).toBe("written");
      expect(rollout.stats.reads["read_through"]).toBe(11);
      expect(rollout.stats.writes["dual_written"]).toBe(1);

      // Without the compiled module, the CLI says what to pass; a dry run counts what would move.
      const noModule = cli("migrate", "product", "--from-major", "1", "--dry-run");
      expect(noModule.status).toBe(2);
      expect(noModule.stderr).toMatch(/pass --module <the service's compiled JavaScript module that exports the factory defineProductCache returns>/);
      const dry = cli("migrate", "product", "--from-major", "1", "--module", "dist/src/caches.js", "--dry-run", "--json");
      expect(dry.status, dry.stderr).toBe(0);
      const dryCounts = (JSON.parse(dry.stdout) as { counts: Record<string, number> }).counts;
      const copied = (await client.keys("product:v2:*")).length;
      expect(copied).toBeGreaterThan(0);
      expect(dryCounts).toMatchObject({ migrated: 200 - copied, current: copied, failed: 0 });
      expect((await client.keys("product:v2:*")).length).toBe(copied);

      const moved = cli("migrate", "product", "--from-major", "1", "--module", "dist/src/caches.js", "--rate", "5000");
      expect(moved.status, moved.stderr).toBe(0);
      expect(moved.stdout).toMatch(new RegExp(`migrated ${200 - copied}, already in the new major ${copied}, skipped 0, failed 0`));
      expect((await client.keys("product:v2:*")).length).toBe(200);

      // Instances read v2 only now: their read counts, over the window, are what deprecatable judges.
      const after = JSON.parse(run(process.execPath, "dist/src/v2-service.js")) as { found: number; p11: string; p12status: number; stats: unknown };
      expect(after).toMatchObject({ found: 200, p11: "Renamed", p12status: 1 });
      writeFileSync(join(svc, "reads.json"), JSON.stringify(after.stats));
      const verdict = cli("deprecatable", "product", "--major", "1", "--reads", "reads.json");
      expect(verdict.stdout).toMatch(/^shop\.product\.v1\.Product \(major 1\) can be removed/);
      expect(verdict.status, verdict.stdout).toBe(0);
      const current = cli("deprecatable", "product", "--major", "2", "--reads", "reads.json");
      expect(current.status).toBe(1);
      expect(current.stdout).not.toMatch(/protocache migrate/);

      // Remove v1: migrates_from and the v1 code go, v1 is retired, then its key space is deleted.
      writeFileSync(join(svc, "proto", "shop", "product", "v2", "product.proto"), productV2(false));
      rmSync(join(svc, "proto", "shop", "product", "v1"), { recursive: true });
      expect(ok(svc, "npx", "protocache", "retire", "shop.product.v1.Product")).toMatch(/retired shop\.product\.v1\.Product/);
      ok(svc, "npm", "run", "gen");
      rmSync(join(svc, "src", "v1-service.ts"));
      writeFileSync(join(svc, "src", "caches.ts"), 'export { productCache } from "../generated/shop/product/v2/product.cache.js";\n');
      rmSync(join(svc, "dist"), { recursive: true });
      ok(svc, "npx", "tsc", "-p", "tsconfig.json");

      const dryCleanup = cli("cleanup", "product", "--major", "1", "--message", "shop.product.v1.Product", "--all", "--dry-run", "--json");
      expect(dryCleanup.status, dryCleanup.stderr).toBe(0);
      expect(JSON.parse(dryCleanup.stdout)).toMatchObject({ dryRun: true, deleted: 200 });
      const cleanup = cli("cleanup", "product", "--major", "1", "--message", "shop.product.v1.Product", "--all", "--yes");
      expect(cleanup.status, cleanup.stderr).toBe(0);
      expect(await client.keys("product:v1:*")).toEqual([]);
      expect((await client.keys("product:v2:*")).length).toBe(200);
      expect(JSON.parse(run(process.execPath, "dist/src/v2-service.js"))).toMatchObject({ found: 200, p11: "Renamed" });
    } finally {
      client.disconnect();
    }
  });
});
