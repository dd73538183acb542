// One measurement of `npm run hostile` (bench/hostile.ts), in a process of its own:
//   node --import tsx bench/hostile-case.ts read <case index> <bytes file> [maxReadWork]
//   node --import tsx bench/hostile-case.ts batch <entries> <bytes file> [maxReadWork maxBatchWork]
//   node --import tsx bench/hostile-case.ts huge <redis url>
// Prints one JSON line. The read path is warmed up first on typical values, as in a running service,
// unless PROTOCACHE_COLD=1: then the hostile read is the process's first (code not yet optimized).
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { sessionCache, sessionEntity } from "../generated/acme/session/v1/session.cache.js";
import { userCache, userEntity } from "../generated/acme/user/v1/user.cache.js";
import { resolveOptions } from "../src/accessor/options.js";
import { interpret } from "../src/accessor/read.js";
import { Writer } from "../src/codec/writer.js";
import { encodeEnvelope } from "../src/envelope/encode.js";
import type { DecodeError } from "../src/errors.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { RedisStore } from "../src/stores/ioredis/ioredis-store.js";
import { hostileValues, malformedValues, sessionAt } from "../test/support/hostile-values.js";
import { measure, measureAsync } from "../test/support/read-cost.js";
import { fixtures } from "./fixtures.js";

const [mode, a, b, c, d] = process.argv.slice(2);
const entities = { user: userEntity, session: sessionEntity } as const;

function warmUp(): void {
  if (process.env["PROTOCACHE_COLD"] === "1") return;
  const options = resolveOptions<unknown>({}, 0);
  const w = new Writer();
  for (const fx of fixtures() as unknown as { entity: typeof userEntity; value: unknown; encode: never }[]) {
    const bytes = encodeEnvelope(w, fx.entity.current.schemaId, fx.value, fx.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 0 }, Date.now());
    for (let i = 0; i < 2000; i++) interpret(fx.entity as never, options as never, bytes);
  }
}

const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

if (mode === "read") {
  const all = [...hostileValues, ...malformedValues];
  const value = all[Number(a)];
  if (value === undefined) throw new Error(`no case ${a}`);
  const bytes = readFileSync(b as string);
  const options = resolveOptions<unknown>({ ...(value.options ?? {}), ...(c === undefined ? {} : { maxReadWork: Number(c), maxBatchWork: Number(c) }) } as never, 0, ["id"]);
  warmUp();
  const cost = measure(() => interpret(entities[value.entity] as never, options as never, bytes));
  out({ outcome: cost.result.outcome, reason: (cost.result.error as DecodeError | undefined)?.reason, work: cost.result.work ?? 0, ms: cost.ms, peakBytes: cost.peakBytes });
} else if (mode === "batch") {
  const n = Number(a);
  const bytes = readFileSync(b as string);
  const store = new MemoryStore();
  const sessions = sessionCache(store, { onError: () => {}, ...(c === undefined ? {} : { maxReadWork: Number(c), maxBatchWork: Number(d) }) });
  const fields = Array.from({ length: n }, (_, i) => ({ tenantId: "t", sessionId: `s${i}` }));
  // With a raised budget every value is decoded whole: each key then holds its own key fields (a value read at
  // another key than its own is a key_mismatch miss). Within the default budget none is, and all share the bytes.
  for (const f of fields) store.setRaw(sessions.keyOf(f), c === undefined ? bytes : sessionAt(bytes, f.tenantId, f.sessionId));
  warmUp();
  const cost = await measureAsync(() => sessions.getMany(fields));
  const reads = sessions.stats().reads;
  out({ outcome: `${reads.hit} hit, ${reads.over_budget} over_budget`, ms: cost.ms, peakBytes: cost.peakBytes });
} else if (mode === "huge") {
  // A get of the 500 MB value bench/hostile.ts stored at user:v1:huge: the call fails open by its deadline; the client buffers the reply meanwhile.
  const redis = new Redis(a as string, { lazyConnect: true });
  redis.on("error", () => {});
  await redis.connect();
  const users = userCache(new RedisStore(redis), { onError: () => {} });
  for (let i = 0; i < 50; i++) await users.get({ id: "warm" });
  const rss = (): number => process.memoryUsage().rss;
  const before = rss();
  const t0 = performance.now();
  const value = await users.get({ id: "huge" });
  const ms = performance.now() - t0;
  let peak = rss();
  for (const until = Date.now() + 4000; Date.now() < until; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    peak = Math.max(peak, rss());
  }
  const reads = users.stats().reads;
  out({ outcome: value === undefined ? (reads.error > 0 ? "error (deadline)" : "miss") : "hit", ms, peakBytes: peak - before });
  redis.disconnect();
}
