// `node --import tsx bench/batch-stall.ts [--keys=28] [--rounds=7]`: the longest event-loop stall
// (perf_hooks `monitorEventLoopDelay`, a 1 ms timer) that one `getMany` of hostile stored values causes, against
// a real redis-server (started here, or REDIS_URL) through ioredis, next to the stall of one `get` of the same
// value (one read at its full budget) and of 16 `get`s in a row (as many reads as a getMany decodes at the
// default maxBatchWork: as exposed to collections and descheduling). Each case: warmed up, then `rounds` rounds,
// interleaved; prints the median and the largest of each. Then what slices cost a batch that never fills one
// (the hot path): `Slice.map` against `Array.prototype.map` over 100 entries, next to a getMany of 100 Users
// on a MemoryStore. The figures in docs/reliability.md ("Work budget") are runs of this command.
import { cpus, loadavg } from "node:os";
import { Redis } from "ioredis";
import { sessionCache } from "../generated/acme/session/v1/session.cache.js";
import { userCache } from "../generated/acme/user/v1/user.cache.js";
import * as callBudget from "../src/accessor/call-budget.js";
import type { EntityCache } from "../src/accessor/entity-cache.js";
import { DEFAULT_BATCH_WORK, DEFAULT_READ_WORK } from "../src/codec/work.js";
import { readHeader } from "../src/envelope/header.js";
import { RedisStore } from "../src/stores/ioredis/ioredis-store.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { withKey } from "./cases/accessor.js";
import { fixtures } from "./fixtures.js";
import { envelope } from "../test/support/entries.js";
import { hostileValues, worstBatchValue } from "../test/support/hostile-values.js";
import { measureStall } from "../test/support/read-cost.js";
import { startRedis } from "../test/support/redis-server.js";

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const keys = arg("keys", 28);
const rounds = arg("rounds", 7);
/** Reads a getMany decodes at the default budgets (maxBatchWork / maxReadWork). */
const reads = DEFAULT_BATCH_WORK / DEFAULT_READ_WORK;

const named = (start: string): Buffer => {
  const value = hostileValues.find((v) => v.name.startsWith(start));
  if (value === undefined) throw new Error(`no hostile value named ${start}…`);
  return value.bytes();
};
const cases = [
  { name: "brotli-compressed map<int64, Client> of 900 000 distinct keys (over_budget)", entity: "session", bytes: worstBatchValue() },
  { name: "map<int64, Client> of 24 000 distinct keys (hits, within the read budget)", entity: "session", bytes: named("map<int64, Client> with 24 000") },
  { name: "gzip bomb, 64 MiB of zeros (corrupt, too-large)", entity: "user", bytes: named("gzip bomb") },
] as const;

/**
 * The value stored at the key of `f`: an uncompressed Session payload gets its key's fields first (a read checks
 * them: without, a hit would be a key_mismatch miss); any other value as it is (over the budget or corrupt, it
 * is never decoded to the end).
 */
function storedAt(bytes: Buffer, f: Record<string, string>): Buffer {
  const header = readHeader(bytes);
  const { tenantId, sessionId } = f;
  if (tenantId === undefined || sessionId === undefined || header.compression !== "none") return bytes;
  const keyFields = Buffer.from([0x0a, tenantId.length, ...Buffer.from(tenantId), 0x12, sessionId.length, ...Buffer.from(sessionId)]);
  return envelope(header.schemaId, Buffer.concat([keyFields, bytes.subarray(header.payloadStart)]));
}

const server = process.env["REDIS_URL"] ? undefined : await startRedis();
const redis = new Redis(process.env["REDIS_URL"] ?? server?.url ?? "");
const store = new RedisStore(redis);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1] as number;
const fmt = (xs: readonly number[]): string => `${median(xs).toFixed(1)} (max ${Math.max(...xs).toFixed(1)})`;

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length}, load average ${loadavg()[0]?.toFixed(1)} at the start; ${keys} keys, ${rounds} rounds; ms: median (max)`);
console.log(`| stored value | one \`get\`: longest stall | ${reads} \`get\`s in a row: longest stall | \`getMany\` of ${keys}: longest stall | \`getMany\`: call time | outcomes of one \`getMany\` |`);
console.log("| --- | --- | --- | --- | --- | --- |");
try {
  for (const c of cases) {
    // No deadline to speak of: on a busy machine a read past 200 ms would fail open and decode nothing.
    const options = { onError: () => {}, deadlineMs: 60_000 };
    const accessor = (c.entity === "session" ? sessionCache(store, options) : userCache(store, options)) as unknown as EntityCache<unknown, Record<string, string>>;
    const fields = Array.from({ length: keys }, (_, i) => (c.entity === "session" ? { tenantId: "stall", sessionId: `s${i}` } : { id: `stall-${i}` }));
    await redis.mset(fields.flatMap((f) => [accessor.keyOf(f), storedAt(c.bytes, f)]));
    // Warm-up: the read path optimized, as in a running service.
    for (let i = 0; i < 3; i++) await accessor.getMany(fields);
    const one: number[] = [];
    const row: number[] = [];
    const many: number[] = [];
    const took: number[] = [];
    for (let r = 0; r < rounds; r++) {
      one.push((await measureStall(() => accessor.get(fields[0] as never))).stallMs);
      row.push(
        (
          await measureStall(async () => {
            for (const f of fields.slice(0, reads)) await accessor.get(f as never);
          })
        ).stallMs,
      );
      const seen = await measureStall(() => accessor.getMany(fields));
      many.push(seen.stallMs);
      took.push(seen.ms);
    }
    // A read that failed decoded nothing: its stall would not be a decode's.
    if (accessor.stats().reads.error > 0) throw new Error(`${c.name}: ${accessor.stats().reads.error} reads failed (store errors): figures not valid`);
    const before = accessor.stats().reads;
    await accessor.getMany(fields);
    const after = accessor.stats().reads;
    const outcomes = (["hit", "over_budget", "corrupt", "key_mismatch", "error"] as const).flatMap((o) => (after[o] > before[o] ? [`${after[o] - before[o]} ${o}`] : [])).join(", ");
    console.log(`| ${c.name} | ${fmt(one)} | ${fmt(row)} | ${fmt(many)} | ${fmt(took)} | ${outcomes} |`);
    await redis.del(...fields.map((f) => accessor.keyOf(f)));
    await accessor.close();
  }
} finally {
  redis.disconnect();
  await server?.stop();
}

/** Microseconds per call of `f`, the median of 15 rounds of `n` calls after a warm-up. */
async function perCall(f: () => unknown, n: number): Promise<number> {
  for (let i = 0; i < n * 5; i++) await f();
  const xs: number[] = [];
  for (let r = 0; r < 15; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await f();
    xs.push(((performance.now() - t0) * 1000) / n);
  }
  return median(xs);
}
const items = Array.from({ length: 100 }, (_, i) => i);
const plus = (x: number): number => x + 1;
// Run against a tree without slices (to measure "before"), there is no Slice: then only the getMany is timed.
const Slice = (callBudget as Record<string, unknown>)["Slice"] as (new () => { map<I, R>(items: readonly I[], fn: (item: I) => R): unknown }) | undefined;
const arrayMap = await perCall(() => items.map(plus), 20_000);
const sliceMap = Slice === undefined ? undefined : await perCall(() => new Slice().map(items, plus), 20_000);
const fx = fixtures().find((f) => f.name.startsWith("User")) as unknown as Parameters<typeof withKey>[0];
const users = userCache(new MemoryStore(), { deadlineMs: 0 });
const values = Array.from({ length: 100 }, (_, i) => withKey(fx, `hot-${i}`) as never);
await users.setMany(values);
const getMany = await perCall(() => users.getMany(values), 500);
const mapped = sliceMap === undefined ? "no slices in this tree" : `Slice.map ${sliceMap.toFixed(2)} µs vs Array.prototype.map ${arrayMap.toFixed(2)} µs per call (${sliceMap >= arrayMap ? "+" : ""}${(sliceMap - arrayMap).toFixed(2)} µs)`;
console.log(`\nhot path, 100 entries under a slice: ${mapped}; a getMany of 100 Users on a MemoryStore takes ${getMany.toFixed(1)} µs`);
