import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { git } from "../support/git-repo.js";
import { repoRoot } from "../support/project.js";
import { startRedis, type RedisProcess } from "../support/redis-server.js";

/**
 * The whole path of a service that uses protocache, on the packed tarballs:
 * npm pack → install (runtime as a dependency, generator as a
 * devDependency) → init → gen → tsc → node against a real redis-server →
 * commit → breaking edit → check exits 1 → value-changing edit (int64 →
 * int32) → gen and check exit 1 → safe edit → check exits 0; and a
 * production install that must hold none of the build tools.
 */

const work = mkdtempSync(join(tmpdir(), "protocache-consumer-"));
const packs = join(work, "packs");
const svc = join(work, "service");
let redis: RedisProcess;

/** The environment of a plain shell: without the npm_* variables of the `npm test` that runs us. */
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_"))),
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_prefer_offline: "true",
};

function sh(cwd: string, command: string, args: readonly string[], extra: NodeJS.ProcessEnv = {}): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, env: { ...env, ...extra }, encoding: "utf8", maxBuffer: 1 << 26 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a command that must succeed; returns its stdout. */
function ok(cwd: string, command: string, ...args: string[]): string {
  const r = sh(cwd, command, args);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function duBytes(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + duBytes(join(path, name)), 0);
}

/** Top-level package names in a node_modules folder (scoped ones as `@scope/name`). */
function installed(nodeModules: string): string[] {
  const names: string[] = [];
  for (const name of readdirSync(nodeModules)) {
    if (name.startsWith(".")) continue;
    if (name.startsWith("@")) for (const sub of readdirSync(join(nodeModules, name))) names.push(`${name}/${sub}`);
    else names.push(name);
  }
  return names.sort();
}

beforeAll(async () => {
  ok(repoRoot, process.execPath, join(repoRoot, "scripts", "build.mjs"));
  mkdirSync(packs);
  ok(repoRoot, "npm", "pack", "./dist/protocache", "./dist/protocache-gen", "--pack-destination", packs);
  cpSync(join(repoRoot, "examples", "service"), svc, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|dist|generated)$/.test(src) && !/(buf\.yaml|protocache\.lock\.json|package-lock\.json)$/.test(src),
  });
  const pkg = JSON.parse(readFileSync(join(svc, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
  pkg.dependencies["protocache"] = `file:../packs/protocache-${version}.tgz`;
  pkg.devDependencies["protocache-gen"] = `file:../packs/protocache-gen-${version}.tgz`;
  writeFileSync(join(svc, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("a service using the packed packages", () => {
  it("installs, inits, generates, compiles, runs against Redis (set, get, an L1 hit once its tracking is live, three concurrent getOrSet of a missing cart sharing one load, the cart served as proto3 JSON over HTTP with its int64, map and Timestamp and parsed back equal, a bad int64 refused naming its path), and its CI gate rejects a breaking change and a value-changing one and accepts a safe one", () => {
    ok(svc, "npm", "install");
    expect(existsSync(join(svc, "node_modules", "protocache", "lib", "index.js"))).toBe(true);

    const init = ok(svc, "npx", "protocache", "init");
    expect(init).toMatch(/created {2}buf\.yaml/);
    expect(init).toMatch(/kept {5}proto\/ \(1 \.proto file\(s\)\)/);
    expect(existsSync(join(svc, "proto", "protocache"))).toBe(false);
    expect(JSON.parse(readFileSync(join(svc, "package.json"), "utf8"))).toMatchObject({ scripts: { gen: "protocache gen", check: "protocache check" } });

    expect(ok(svc, "npm", "run", "gen")).toMatch(/locked shop\.cart\.v1\.Cart r1 as 0x[0-9a-f]{8}/);
    const accessor = readFileSync(join(svc, "generated", "shop", "cart", "v1", "cart.cache.ts"), "utf8");
    expect(accessor).toMatch(/^\/\/ @generated by protocache v[\d.]+ from shop\/cart\/v1\/cart\.proto\. DO NOT EDIT\.\n\/\/ Regenerate with `npm run gen`; `npm run check` fails/);
    expect(accessor).toMatch(/from "protocache\/runtime";/);

    ok(svc, "npx", "tsc", "-p", "tsconfig.json");
    ok(svc, "npx", "tsc", "-p", "tsconfig.json", "--noEmit", "--module", "esnext", "--moduleResolution", "bundler");
    const run = JSON.parse(ok(svc, process.execPath, "dist/src/main.js").replace(/^.*?(\{)/s, "$1")) as Record<string, unknown>;
    expect(run).toMatchObject({ written: "written", read: { cartId: "c-1001", lines: [{ sku: "tea-earl-grey", quantity: 2, unitPriceCents: "450" }] }, loaded: ["c-2002", "c-2002", "c-2002"], loads: 1, l1: { live: true, hits: 1, same: true } });
    // The proto3 JSON mapping: int64 as a decimal string, the map as an object, the Timestamp as RFC 3339; parsed back into an equal Cart.
    expect(run["http"]).toEqual({
      status: 200,
      body: { cartId: "c-1001", customerId: "u-42", lines: [{ sku: "tea-earl-grey", quantity: 2, unitPriceCents: "450" }], updatedAtMs: expect.stringMatching(/^\d{13}$/), attributes: { "gift-wrap": "yes" }, createdAt: "2026-12-01T09:30:00.250Z" },
    });
    expect(run["jsonRoundTrip"]).toBe(true);
    expect(run["refused"]).toBe("lines[0].unitPriceCents");
    // Plain node, compiled output: importing the runtime and an accessor loads no descriptor machinery.
    const probe = 'import "./dist/generated/shop/cart/v1/cart.cache.js"; import "protocache"; import { createRequire } from "node:module"; console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));';
    const loaded = ok(svc, process.execPath, "--input-type=module", "-e", probe);
    expect(loaded).not.toMatch(/protobufjs|ioredis/);

    // protocache-gen brings no Redis client: its operations commands connect with the service's (ioredis here)…
    expect(installed(join(svc, "node_modules")).filter((n) => n === "redis" || n.startsWith("@redis/"))).toEqual([]);
    const census = sh(svc, "npx", ["protocache", "census", "--redis", redis.url, "--json"]);
    expect(census.status, census.stderr).toBe(0);
    expect(JSON.parse(census.stdout)).toMatchObject({ ok: true, census: [{ entity: "cart" }] });
    // …and without any, say which to install.
    renameSync(join(svc, "node_modules", "ioredis"), join(svc, "node_modules", ".ioredis-hidden"));
    try {
      const none = sh(svc, "npx", ["protocache", "census", "--redis", redis.url]);
      expect(none.stderr).toMatch(/^protocache census: no Redis client installed: .*npm install -D redis \(or ioredis, if your service uses it\)$/m);
      expect(none.status).toBe(2);
    } finally {
      renameSync(join(svc, "node_modules", ".ioredis-hidden"), join(svc, "node_modules", "ioredis"));
    }

    writeFileSync(join(svc, ".gitignore"), "node_modules/\ndist/\n");
    git(svc, "init", "-q", "-b", "main");
    git(svc, "add", "-A");
    git(svc, "commit", "-q", "-m", "cart service with protocache");

    const cart = join(svc, "proto", "shop", "cart", "v1", "cart.proto");
    const original = readFileSync(cart, "utf8");
    writeFileSync(cart, original.replace("uint32 quantity = 2;", "string quantity = 2;"));
    const refused = sh(svc, "npm", ["run", "gen"]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/Cart: the new revision is not wire-compatible with r1 .*gen did not lock it:\n.*\[FIELD_WIRE_COMPATIBLE_TYPE\] Field "2" with name "quantity"/);
    const breaking = sh(svc, "npm", ["run", "check"]);
    expect(breaking.status, breaking.stdout + breaking.stderr).toBe(1);
    expect(breaking.stderr).toMatch(/proto\/shop\/cart\/v1\/cart\.proto:\d+:\d+: \[FIELD_WIRE_COMPATIBLE_TYPE\] Field "2" with name "quantity" on message "Line" changed type from "uint32" to "string"/);
    expect(breaking.stderr).toMatch(/fix: to change the type of `quantity`, add a new major: `shop\.cart\.v2`/);

    // A change buf's WIRE rules let through but that would truncate cached values: refused by protocache's own rule.
    git(svc, "checkout", "-q", "--", ".");
    writeFileSync(cart, original.replace("int64 unit_price_cents = 3;", "int32 unit_price_cents = 3;"));
    const narrowing = sh(svc, "npm", ["run", "gen"]);
    expect(narrowing.status).toBe(1);
    expect(narrowing.stderr).toMatch(/Cart: the new revision would change values cached by r1 .*gen did not lock it:\n.*cart\.proto:\d+:\d+: \[field-value-changed\] Field "3" with name "unit_price_cents" on message "Line" changed type from "int64" to "int32": a cached 5000000000 reads as 705032704\./);
    const narrowingCheck = sh(svc, "npm", ["run", "check"]);
    expect(narrowingCheck.status, narrowingCheck.stdout + narrowingCheck.stderr).toBe(1);
    expect(narrowingCheck.stderr).toMatch(/\[field-value-changed\] Field "3" with name "unit_price_cents"/);

    git(svc, "checkout", "-q", "--", ".");
    writeFileSync(cart, original.replace("int64 updated_at_ms = 4;", "int64 updated_at_ms = 4;\n  string coupon_code = 7;"));
    ok(svc, "npm", "run", "gen");
    const safe = sh(svc, "npm", ["run", "check"]);
    expect(safe.stderr).toMatch(/protocache check: no findings/);
    expect(safe.status).toBe(0);
  });

  it("installs for production (npm ci --omit=dev) without buf, esbuild, ts-proto, tsx or typescript, and its types compile with no Redis client installed", () => {
    const prod = join(work, "prod");
    mkdirSync(prod);
    for (const f of ["package.json", "package-lock.json"]) cpSync(join(svc, f), join(prod, f));
    ok(prod, "npm", "ci", "--omit=dev");
    const names = installed(join(prod, "node_modules"));
    expect(names).toContain("protocache");
    expect(names).toContain("ioredis");
    for (const tool of ["@bufbuild/buf", "@bufbuild/protobuf", "esbuild", "ts-proto", "tsx", "typescript", "commander", "yaml", "protocache-gen"]) expect(names).not.toContain(tool);

    // The runtime's own installed size, without any Redis client: a service with only protocache.
    const alone = join(work, "runtime-only");
    mkdirSync(alone);
    writeFileSync(join(alone, "package.json"), JSON.stringify({ name: "runtime-only", private: true, dependencies: { protocache: (JSON.parse(readFileSync(join(svc, "package.json"), "utf8")) as { dependencies: Record<string, string> }).dependencies["protocache"] } }));
    ok(alone, "npm", "install", "--omit=dev");
    const bytes = duBytes(join(alone, "node_modules"));
    const each = installed(join(alone, "node_modules")).map((name) => `${name} ${(duBytes(join(alone, "node_modules", name)) / 1024 / 1024).toFixed(2)} MiB`);
    console.log(`protocache runtime, installed alone: ${(bytes / 1024).toFixed(0)} KiB (${(bytes / 1024 / 1024).toFixed(2)} MiB): ${each.join(", ")}`);
    expect(bytes).toBeLessThan(10 * 1024 * 1024);

    // Its types compile without any Redis client installed (a node-redis service never installs ioredis), even with
    // skipLibCheck off: the public declarations import no client's types.
    writeFileSync(join(alone, "check.ts"), 'import { MemoryStore, NodeRedisStore, RedisStore, type CacheStore } from "protocache";\nexport const store: CacheStore = new MemoryStore();\nexport { NodeRedisStore, RedisStore };\n');
    const tsc = join(repoRoot, "node_modules", "typescript", "bin", "tsc");
    const types = ["--typeRoots", join(repoRoot, "node_modules", "@types"), "--types", "node"];
    const compiled = sh(alone, process.execPath, [tsc, "--noEmit", "--strict", "--skipLibCheck", "false", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", ...types, "check.ts"]);
    expect(compiled.stdout + compiled.stderr).toBe("");
    expect(compiled.status).toBe(0);
  });
});
