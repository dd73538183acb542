// `node --import tsx bench/batch-stall.ts [--keys=28] [--rounds=7]`: the longest event-loop stall
// (perf_hooks `monitorEventLoopDelay`, a 1 ms timer) that one `getMany` of hostile stored values causes, against
// a real redis-server (started here, or REDIS_URL) through ioredis, next to the stall of one `get` of the same
// value (one read at its full budget). Each case: warmed up, then `rounds` calls; prints the median and the
// largest stall and call time. The figures in docs/reliability.md ("Work budget") are runs of this command.
import { cpus, loadavg } from "node:os";
import { Redis } from "ioredis";
import { sessionCache } from "../generated/acme/session/v1/session.cache.js";
import { userCache } from "../generated/acme/user/v1/user.cache.js";
import type { EntityCache } from "../src/accessor/entity-cache.js";
import { RedisStore } from "../src/stores/ioredis/ioredis-store.js";
import { hostileValues, worstBatchValue } from "../test/support/hostile-values.js";
import { measureStall } from "../test/support/read-cost.js";
import { startRedis } from "../test/support/redis-server.js";

const arg = (name: string, fallback: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const keys = arg("keys", 28);
const rounds = arg("rounds", 7);

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

const server = process.env["REDIS_URL"] ? undefined : await startRedis();
const redis = new Redis(process.env["REDIS_URL"] ?? server?.url ?? "");
const store = new RedisStore(redis);
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1] as number;
const fmt = (xs: readonly number[]): string => `${median(xs).toFixed(1)} (max ${Math.max(...xs).toFixed(1)})`;

console.log(`Node ${process.version}, ${cpus()[0]?.model ?? "unknown CPU"} × ${cpus().length}, load average ${loadavg()[0]?.toFixed(1)} at the start; ${keys} keys, ${rounds} rounds; ms: median (max)`);
console.log("| stored value | one `get`: longest stall | `getMany`: longest stall | `getMany`: call time | outcomes of one `getMany` |");
console.log("| --- | --- | --- | --- | --- |");
try {
  for (const c of cases) {
    const accessor = (c.entity === "session" ? sessionCache(store, { onError: () => {} }) : userCache(store, { onError: () => {} })) as unknown as EntityCache<unknown, Record<string, string>>;
    const fields = Array.from({ length: keys }, (_, i) => (c.entity === "session" ? { tenantId: "stall", sessionId: `s${i}` } : { id: `stall-${i}` }));
    await redis.mset(fields.flatMap((f) => [accessor.keyOf(f), c.bytes]));
    // Warm-up: the read path optimized, as in a running service.
    for (let i = 0; i < 3; i++) await accessor.getMany(fields);
    const one: number[] = [];
    const many: number[] = [];
    const took: number[] = [];
    for (let r = 0; r < rounds; r++) {
      one.push((await measureStall(() => accessor.get(fields[0] as never))).stallMs);
      const seen = await measureStall(() => accessor.getMany(fields));
      many.push(seen.stallMs);
      took.push(seen.ms);
    }
    const before = accessor.stats().reads;
    await accessor.getMany(fields);
    const after = accessor.stats().reads;
    const outcomes = (["hit", "over_budget", "corrupt"] as const).flatMap((o) => (after[o] > before[o] ? [`${after[o] - before[o]} ${o}`] : [])).join(", ");
    console.log(`| ${c.name} | ${fmt(one)} | ${fmt(many)} | ${fmt(took)} | ${outcomes} |`);
    await redis.del(...fields.map((f) => accessor.keyOf(f)));
    await accessor.close();
  }
} finally {
  redis.disconnect();
  await server?.stop();
}
