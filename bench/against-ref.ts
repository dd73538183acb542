/**
 * `node --import tsx bench/against-ref.ts <git ref> [rounds]`: the accessor
 * (get, set, getMany of 100) of another commit against the working tree's,
 * on ioredis and node-redis, interleaved in one process on the same clients,
 * server and data (the harness alternates the order every round). The
 * other commit's src/ and generated/ are exported to .tmp/against-ref/.
 * Prints a markdown table of medians and the range of the per-round ratios:
 * what "within noise of the previous main" means for a refactor.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { createClient } from "redis";
import * as newUser from "../generated/acme/user/v1/user.cache.js";
import * as newSession from "../generated/acme/session/v1/session.cache.js";
import { RedisStore, NodeRedisStore } from "../src/index.js";
import { compareThroughput, median } from "./harness.js";
import { startRedis } from "../test/support/redis-server.js";

const ref = process.argv[2];
if (ref === undefined) throw new Error("usage: node --import tsx bench/against-ref.ts <git ref> [rounds]");
const root = join(import.meta.dirname, "..");
const dir = join(root, ".tmp", "against-ref");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
execFileSync("sh", ["-c", `git archive ${JSON.stringify(ref)} src generated | tar -x -C ${JSON.stringify(dir)}`], { cwd: root });
const oldUser = await import(join(dir, "generated/acme/user/v1/user.cache.ts"));
const oldSession = await import(join(dir, "generated/acme/session/v1/session.cache.ts"));
const oldIndex = (await import(join(dir, "src/index.ts"))) as { RedisStore: new (c: unknown) => unknown; NodeRedisStore: new (c: unknown) => unknown };
const OldRedisStore = oldIndex.RedisStore;
const OldNodeRedisStore = oldIndex.NodeRedisStore;
const server = await startRedis();
const io = new Redis(server.port);
const nr = await createClient({ url: server.url, commandOptions: { timeout: 0 } } as never).connect();
const rounds = Number(process.argv[3] ?? 7);
const stores = { "ioredis": [new OldRedisStore(io), new RedisStore(io)], "node-redis": [new OldNodeRedisStore(nr as never), new NodeRedisStore(nr as never)] } as const;
const user = (id: string) => newUser.createUser({ id, name: "ada", email: "ada@example.com", fullName: "Ada Lovelace", verified: true, locale: "en-GB" });
const session = (id: string) => newSession.createSession({ tenantId: "t", sessionId: id, userId: "u", scopes: ["a", "b", "c"], attributes: new Map([["k", "v"]]) });
const keys = 16;
const rows: string[] = [];
for (const [client, [oldStore, newStore]] of Object.entries(stores)) {
  for (const [entity, mk, oldCache, newCache, field] of [
    ["User", user, oldUser.userCache, newUser.userCache, (id: string) => ({ id })],
    ["Session", session, oldSession.sessionCache, newSession.sessionCache, (id: string) => ({ tenantId: "t", sessionId: id })],
  ] as const) {
    const o = (oldCache as (s: unknown, x: unknown) => any)(oldStore, { prefix: "rb:" });
    const n = (newCache as (s: unknown, x: unknown) => any)(newStore, { prefix: "rb:" });
    for (let c = 0; c < 64; c++) for (let i = 0; i < keys; i++) await n.set((mk as (id: string) => unknown)(`${c}-${i}`));
    const id = (c: number, i: number) => `${c}-${i % keys}`;
    const contenders = {
      "other ref: get": (c: number, i: number) => o.get((field as (id: string) => unknown)(id(c, i))),
      "working tree: get": (c: number, i: number) => n.get((field as (id: string) => unknown)(id(c, i))),
      "other ref: set": (c: number, i: number) => o.set((mk as (id: string) => unknown)(id(c, i))),
      "working tree: set": (c: number, i: number) => n.set((mk as (id: string) => unknown)(id(c, i))),
      "other ref: getMany(100)": (c: number) => o.getMany(Array.from({ length: 100 }, (_, j) => (field as (id: string) => unknown)(`${c % 64}-${j % keys}`))),
      "working tree: getMany(100)": (c: number) => n.getMany(Array.from({ length: 100 }, (_, j) => (field as (id: string) => unknown)(`${c % 64}-${j % keys}`))),
    };
    const r = await compareThroughput(contenders, { rounds, timeMs: 1000, concurrency: 64, warmupMs: 500 });
    for (const op of ["get", "set", "getMany(100)"]) {
      const a = r.get(`other ref: ${op}`) as number[];
      const b = r.get(`working tree: ${op}`) as number[];
      const ratios = a.map((x, k) => (b[k] as number) / x);
      rows.push(`| ${client} | ${entity} | ${op} | ${Math.round(median(a))} | ${Math.round(median(b))} | ${median(ratios).toFixed(3)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}) |`);
    }
  }
}
console.log(`| client | entity | call | ${ref} ops/s | working tree ops/s | ratio, median (range) |\n|---|---|---|---|---|---|\n` + rows.join("\n"));
io.disconnect();
await nr.quit();
await server.stop();
