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
import { cheapestOf, measure, measureAsync, measureStall, type Times } from "../support/read-cost.js";
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
/** Per value: wall and CPU time of its read (the cheapest of its runs), and the CPU time of the baseline it is held to. */
const figures: Record<string, { ms: number; cpuMs?: number; baselineCpuMs?: number; peakMiB: number; outcome: string; storedBytes: number; work?: number }> = {};

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
 * 16 MiB). Memory is bounded here in bytes (48 MiB: what a read allocates does not depend on the machine's load).
 * Time is bounded relative to a baseline measured in the same test, so that the bound holds on a saturated machine
 * (docs/reliability.md, "A test suite that holds on a busy machine"): the CPU time of a legitimate read that takes
 * nearly the whole default budget, the 24 000-key map below (504 040 units, a hit), each the cheapest of 3 runs
 * interleaved with the hostile value's. Such a read is what the budget lets any value cost, so a hostile value
 * may cost a few of it (the costliest per unit, brotli output, measured up to 4.7 times it, idle or saturated)
 * and no more than `factor` times it. Tried with the budget lifted (maxReadWork's default at 62.5 M units): 14 of
 * these values broke this bound, at 11 to 220 times the baseline (the former bound, 250 ms of wall time, caught 5 of
 * them); the others cost little even unbounded, and their outcome and work units say what went wrong.
 */
const factor = 10;
const maxMiB = 48;
const baselineValue = hostileValues.find((v) => v.name.startsWith("map<int64, Client> with 24 000")) as HostileValue;

/** A read at the full budget, and `read`, measured as {@link cheapestOf} does; `read`'s times and the baseline's. */
function againstBaseline<T>(read_: () => T): { cost: Times<T>; baseline: Times<unknown> } {
  const full = baselineValue.bytes();
  const [baseline, cost] = cheapestOf(3, () => read(session, full), read_);
  expect(baseline.result.outcome).toBe("hit");
  return { cost, baseline };
}

/** The message of a failed time bound: both CPU times and wall times. */
const times = (cost: Times<unknown>, baseline: Times<unknown>): string =>
  `CPU ${cost.cpuMs.toFixed(1)} ms (wall ${cost.ms.toFixed(1)}) against a baseline of ${baseline.cpuMs.toFixed(1)} ms (wall ${baseline.ms.toFixed(1)})`;

// The brotli-compressed map (quality 11 over 8 MB, for its ~120 KB stored size) takes ~20 s to build on this
// machine, more under load: built once here, outside any test's timeout (each read below is bounded on its own).
beforeAll(() => {
  worstBatchValue();
  // The baseline read warm, as in a running service (a first read also compiles the decoder).
  for (let i = 0; i < 3; i++) read(session, baselineValue.bytes());
});

describe(`hand-built hostile stored values: each read within the default work budget, ${factor} times the CPU time of a legitimate read at that budget and 48 MiB, never a throw`, () => {
  it.each(hostileValues)("$name: $outcome", ({ name, entity, bytes, options: extra, outcome, reason }) => {
    const stored = bytes();
    const resolved = extra === undefined ? options : resolveOptions<unknown>(extra as never, 0, ["id"]);
    const once = measure(() => read(entities[entity], stored, resolved));
    const { cost, baseline } = againstBaseline(() => read(entities[entity], stored, resolved));
    const seen = once.result;
    figures[name] = { ms: cost.ms, cpuMs: cost.cpuMs, baselineCpuMs: baseline.cpuMs, peakMiB: once.peakBytes / MiB, outcome: seen.outcome, storedBytes: stored.length, work: seen.work ?? 0 };
    expect(seen.outcome, String(seen.error)).toBe(outcome);
    if (reason !== undefined) expect((seen.error as DecodeError).reason).toBe(reason);
    expect(seen.work ?? 0).toBeLessThanOrEqual(DEFAULT_READ_WORK);
    expect(cost.cpuMs, times(cost, baseline)).toBeLessThan(factor * baseline.cpuMs);
    expect(once.peakBytes).toBeLessThan(maxMiB * MiB);
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

/**
 * Small valid stored values of each entity (a few dozen bytes, a few fields each): the baseline of the reads of
 * small malformed values, which cost microseconds (so each is timed over {@link smallReads} reads in a row).
 */
const smallValid = {
  user: encodeEnvelope(new Writer(), userId, { id: "42", name: "Ada", email: "ada@example.com", fullName: "Ada Lovelace", verified: true, locale: "en-GB" }, encodeUser as never, plain, 0),
  session: encodeEnvelope(new Writer(), sessionId, { ...newSession(), tenantId: "t", sessionId: "s", userId: "42", scopes: ["read"], attributes: new Map([["k", "v"]]) }, encodeSession as never, plain, 0),
};
const smallReads = 1000;
/**
 * A small malformed value may cost this many times a small valid one (CPU time of {@link smallReads} reads, the
 * cheapest of 3): a corrupt read builds a DecodeError, with its stack, where a valid one builds the value (measured:
 * up to 48 times, idle or saturated: so the factor leaves 4 times that); what the bound is for, a length or count taken from the bytes
 * and acted on before they are checked, costs thousands of times that.
 */
const smallFactor = 200;

describe(`small malformed stored values: a counted outcome within ${smallFactor} times the CPU time of a small valid value's read, and 1 MiB, never a throw`, () => {
  it.each(malformedValues)("$name: $outcome", ({ name, entity, bytes, outcome, reason }) => {
    const stored = bytes();
    const valid = smallValid[entity];
    const readsOf = (of: Buffer) => () => {
      let last: Interpretation<unknown> | undefined;
      for (let i = 0; i < smallReads; i++) last = read(entities[entity], of);
      return last as Interpretation<unknown>;
    };
    const [baseline, cost] = cheapestOf(3, readsOf(valid), readsOf(stored));
    expect(baseline.result.outcome).toBe("hit");
    const once = measure(() => read(entities[entity], stored));
    figures[name] = { ms: cost.ms / smallReads, cpuMs: cost.cpuMs / smallReads, baselineCpuMs: baseline.cpuMs / smallReads, peakMiB: once.peakBytes / MiB, outcome: once.result.outcome, storedBytes: stored.length };
    expect(once.result.outcome, String(once.result.error)).toBe(outcome);
    if (reason !== undefined) expect((once.result.error as DecodeError).reason).toBe(reason);
    expect(cost.cpuMs, `${smallReads} reads: ${times(cost, baseline)}`).toBeLessThan(smallFactor * baseline.cpuMs);
    expect(once.peakBytes).toBeLessThan(MiB);
    if (outcome === "hit") expect(writesBackUnchanged(entities[entity], once.result.value)).toBe(true);
  });
});

describe("a batch of worst-case values: getMany bounded by maxBatchWork, whatever its size", () => {
  /**
   * 1000 keys holding what `valueAt` gives for each key's fields, read by one
   * getMany; what it returned, counted and reported, and what it cost.
   */
  async function batchOf(valueAt: (f: { tenantId: string; sessionId: string }) => Buffer) {
    const store = new MemoryStore();
    const errors: ProtocacheError[] = [];
    const sessions = sessionCache(store, { onError: (e) => errors.push(e) });
    const fields = Array.from({ length: 1000 }, (_, i) => ({ tenantId: "t", sessionId: `s${i}` }));
    for (const f of fields) store.setRaw(sessions.keyOf(f), valueAt(f));
    const cost = await measureAsync(() => sessions.getMany(fields));
    return { cost, stats: sessions.stats().reads, errors };
  }
  const batchReport = (errors: readonly ProtocacheError[]) => errors.filter((e) => e.message.includes("maxBatchWork"));
  const reads = DEFAULT_BATCH_WORK / DEFAULT_READ_WORK;
  /**
   * The time bound, relative (docs/reliability.md, "A test suite that holds on a busy machine"). What a getMany
   * bounded by maxBatchWork does: fetch and copy its 1000 values, look at each, and decode at most
   * maxBatchWork / maxReadWork (16) of them at their full budget. So its CPU time is held to `batchFactor` times
   * the sum of two baselines measured in the same test: a getMany of 1000 values of the same size that are not
   * decoded at all (another message's: `wrong_type` misses), and 16 single reads of the value (each the cheapest
   * of 3). Each getMany is the cheaper of 2 runs, interleaved. Measured: 0.8 to 1.7 times that sum. Without
   * maxBatchWork (tried: its default at 10^9 units) the getMany decodes all 1000: the first test's took 61 times
   * the sum, the second's ran out of memory.
   */
  const batchFactor = 3;
  async function boundedBatch(stored: Buffer, valueAt: (f: { tenantId: string; sessionId: string }) => Buffer) {
    const single = cheapestOf(3, () => read(session, stored))[0];
    // The same size under the User schema: the Session accessor's registry knows it, a wrong_type miss, not decoded.
    const header = readHeader(stored);
    const undecoded = envelope(userId, stored.subarray(header.payloadStart), { flags: stored[2] as number });
    let batch: Awaited<ReturnType<typeof batchOf>> | undefined;
    let baseline: Awaited<ReturnType<typeof batchOf>> | undefined;
    for (let run = 0; run < 2; run++) {
      const b = await batchOf(() => undecoded);
      expect(b.stats.wrong_type).toBe(1000);
      if (baseline === undefined || b.cost.cpuMs < baseline.cost.cpuMs) baseline = b;
      const seen = await batchOf(valueAt);
      if (batch === undefined || seen.cost.cpuMs < batch.cost.cpuMs) batch = { ...seen, cost: { ...seen.cost, peakBytes: Math.max(seen.cost.peakBytes, batch?.cost.peakBytes ?? 0) } };
    }
    const { cost, stats, errors } = batch as NonNullable<typeof batch>;
    const undecodedMs = (baseline as NonNullable<typeof baseline>).cost.cpuMs;
    const boundMs = batchFactor * (undecodedMs + reads * single.cpuMs);
    const message = `getMany: CPU ${cost.cpuMs.toFixed(0)} ms (wall ${cost.ms.toFixed(0)}); a getMany of 1000 undecoded values: CPU ${undecodedMs.toFixed(0)} ms; a single read: CPU ${single.cpuMs.toFixed(1)} ms`;
    return { cost, stats, errors, baselineMs: boundMs / batchFactor, boundMs, message };
  }

  it(`1000 values over the read budget (a 900 000-key map each, 124 KB stored): 16 decoded up to their own budget, 984 not decoded; 1000 over_budget misses, the batch reported once; within ${batchFactor} times the CPU time of a batch that decodes nothing and 16 single reads, and 256 MiB`, async () => {
    const stored = worstBatchValue();
    const { cost, stats, errors, baselineMs, boundMs, message } = await boundedBatch(stored, () => stored);
    figures["getMany of 1000 values over the read budget"] = { ms: cost.ms, cpuMs: cost.cpuMs, baselineCpuMs: baselineMs, peakMiB: cost.peakBytes / MiB, outcome: `${stats.over_budget} over_budget`, storedBytes: stored.length * 1000 };
    expect(cost.result.every((v) => v === undefined)).toBe(true);
    expect(stats.over_budget).toBe(1000);
    expect(errors.filter((e) => e instanceof DecodeError && e.reason === "over-budget" && e.message.includes("maxReadWork"))).toHaveLength(reads);
    expect(batchReport(errors)).toHaveLength(1);
    expect(batchReport(errors)[0]?.message).toContain("984 of its 1000 entries were not decoded");
    expect(cost.cpuMs, message).toBeLessThan(boundMs);
    expect(cost.peakBytes).toBeLessThan(256 * MiB);
  });

  // Each key holds its own key fields: a value decoded whole at another key than its own is a key_mismatch miss.
  it(`1000 values within the read budget (a 24 000-key map each): 16 hits kept, the rest over_budget misses reported once; within ${batchFactor} times the CPU time of a batch that decodes nothing and 16 single reads, and 256 MiB`, async () => {
    const stored = baselineValue.bytes();
    const { cost, stats, errors, baselineMs, boundMs, message } = await boundedBatch(stored, (f) => sessionAt(stored, f.tenantId, f.sessionId));
    figures["getMany of 1000 values within the read budget"] = { ms: cost.ms, cpuMs: cost.cpuMs, baselineCpuMs: baselineMs, peakMiB: cost.peakBytes / MiB, outcome: `${stats.hit} hit, ${stats.over_budget} over_budget`, storedBytes: stored.length * 1000 };
    const hits = cost.result.filter((v) => v !== undefined);
    expect(hits).toHaveLength(16);
    expect(hits.every((v) => v.previousClients.size === 24_000)).toBe(true);
    expect(stats).toMatchObject({ hit: 16, over_budget: 984, corrupt: 0 });
    expect(errors).toHaveLength(1);
    expect(batchReport(errors)[0]?.message).toContain("984 of its 1000 entries were not decoded");
    expect(cost.cpuMs, message).toBeLessThan(boundMs);
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
   * files); before slices, it decoded its 16 reads at once: 8 to 12 times the baseline there. Each side is the
   * least of its 3 rounds (interleaved): a round in which the process was descheduled says nothing about the
   * decoding (one round of a saturated run stalled 857 ms where its neighbours stalled 245 and 93 ms).
   */
  const factor = 5;
  const reads = DEFAULT_BATCH_WORK / DEFAULT_READ_WORK;

  it(`a getMany of 28 values over the read budget (each a 900 000-key map): 28 over_budget misses, and its longest event-loop stall is under ${factor} times the longest stall of ${reads} single gets of that value in a row (the least of 3 interleaved rounds each)`, async () => {
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
      const baseline = Math.min(...singles);
      figures["getMany of 28 values over the read budget (Redis): longest event-loop stall"] = { ms: Math.min(...batches), peakMiB: 0, outcome: `${reads} gets in a row: longest stall ${baseline.toFixed(1)} ms`, storedBytes: stored.length * 28 };
      expect(sessions.stats().reads.over_budget - before).toBe(3 * (reads + 28));
      const stalls = `getMany ${batches.map((ms) => ms.toFixed(1)).join(", ")} ms; ${reads} gets ${singles.map((ms) => ms.toFixed(1)).join(", ")} ms`;
      expect(Math.min(...batches), stalls).toBeLessThan(factor * baseline);
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
  /**
   * The time bound: the wall time of 100k reads is no measure of the inputs on a busy machine (a collection or the
   * process being descheduled lands on some read: 550 ms were seen). So the slowest inputs by wall time are read
   * again, {@link smallReads} times in a row, the cheapest of 3, interleaved with as many reads of the largest valid
   * seed of the same entity (a value of a similar size, a hit), and held to {@link smallFactor} times its CPU time.
   */
  const slowestKept = 10;
  it(`never throws, every read is an allowed outcome, the ${slowestKept} slowest within ${smallFactor} times the CPU time of a valid value of a similar size, and every hit writes back to the value it read`, () => {
    const bases = seeds();
    const largestSeed = (id: number): Buffer => bases.filter((b) => readHeader(b).schemaId === id).reduce((a, b) => (b.length > a.length ? b : a));
    const similar = { user: largestSeed(userId), session: largestSeed(sessionId) };
    const ids = [userId, sessionId, userEntity.others[0]?.schemaId ?? userId, 0xabcdef01];
    const mutated = fc.tuple(fc.nat(bases.length - 1), fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([i, ms]) => mutate(bases[i] as Buffer, ms));
    const random = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom(...ids), fc.integer({ min: 0, max: 15 })).map(([payload, id, flags]) => envelope(id, payload, { flags }));
    const hostile = fc.oneof(mutated, random, fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)));
    /** The slowest reads by wall time, slowest first. */
    const slowest: { ms: number; bytes: Buffer; entity: "user" | "session" }[] = [];
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
        if (slowest.length < slowestKept || ms > (slowest[slowest.length - 1]?.ms ?? 0)) {
          slowest.push({ ms, bytes, entity: asSession ? "session" : "user" });
          slowest.sort((a, b) => b.ms - a.ms);
          slowest.length = Math.min(slowest.length, slowestKept);
        }
        expect(allowed).toContain(seen.outcome);
        if (seen.value !== undefined) expect(writesBackUnchanged(entity, seen.value)).toBe(true);
      }),
      { numRuns: 100_000, ...fuzzSeed() },
    );
    // The slowest inputs again, measured for CPU time against a valid value of a similar size, and for memory.
    const repeated = (entity: "user" | "session", bytes: Buffer) => () => {
      for (let i = 0; i < smallReads; i++) read(entities[entity], bytes);
    };
    const ratios: string[] = [];
    for (const [rank, { ms, bytes, entity }] of slowest.entries()) {
      const [baseline, cost] = cheapestOf(3, repeated(entity, similar[entity]), repeated(entity, bytes));
      const once = measure(() => read(entities[entity], bytes));
      ratios.push((cost.cpuMs / baseline.cpuMs).toFixed(1));
      if (rank === 0) figures["hostile corpus: slowest of 100k reads"] = { ms, cpuMs: cost.cpuMs / smallReads, baselineCpuMs: baseline.cpuMs / smallReads, peakMiB: once.peakBytes / MiB, outcome: `${reads} reads: ${JSON.stringify(counts)}`, storedBytes: bytes.length };
      expect(cost.cpuMs, `${bytes.toString("hex")} as a ${entity}, ${smallReads} reads: ${times(cost, baseline)}`).toBeLessThan(smallFactor * baseline.cpuMs);
      expect(once.peakBytes).toBeLessThan(16 * MiB);
    }
    console.log(`hostile corpus: the ${slowestKept} slowest reads, CPU time over the baseline's: ${ratios.join(", ")}`);
    expect(reads).toBeGreaterThanOrEqual(100_000);
    expect(counts["corrupt"]).toBeGreaterThan(1000);
    expect((counts["hit"] ?? 0) + (counts["unknown"] ?? 0)).toBeGreaterThan(1000);
  });
});

afterAll(() => {
  // Figures for docs/reliability.md; not committed. A fresh clone has no .tmp/ yet.
  mkdirSync(join(repoRoot, ".tmp"), { recursive: true });
  writeFileSync(join(repoRoot, ".tmp", "hostile-figures.json"), JSON.stringify(figures, null, 2));
});
