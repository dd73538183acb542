import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/project.js";

const dir = join(repoRoot, ".tmp", "typecheck");

const good = `import { MemoryStore } from "../../src/index.js";
import { createUser, defineUserCache, userCache } from "../../generated/acme/user/v1/user.cache.js";
import { createUser as createUserV2, defineUserCache as defineUserV2Cache } from "../../generated/acme/user/v2/user.cache.js";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
const users = userCache(new MemoryStore());
export const a = users.get({ id: "42" });
export const b = sessionCache(new MemoryStore()).get({ tenantId: "t", sessionId: "s" });
export const c = users.set({ id: "1", name: "", email: "", fullName: "", verified: false, locale: "" });
export const d = users.set(createUser({ id: "1", verified: true }));
export const e = defineUserCache({ upgrades: { 1: (old, upgraded) => ({ ...upgraded, fullName: old.name.toUpperCase() }) } });
export const f = defineUserV2Cache({
  fromPrevious: (old) => createUserV2({ id: old.id, displayName: old.fullName, email: old.email, emailVerified: old.verified }),
  toPrevious: (v) => createUser({ id: v.id, fullName: v.displayName, email: v.email, verified: v.emailVerified }),
});
export const g = userCache(new MemoryStore(), { legacy: { key: ({ id }) => \`v3:user:\${id}\`, deleteOld: true } });
export const h = userCache(new MemoryStore(), { legacy: { prefix: "v3:user:", read: (bytes) => JSON.parse(bytes.toString()) } });
`;

const bad: Record<string, string> = {
  "unknown key field": 'users.get({ idd: "42" });',
  "missing key field": 'sessions.get({ tenantId: "t" });',
  "key field of the wrong type": "users.get({ id: 42 });",
  "value missing a field": 'users.set({ id: "1" });',
  "constructor given an unknown field": 'createUser({ idd: "1" });',
  "constructor given a field of the wrong type": "createUser({ verified: 1 });",
  "upgrade hook for a revision that does not exist": "defineUserCache({ upgrades: { 3: (_old, upgraded) => upgraded } });",
  "upgrade hook for the current revision": "defineUserCache({ upgrades: { 2: (_old, upgraded) => upgraded } });",
  "upgrade hook keyed by a misspelled revision": 'defineUserCache({ upgrades: { r1: (_old, upgraded) => upgraded } });',
  "upgrade hook returning the old shape": "defineUserCache({ upgrades: { 1: (old) => old } });",
  "upgrade hook reading a field its revision did not have": 'defineUserCache({ upgrades: { 1: (old, upgraded) => ({ ...upgraded, locale: old.locale }) } });',
  "upgrade hook taking another shape": "defineUserCache({ upgrades: { 1: (old: { nickname: string }, upgraded) => ({ ...upgraded, name: old.nickname }) } });",
  "upgrade hooks on an entity without older revisions": "defineUserV2Cache({ fromPrevious: () => createUserV2(), upgrades: { 1: (_old: unknown, u: never) => u } });",
  "new major without fromPrevious": "defineUserV2Cache({});",
  "new major with a misspelled fromPrevious": "defineUserV2Cache({ fromPrevios: () => createUserV2() });",
  "fromPrevious returning the previous major's type": "defineUserV2Cache({ fromPrevious: (old) => old });",
  "toPrevious returning this major's type": "defineUserV2Cache({ fromPrevious: () => createUserV2(), toPrevious: (v) => v });",
  "asynchronous legacy reader": 'userCache(new MemoryStore(), { legacy: { read: async (bytes) => ({ name: bytes.toString() }) } });',
  "legacy key function reading a field the key does not have": 'users.get; userCache(new MemoryStore(), { legacy: { key: ({ idd }) => String(idd) } });',
};

/** The `ts` snippets of docs/migrations.md, with a service's imports (`./generated/…`, `protocache`) pointed at this repository. */
function docSnippets(): string[] {
  const markdown = readFileSync(join(repoRoot, "docs", "migrations.md"), "utf8");
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) =>
    (m[1] as string).replace(/from "\.\/generated\//g, 'from "../../generated/').replace(/from "protocache"/g, 'from "../../src/index.js"'),
  );
}

function tsc(files: Record<string, string>): { status: number | null; out: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: ["*.ts"], compilerOptions: { noUnusedLocals: false } }));
  const result = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
  return { status: result.status, out: result.stdout + result.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("generated accessor types (checked with tsc)", () => {
  it("accept correct key fields, values, upgrade hooks, fromPrevious/toPrevious, legacy key functions and every ts snippet of docs/migrations.md, and reject each wrong one", () => {
    const header = `import { MemoryStore } from "../../src/index.js";
import { createUser, defineUserCache, userCache } from "../../generated/acme/user/v1/user.cache.js";
import { createUser as createUserV2, defineUserCache as defineUserV2Cache } from "../../generated/acme/user/v2/user.cache.js";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
const users = userCache(new MemoryStore());
const sessions = sessionCache(new MemoryStore());
void sessions;
void createUser;
void defineUserCache;
void defineUserV2Cache;
void createUserV2;
`;
    const files: Record<string, string> = { "good.ts": good };
    const snippets = docSnippets();
    expect(snippets.length).toBeGreaterThanOrEqual(3);
    snippets.forEach((code, i) => (files[`doc-snippet${i + 1}.ts`] = code));
    Object.values(bad).forEach((line, i) => (files[`bad${i}.ts`] = `${header}// @ts-expect-error must not compile\n${line}\n`));
    const result = tsc(files);
    // Each bad line carries @ts-expect-error: tsc passes only if every one of them is an error.
    expect(result.out).toBe("");
    expect(result.status).toBe(0);
    const unguarded = tsc({ "bad.ts": `${header}${bad["unknown key field"]}\n` });
    expect(unguarded.status).not.toBe(0);
    expect(unguarded.out).toMatch(/Object literal may only specify known properties, and 'idd' does not exist in type 'UserKey'/);
    // The errors name the mistake: a revision that does not exist, a missing fromPrevious, a field the old revision lacked.
    const named = tsc({
      "bad.ts": `${header}${bad["upgrade hook for a revision that does not exist"]}\n${bad["new major without fromPrevious"]}\n${bad["upgrade hook reading a field its revision did not have"]}\n`,
    });
    expect(named.out).toMatch(/'3' does not exist in type 'UserUpgrades'/);
    expect(named.out).toMatch(/Property 'fromPrevious' is missing in type '\{\}' but required in type 'UserMigrations'/);
    expect(named.out).toMatch(/Property 'locale' does not exist on type 'User_R1'/);
  });

  it("RedisStore keeps the type of the ioredis client it was given, and each store's constructor refuses the other client's type (tsc)", () => {
    const result = tsc({
      "stores.ts": `import { Cluster, Redis } from "ioredis";
import { createClient } from "redis";
import { NodeRedisStore, RedisStore } from "../../src/index.js";
const redis: Redis = new RedisStore(new Redis({ lazyConnect: true })).client;
const cluster: Cluster = new RedisStore(new Cluster([], { lazyConnect: true })).client;
void redis;
void cluster;
// @ts-expect-error a node-redis client is not an ioredis one
new RedisStore(createClient());
// @ts-expect-error an ioredis client is not a node-redis one
new NodeRedisStore(new Redis({ lazyConnect: true }));
`,
    });
    expect(result.out).toBe("");
    expect(result.status).toBe(0);
  });
});
