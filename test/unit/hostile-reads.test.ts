import fc from "fast-check";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeSession, newSession, sessionCache, sessionEntity } from "../../generated/acme/session/v1/session.cache.js";
import { encodeUser, userEntity } from "../../generated/acme/user/v1/user.cache.js";
import type { Entity } from "../../src/accessor/entity.js";
import { resolveOptions, type ResolvedOptions } from "../../src/accessor/options.js";
import { interpret, type Interpretation } from "../../src/accessor/read.js";
import { Reader } from "../../src/codec/reader.js";
import { DEFAULT_BATCH_WORK, DEFAULT_READ_WORK, MAX_WORK } from "../../src/codec/work.js";
import { Writer } from "../../src/codec/writer.js";
import { decompress } from "../../src/envelope/compression.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { readHeader } from "../../src/envelope/header.js";
import { DecodeError, type ProtocacheError } from "../../src/errors.js";
import type { ReadOutcome } from "../../src/stats.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { repoRoot } from "../support/project.js";
import { measure, measureAsync, measureStall } from "../support/read-cost.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";
import { envelope } from "../support/entries.js";
import { sessionArb, userArb } from "../support/arbitraries.js";
import { hostileValues, malformedValues, sessionAt, worstBatchValue, type HostileValue } from "../support/hostile-values.js";

/**
 * Hostile stored values (docs/reliability.md, "Hostile stored values"): every
 * read stays within its work budget and a bound on time and memory, and is a
 * counted miss (`corrupt`, `over_budget`, `legacy_rejected`) or a hit that
 * keeps the unknown bytes, never a throw. The values themselves are in
 * test/support/hostile-values.ts, shared with `npm run hostile`.
 */

const MiB = 1024 * 1024;
const options = resolveOptions<unknown>({}, 0);
const userId = userEntity.current.schemaId;
const sessionId = sessionEntity.current.schemaId;
const figures: Record<string, { ms: number; peakMiB: number; outcome: string; storedBytes: number; work?: number }> = {};

function read(entity: Entity<unknown, unknown>, bytes: Buffer, with_: ResolvedOptions<unknown> = options): Interpretation<unknown> {
  return interpret(entity, with_ as never, bytes);
}

const plain = { writtenAt: false, writerTag: undefined, compression: "none", compressMinBytes: 0 } as const;

/** A value that was read (unknown fields included) writes valid bytes that read back to a value writing the very same bytes. */
function writesBackUnchanged(entity: Entity<unknown, unknown>, value: unknown): boolean {
  const once = encodeEnvelope(new Writer(), entity.current.schemaId, value, entity.encode, plain, 0);
  const reread = read(entity, once);
  if (reread.outcome !== "hit") return false;
  return encodeEnvelope(new Writer(), entity.current.schemaId, reread.value, entity.encode, plain, 0).equals(once);
}


const user = userEntity as unknown as Entity<unknown, unknown>;
const session = sessionEntity as unknown as Entity<unknown, unknown>;
const entities = { user, session };

/**
 * What the issue asks of every stored value at the default options: at most 50 ms and 32 MB per read on the
 * reference machine (docs/reliability.md measures them in fresh processes with `npm run hostile`: under 25 ms and
 * 16 MiB). The bounds asserted here leave room for a loaded, shared machine; before the work budget these values
 * took 100 ms to 1.5 s and up to 418 MB each.
 */
const maxMs = 250;
const maxMiB = 48;

// The brotli-compressed map (quality 11 over 8 MB, for its ~120 KB stored size) takes ~20 s to build on this
// machine, more under load: built once here, outside any test's timeout (each read below is bounded on its own).
beforeAll(() => {
  worstBatchValue();
});

describe("hand-built hostile stored values: each read within the default work budget, 250 ms and 48 MiB, never a throw", () => {
  it.each(hostileValues)("$name: $outcome", ({ name, entity, bytes, options: extra, outcome, reason }) => {
    const stored = bytes();
    const resolved = extra === undefined ? options : resolveOptions<unknown>(extra as never, 0, ["id"]);
    const cost = measure(() => read(entities[entity], stored, resolved));
    const seen = cost.result;
    figures[name] = { ms: cost.ms, peakMiB: cost.peakBytes / MiB, outcome: seen.outcome, storedBytes: stored.length, work: seen.work ?? 0 };
    expect(seen.outcome, String(seen.error)).toBe(outcome);
    if (reason !== undefined) expect((seen.error as DecodeError).reason).toBe(reason);
    expect(seen.work ?? 0).toBeLessThanOrEqual(DEFAULT_READ_WORK);
    expect(cost.ms).toBeLessThan(maxMs);
    expect(cost.peakBytes).toBeLessThan(maxMiB * MiB);
    if (outcome === "hit") expect(writesBackUnchanged(entities[entity], seen.value)).toBe(true);
  });

  it("the value over the default budget reads as a hit with maxReadWork raised (validated): an entity that needs more says so", () => {
    const stored = hostileValues[0]?.bytes() as Buffer;
    const raised = resolveOptions<unknown>({ maxReadWork: 20_000_000 }, 0);
    const seen = read(session, stored, raised);
    expect(seen.outcome).toBe("hit");
    expect((seen.value as { previousClients: Map<bigint, unknown> }).previousClients.size).toBe(900_000);
    expect(seen.work).toBeGreaterThan(DEFAULT_READ_WORK);
    expect(seen.work).toBeLessThanOrEqual(20_000_000);
  });
});

describe("each hostile value holds what its name says (decoded without a budget)", () => {
  const decoders = { user: userEntity.decode, session: sessionEntity.decode } as unknown as Record<string, (r: Reader, end: number) => Record<string, unknown>>;
  it.each(hostileValues.filter((v) => v.holds !== undefined))("$name", ({ entity, bytes, holds }) => {
    const stored = bytes();
    const header = readHeader(stored);
    const payload = header.compression === "none" ? stored.subarray(header.payloadStart) : decompress(header.compression, stored.subarray(header.payloadStart), 64 * MiB, header.schemaId);
    const value = (decoders[entity] as (r: Reader, end: number) => Record<string, unknown>)(new Reader(Buffer.from(payload), 0, payload.length, MAX_WORK), payload.length);
    const field = value[holds?.field as string];
    const items = field instanceof Map ? [...field.keys()] : (field as unknown[]);
    expect(items.length).toBe(holds?.count);
    if (holds?.distinct === true) expect(new Set(items).size).toBe(holds.count);
  });
});

describe("small malformed stored values: a counted outcome within 50 ms and 1 MiB, never a throw", () => {
  it.each(malformedValues)("$name: $outcome", ({ name, entity, bytes, outcome, reason }) => {
    const stored = bytes();
    const cost = measure(() => read(entities[entity], stored));
    figures[name] = { ms: cost.ms, peakMiB: cost.peakBytes / MiB, outcome: cost.result.outcome, storedBytes: stored.length };
    expect(cost.result.outcome, String(cost.result.error)).toBe(outcome);
    if (reason !== undefined) expect((cost.result.error as DecodeError).reason).toBe(reason);
    expect(cost.ms).toBeLessThan(50);
    expect(cost.peakBytes).toBeLessThan(MiB);
    if (outcome === "hit") expect(writesBackUnchanged(entities[entity], cost.result.value)).toBe(true);
  });
});

describe("a batch of worst-case values: getMany bounded by maxBatchWork, whatever its size", () => {
  /**
   * 1000 keys holding `stored` (with each key's own key fields when `own`:
   * a value decoded whole at another key than its own is a key_mismatch
   * miss), read by one getMany; what it returned, counted and reported, and
   * what it cost.
   */
  async function batchOf(stored: Buffer, own = false) {
    const store = new MemoryStore();
    const errors: ProtocacheError[] = [];
    const sessions = sessionCache(store, { onError: (e) => errors.push(e) });
    const fields = Array.from({ length: 1000 }, (_, i) => ({ tenantId: "t", sessionId: `s${i}` }));
    for (const f of fields) store.setRaw(sessions.keyOf(f), own ? sessionAt(stored, f.tenantId, f.sessionId) : stored);
    const cost = await measureAsync(() => sessions.getMany(fields));
    return { cost, stats: sessions.stats().reads, errors };
  }
  const batchReport = (errors: readonly ProtocacheError[]) => errors.filter((e) => e.message.includes("maxBatchWork"));

  it("1000 values over the read budget (a 900 000-key map each, 124 KB stored): 16 decoded up to their own budget, 984 not decoded; 1000 over_budget misses, the batch reported once; within 4 s and 256 MiB", async () => {
    const stored = worstBatchValue();
    const { cost, stats, errors } = await batchOf(stored);
    figures["getMany of 1000 values over the read budget"] = { ms: cost.ms, peakMiB: cost.peakBytes / MiB, outcome: `${stats.over_budget} over_budget`, storedBytes: stored.length * 1000 };
    expect(cost.result.every((v) => v === undefined)).toBe(true);
    expect(stats.over_budget).toBe(1000);
    expect(errors.filter((e) => e instanceof DecodeError && e.reason === "over-budget" && e.message.includes("maxReadWork"))).toHaveLength(DEFAULT_BATCH_WORK / DEFAULT_READ_WORK);
    expect(batchReport(errors)).toHaveLength(1);
    expect(batchReport(errors)[0]?.message).toContain("984 of its 1000 entries were not decoded");
    expect(cost.ms).toBeLessThan(4000);
    expect(cost.peakBytes).toBeLessThan(256 * MiB);
  });

  it("1000 values within the read budget (a 24 000-key map each): 16 hits kept, the rest over_budget misses reported once; within 4 s and 256 MiB", async () => {
    const stored = (hostileValues.find((v) => v.name.startsWith("map<int64, Client> with 24 000")) as HostileValue).bytes();
    const { cost, stats, errors } = await batchOf(stored, true);
    figures["getMany of 1000 values within the read budget"] = { ms: cost.ms, peakMiB: cost.peakBytes / MiB, outcome: `${stats.hit} hit, ${stats.over_budget} over_budget`, storedBytes: stored.length * 1000 };
    const hits = cost.result.filter((v) => v !== undefined);
    expect(hits).toHaveLength(16);
    expect(hits.every((v) => v.previousClients.size === 24_000)).toBe(true);
    expect(stats).toMatchObject({ hit: 16, over_budget: 984, corrupt: 0 });
    expect(errors).toHaveLength(1);
    expect(batchReport(errors)[0]?.message).toContain("984 of its 1000 entries were not decoded");
    expect(cost.ms).toBeLessThan(4000);
    expect(cost.peakBytes).toBeLessThan(256 * MiB);
  });
});

describe("a hostile getMany against Redis: decoded in slices, the event loop held no longer than by single reads", () => {
  /**
   * The bound is relative, so that it holds on a saturated machine: the baseline is the longest event-loop
   * stall (measureStall: monitorEventLoopDelay and a setTimeout chain) while 16 single `get`s of the same value
   * run one after another, 16 reads at their full budget as the getMany decodes (maxBatchWork / maxReadWork),
   * so both are exposed alike to collections and to the process being descheduled (each measured after a full
   * GC). A slice is SLICE_WORK units and at most one read, so the getMany's stalls are those of single reads
   * (0.6 to 2.5 times the baseline, seen on a machine at a load average of 11 to 12, also beside other test
   * files); before slices, it decoded its 16 reads at once: 8 to 12 times the baseline there.
   */
  const factor = 5;
  const reads = DEFAULT_BATCH_WORK / DEFAULT_READ_WORK;

  it(`a getMany of 28 values over the read budget (each a 900 000-key map): 28 over_budget misses, and its longest event-loop stall is under ${factor} times the longest stall of ${reads} single gets of that value in a row (3 rounds, interleaved)`, async () => {
    const redis = connectRedis();
    try {
      // No deadline to speak of: on a saturated machine the reads must still arrive (this is about decoding them).
      const sessions = sessionCache(new RedisStore(redis), { prefix: uniquePrefix(), deadlineMs: 60_000, onError: () => {} });
      const fields = Array.from({ length: 28 }, (_, i) => ({ tenantId: "t", sessionId: `s${i}` }));
      const stored = worstBatchValue();
      await redis.mset(fields.flatMap((f) => [sessions.keyOf(f), stored]));
      // Warm: the read path optimized, as in a running service.
      for (let i = 0; i < 2; i++) await sessions.getMany(fields);
      const singles: number[] = [];
      const batches: number[] = [];
      const before = sessions.stats().reads.over_budget;
      for (let round = 0; round < 3; round++) {
        singles.push((await measureStall(async () => {
          for (const f of fields.slice(0, reads)) await sessions.get(f);
        })).stallMs);
        const seen = await measureStall(() => sessions.getMany(fields));
        expect(seen.result.every((v) => v === undefined)).toBe(true);
        batches.push(seen.stallMs);
      }
      const baseline = Math.max(...singles);
      figures["getMany of 28 values over the read budget (Redis): longest event-loop stall"] = { ms: Math.max(...batches), peakMiB: 0, outcome: `${reads} gets in a row: longest stall ${baseline.toFixed(1)} ms`, storedBytes: stored.length * 28 };
      expect(sessions.stats().reads.over_budget - before).toBe(3 * (reads + 28));
      const stalls = `getMany ${batches.map((ms) => ms.toFixed(1)).join(", ")} ms; ${reads} gets ${singles.map((ms) => ms.toFixed(1)).join(", ")} ms`;
      expect(Math.max(...batches), stalls).toBeLessThan(factor * baseline);
      await redis.del(...fields.map((f) => sessions.keyOf(f)));
    } finally {
      redis.disconnect();
    }
  });
});

/** Fixed in CI (PROTOCACHE_FUZZ_SEED, which .ci/run sets, or CI), random locally; fast-check prints it with any counterexample. */
function fuzzSeed(): { seed?: number } {
  const fixed = process.env["PROTOCACHE_FUZZ_SEED"];
  if (fixed !== undefined && fixed !== "") return { seed: Number(fixed) };
  return process.env["CI"] ? { seed: 20_260_101 } : {};
}

/** Valid envelopes of both entities, compressed or not: what the mutations start from. */
function seeds(): Buffer[] {
  const samples = [...fc.sample(sessionArb, { numRuns: 12, seed: 7 }).map((v) => [sessionId, v, encodeSession] as const), ...fc.sample(userArb, { numRuns: 12, seed: 7 }).map((v) => [userId, v, encodeUser] as const)];
  const out: Buffer[] = [];
  for (const [i, [id, value, encode]] of samples.entries()) {
    const compression = (["none", "gzip", "brotli"] as const)[i % 3] ?? "none";
    out.push(encodeEnvelope(new Writer(), id, value, encode as never, { writtenAt: i % 2 === 0, writerTag: i % 4 === 0 ? Buffer.from("api@1") : undefined, compression, compressMinBytes: 0 }, 1_700_000_000_000));
  }
  out.push(encodeEnvelope(new Writer(), sessionId, newSession(), encodeSession, { writtenAt: false, writerTag: undefined, compression: "none", compressMinBytes: 0 }, 0));
  return out;
}

type Mutation = { kind: "flip" | "set" | "insert" | "delete" | "truncate" | "varint"; at: number; byte: number };

function mutate(base: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(base);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.kind) {
      case "flip":
        if (bytes.length > 0) bytes[at] = (bytes[at] as number) ^ (1 << (m.byte & 7));
        break;
      case "set":
        if (bytes.length > 0) bytes[at] = m.byte;
        break;
      case "insert":
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([m.byte]), bytes.subarray(at)]);
        break;
      case "delete":
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1)]);
        break;
      case "truncate":
        bytes = bytes.subarray(0, at);
        break;
      case "varint":
        // A long varint where a length or tag might be.
        bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, m.byte | 0x80, 0x0f]), bytes.subarray(at)]);
        break;
    }
  }
  return bytes;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("flip", "set", "insert", "delete", "truncate", "varint"),
  at: fc.nat(),
  byte: fc.integer({ min: 0, max: 255 }),
});

const allowed: readonly ReadOutcome[] = ["hit", "upgraded", "unknown", "wrong_type", "corrupt", "foreign", "absent"];

describe("a hostile corpus of 100k random and mutated envelopes", () => {
  it("never throws, every read is an allowed outcome within 1000 ms, and every hit writes back to the value it read", () => {
    const bases = seeds();
    const ids = [userId, sessionId, userEntity.others[0]?.schemaId ?? userId, 0xabcdef01];
    const mutated = fc.tuple(fc.nat(bases.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, ms]) => mutate(bases[i] as Buffer, ms));
    const random = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...ids), fc.integer({ min: 0, max: 15 })).map(([payload, id, flags]) => envelope(id, payload, { flags }));
    const hostile = fc.oneof(mutated, random, fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)));
    let worst: { ms: number; bytes: Buffer; entity: Entity<unknown, unknown> } = { ms: 0, bytes: Buffer.alloc(0), entity: user };
    const counts: Record<string, number> = {};
    let reads = 0;
    fc.assert(
      fc.property(hostile, fc.boolean(), (bytes, asSession) => {
        const entity = asSession ? session : user;
        const t0 = performance.now();
        const seen = read(entity, bytes);
        const ms = performance.now() - t0;
        reads++;
        counts[seen.outcome] = (counts[seen.outcome] ?? 0) + 1;
        if (ms > worst.ms) worst = { ms, bytes, entity };
        expect(allowed).toContain(seen.outcome);
        // A read of these (at most ~300 bytes) takes microseconds; the bound only absorbs GC pauses on a loaded machine (seen: 550 ms).
        expect(ms).toBeLessThan(1000);
        if (seen.value !== undefined) expect(writesBackUnchanged(entity, seen.value)).toBe(true);
      }),
      { numRuns: 100_000, ...fuzzSeed() },
    );
    // The slowest input again, measured for time and memory.
    const slowest = measure(() => read(worst.entity, worst.bytes));
    figures["hostile corpus: slowest of 100k reads"] = { ms: worst.ms, peakMiB: slowest.peakBytes / MiB, outcome: `${reads} reads: ${JSON.stringify(counts)}`, storedBytes: worst.bytes.length };
    expect(reads).toBeGreaterThanOrEqual(100_000);
    expect(slowest.peakBytes).toBeLessThan(16 * MiB);
    expect(counts["corrupt"]).toBeGreaterThan(1000);
    expect((counts["hit"] ?? 0) + (counts["unknown"] ?? 0)).toBeGreaterThan(1000);
  });
});

afterAll(() => {
  // Figures for docs/reliability.md; not committed. A fresh clone has no .tmp/ yet.
  mkdirSync(join(repoRoot, ".tmp"), { recursive: true });
  writeFileSync(join(repoRoot, ".tmp", "hostile-figures.json"), JSON.stringify(figures, null, 2));
});
