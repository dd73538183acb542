import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterEach, describe, expect, it, vi } from "vitest";
import { decodeSession, sessionCache, sessionEntity } from "../../generated/acme/session/v1/session.cache.js";
import { decodeUser, userCache, userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { JsonDepthError, JsonWork, MAX_JSON_DEPTH, scanJson } from "../../src/accessor/legacy-json.js";
import { resolveOptions } from "../../src/accessor/options.js";
import { interpret } from "../../src/accessor/read.js";
import { Reader } from "../../src/codec/reader.js";
import { DEFAULT_BATCH_WORK, DEFAULT_READ_WORK, SLICE_WORK, Work, WorkBudgetError } from "../../src/codec/work.js";
import { DecodeError, type ProtocacheError } from "../../src/errors.js";
import { migrate } from "../../src/ops/migrate.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { schemaDecoder } from "../support/descriptors.js";
import { envelope } from "../support/entries.js";

/** Work a generated decoder charges for `payload`, read with an unlimited budget. */
function workOf(decode: (r: Reader, end: number) => unknown, payload: number[] | Buffer): number {
  const bytes = Buffer.from(payload);
  const r = new Reader(bytes);
  decode(r, bytes.length);
  return r.workUsed();
}

const userObject = Work.object + Math.ceil(6 / Work.objectFieldsPerUnit);
const sessionObject = 40;
const str = (tag: number, s: string): number[] => {
  const b = [...Buffer.from(s)];
  return b.length < 128 ? [tag, b.length, ...b] : [tag, (b.length & 127) | 128, b.length >> 7, ...b];
};

describe("work units: what the reader charges (src/codec/work.ts)", () => {
  it("a message object by its weight: one, one per four fields, a Map per map field, an array per list, a Uint8Array per bytes field", () => {
    expect(workOf(decodeUser, [])).toBe(userObject);
    // Session: 17 fields, two maps, two lists, one bytes field.
    expect(Work.object + Math.ceil(17 / Work.objectFieldsPerUnit) + 2 * Work.newMap + 2 * Work.newList + Work.bytesValue).toBe(sessionObject);
    expect(workOf(decodeSession, [])).toBe(sessionObject);
  });

  it("a field one unit, a string under 8 bytes one per byte, a longer ASCII one a native-string charge and one per 64 bytes", () => {
    expect(workOf(decodeUser, [0x28, 0x01])).toBe(userObject + Work.field);
    expect(workOf(decodeUser, str(0x12, "ada"))).toBe(userObject + Work.field + 3 * Work.shortStringByte);
    expect(workOf(decodeUser, str(0x12, "a".repeat(200)))).toBe(userObject + Work.field + Work.nativeString + Math.floor(200 / Work.asciiBytesPerUnit));
  });

  it("a non-ASCII string a native-string charge and one per 8 bytes", () => {
    expect(workOf(decodeUser, str(0x12, "é"))).toBe(userObject + Work.field + 2 * Work.shortStringByte + Work.nativeString);
    expect(workOf(decodeUser, str(0x12, "é".repeat(100)))).toBe(userObject + Work.field + Work.nativeString + Math.floor(200 / Work.utf8BytesPerUnit));
  });

  it("a bytes value its Uint8Array and one per 64 bytes; a packed field one per element (varints counted by their last byte)", () => {
    expect(workOf(decodeSession, [0x72, 100, ...Array<number>(100).fill(7)])).toBe(sessionObject + Work.field + Work.bytesValue + Math.floor(100 / Work.copiedBytesPerUnit));
    // recent_status_codes = [1, 300, 5]: 4 bytes, 3 elements.
    expect(workOf(decodeSession, [0x6a, 0x04, 0x01, 0xac, 0x02, 0x05])).toBe(sessionObject + Work.field + 3 * Work.packedElement);
    // risk_score is a double, not packable; a packed fixed-width list is charged by its length over the width (none in the example domain).
  });

  it("a map entry its insertion and its fields; a message value missing from its entry the object made for it", () => {
    expect(workOf(decodeSession, [0x3a, 0x06, ...str(0x0a, "k"), ...str(0x12, "v")])).toBe(sessionObject + Work.field + Work.mapEntry + 2 * Work.field + 2 * Work.shortStringByte);
    // previous_clients {5: <absent>}: the empty Client (weight 2) is charged all the same.
    expect(workOf(decodeSession, [0x82, 0x01, 0x02, 0x08, 0x05])).toBe(sessionObject + Work.field + Work.mapEntry + Work.field + 2);
    expect(workOf(decodeSession, [0x82, 0x01, 0x04, 0x08, 0x05, 0x12, 0x00])).toBe(sessionObject + Work.field + Work.mapEntry + 2 * Work.field + 2);
  });

  it("an unknown field one unit, fields inside an unknown group one each, and a message's kept unknown fields their Uint8Array", () => {
    expect(workOf(decodeUser, [0x38, 0x00, 0x38, 0x00, 0x3a, 0x01, 0x61])).toBe(userObject + 3 * Work.field + Work.bytesValue);
    expect(workOf(decodeUser, [0x3b, 0x08, 0x01, 0x10, 0x02, 0x3c])).toBe(userObject + Work.field + 3 * Work.field + Work.bytesValue);
    // Two Clients, each with an unknown field: each its own Uint8Array.
    const withUnknown = [0x82, 0x01, 0x06, 0x08, 0x05, 0x12, 0x02, 0x38, 0x00];
    expect(workOf(decodeSession, [...withUnknown, ...withUnknown])).toBe(sessionObject + 2 * (Work.field + Work.mapEntry + 2 * Work.field + 2 + Work.field + Work.bytesValue));
  });

  it("decoding stops with WorkBudgetError at the first charge past the budget: a budget of exactly the work decodes", () => {
    const payload = Buffer.from([...str(0x0a, "id"), ...str(0x12, "a".repeat(300)), 0x28, 0x01]);
    const needed = workOf(decodeUser, payload);
    const exactly = new Reader(payload, 0, payload.length, needed);
    expect(() => decodeUser(exactly, payload.length)).not.toThrow();
    const short = new Reader(payload, 0, payload.length, needed - 1);
    expect(() => decodeUser(short, payload.length)).toThrow(WorkBudgetError);
    expect(short.workUsed()).toBe(needed - 1);
    expect(() => new Reader(payload, 0, payload.length, -1)).toThrow(RangeError);
  });

  it("the read path charges decompressed bytes first, one per 16 (gzip) or 8 (brotli), and reports what a read took", () => {
    const options = resolveOptions<unknown>({}, 0);
    const payload = Buffer.from(str(0x12, "a".repeat(10_000)));
    const plain = interpret(userEntity as never, options as never, envelope(userEntity.current.schemaId, payload));
    const packed = interpret(userEntity as never, options as never, envelope(userEntity.current.schemaId, gzipSync(payload), { flags: 1 }));
    expect(plain.outcome).toBe("hit");
    expect(packed.outcome).toBe("hit");
    expect(plain.work).toBe(workOf(decodeUser, payload));
    expect(packed.work).toBe((plain.work as number) + Math.ceil(payload.length / Work.gunzippedBytesPerUnit));
    const brotli = interpret(userEntity as never, options as never, envelope(userEntity.current.schemaId, brotliCompressSync(payload), { flags: 2 }));
    expect(brotli.work).toBe((plain.work as number) + Math.ceil(payload.length / Work.unbrotliedBytesPerUnit));
    // With a budget too small to decompress it all, decompression stops there: over_budget, not too-large.
    const small = interpret(userEntity as never, resolveOptions<unknown>({ maxReadWork: 100 }, 0) as never, envelope(userEntity.current.schemaId, gzipSync(payload), { flags: 1 }));
    expect(small.outcome).toBe("over_budget");
    expect((small.error as DecodeError).reason).toBe("over-budget");
    expect(small.work).toBe(100);
  });

  it("a failed decompression is a corrupt read charged the most it may have produced: a gzip bomb its cap, a damaged gzip stream 1032 bytes per stored byte, a damaged brotli stream its cap", () => {
    const options = resolveOptions<unknown>({}, 0);
    const id = userEntity.current.schemaId;
    const read = (compressed: Buffer, flags: number) => interpret(userEntity as never, options as never, envelope(id, compressed, { flags }));
    // 64 MiB of zeros: gunzip stops at maxPayloadBytes, which is 2^19 units of gunzipped output.
    const bomb = read(gzipSync(Buffer.alloc(64 * 1024 * 1024)), 1);
    expect(bomb.outcome).toBe("corrupt");
    expect((bomb.error as DecodeError).reason).toBe("too-large");
    expect(bomb.work).toBe(DEFAULT_READ_WORK);
    // A bad checksum: gunzip made all 1 MiB before it failed; charged by the stored size, which bounds it.
    const gzipped = gzipSync(Buffer.alloc(1024 * 1024));
    gzipped[gzipped.length - 5] = (gzipped[gzipped.length - 5] as number) ^ 0xff;
    const damaged = read(gzipped, 1);
    expect(damaged.outcome).toBe("corrupt");
    expect((damaged.error as DecodeError).reason).toBe("decompress");
    expect(damaged.work).toBe(Math.ceil((gzipped.length * 1032) / Work.gunzippedBytesPerUnit));
    expect(damaged.work).toBeGreaterThanOrEqual(1024 * 1024 / Work.gunzippedBytesPerUnit);
    expect(read(Buffer.from([1, 2, 3, 4, 5]), 1).work).toBe(Math.ceil((5 * 1032) / Work.gunzippedBytesPerUnit));
    const brotli = brotliCompressSync(Buffer.alloc(1024 * 1024));
    const truncated = read(brotli.subarray(0, brotli.length - 2), 2);
    expect(truncated.outcome).toBe("corrupt");
    expect(truncated.work).toBe(DEFAULT_READ_WORK);
  });

  it("getMany of gzip bombs stops at maxBatchWork: 16 read as corrupt (each charged its cap), the rest over_budget misses reported once", async () => {
    const store = new MemoryStore();
    const errors: ProtocacheError[] = [];
    const users = userCache(store, { onError: (e) => errors.push(e) });
    const bomb = envelope(userEntity.current.schemaId, gzipSync(Buffer.alloc(64 * 1024 * 1024)), { flags: 1 });
    const keys = Array.from({ length: 20 }, (_, i) => ({ id: `bomb${i}` }));
    for (const k of keys) store.setRaw(users.keyOf(k), bomb);
    expect((await users.getMany(keys)).every((v) => v === undefined)).toBe(true);
    expect(users.stats().reads).toMatchObject({ corrupt: DEFAULT_BATCH_WORK / DEFAULT_READ_WORK, over_budget: 4 });
    expect(errors.filter((e) => e.message.includes("maxBatchWork"))[0]?.message).toContain("4 of its 20 entries were not decoded");
  });

  it("defaults: maxReadWork 2^19 (gunzipping a full 8 MiB payload is exactly that), maxBatchWork 2^23, or maxReadWork when raised above it", () => {
    const defaults = resolveOptions<unknown>({}, 0);
    expect(defaults.maxReadWork).toBe(DEFAULT_READ_WORK);
    expect(DEFAULT_READ_WORK * Work.gunzippedBytesPerUnit).toBe(defaults.maxPayloadBytes);
    expect(defaults.maxBatchWork).toBe(DEFAULT_BATCH_WORK);
    expect(DEFAULT_BATCH_WORK).toBe(2 ** 23);
    expect(resolveOptions<unknown>({ maxReadWork: 10_000_000 }, 0).maxBatchWork).toBe(10_000_000);
  });
});

describe("SchemaDecoder (protobufjs, for tools) walks a payload within the budget first, charged as the generated decoder charges it", () => {
  it("decodes with exactly the generated decoder's work and refuses one unit less", () => {
    const payload = Buffer.from([
      0x0a, 0x01, 0x74, 0x32, 0x0a, ...Buffer.from("scope:read"), 0x3a, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76, 0x42, 0x03, 0x0a, 0x01, 0x31,
      0x6a, 0x04, 0x01, 0xac, 0x02, 0x05, 0x72, 0x02, 0x01, 0x02, 0x82, 0x01, 0x02, 0x08, 0x05, 0x82, 0x01, 0x06, 0x08, 0x06, 0x12, 0x02, 0x0a, 0x00, 0xf8, 0x01, 0x07,
      0x8a, 0x01, 0x04, 0x08, 0x01, 0x10, 0x02, ...str(0x1a, "é".repeat(40)),
    ]);
    const needed = workOf(decodeSession, payload);
    const id = sessionEntity.current.schemaId;
    expect(schemaDecoder.decode(id, payload, needed)).toMatchObject({ tenantId: "t", scopes: ["scope:read"] });
    expect(() => schemaDecoder.decode(id, payload, needed - 1)).toThrow(WorkBudgetError);
  });
});

describe("an entry over its read budget in an accessor", () => {
  /** The entry at session:v1:t:<sessionId>: its key fields, then 200 empty scopes. */
  const bigAt = (sessionId: string): Buffer =>
    envelope(sessionEntity.current.schemaId, Buffer.from([0x0a, 1, 0x74, 0x12, sessionId.length, ...Buffer.from(sessionId), ...Array.from({ length: 200 }, () => [0x32, 0x00]).flat()]));
  const big = bigAt("s");

  it("is an over_budget miss reported to onError with a DecodeError naming maxReadWork, and is not deleted even with deleteCorrupt", async () => {
    const store = new MemoryStore();
    const errors: ProtocacheError[] = [];
    const sessions = sessionCache(store, { maxReadWork: 100, deleteCorrupt: true, onError: (e) => errors.push(e) });
    const key = { tenantId: "t", sessionId: "s" };
    store.setRaw(sessions.keyOf(key), big);
    expect(await sessions.get(key)).toBeUndefined();
    expect((await sessions.getEntry(key)).outcome).toBe("over_budget");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sessions.stats().reads).toMatchObject({ over_budget: 2, corrupt: 0 });
    expect(sessions.stats().deletes.cleaned).toBe(0);
    expect(await store.get(sessions.keyOf(key))).toEqual(big);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    expect(errors[0]?.message).toMatch(/needs more than 100 work units \(maxReadWork\): raise maxReadWork/);
    // The same entry with a budget that affords it.
    expect((await sessionCache(store, { maxReadWork: 1000 }).get(key))?.scopes).toHaveLength(200);
  });

  it("getMany spends at most maxBatchWork in all: entries past it are not decoded, counted over_budget and reported once", async () => {
    const store = new MemoryStore();
    const errors: ProtocacheError[] = [];
    // Each entry takes 40 + 200 + 5 (its key fields) = 245 units: three fit in 750, the fourth runs out of the call's budget.
    const sessions = sessionCache(store, { maxReadWork: 300, maxBatchWork: 750, onError: (e) => errors.push(e) });
    const keys = Array.from({ length: 10 }, (_, i) => ({ tenantId: "t", sessionId: `s${i}` }));
    for (const k of keys) store.setRaw(sessions.keyOf(k), bigAt(k.sessionId));
    const got = await sessions.getMany(keys);
    expect(got.map((v) => v !== undefined)).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(sessions.stats().reads).toMatchObject({ hit: 3, over_budget: 7 });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/getMany: the call's work budget \(maxBatchWork 750\) was spent; 7 of its 10 entries were not decoded/);
    // Each call has its own budget.
    expect((await sessions.getMany(keys.slice(0, 3))).every((v) => v !== undefined)).toBe(true);
  });
});

describe("batches decode in slices of SLICE_WORK units and let the event loop run between them (setImmediate)", () => {
  const immediate = globalThis.setImmediate;
  afterEach(() => void vi.restoreAllMocks());

  /**
   * Runs `call`, counting the `setImmediate`s it schedules (its yields) and sampling `progress()` at every turn
   * of the event loop meanwhile (a ticker on the original setImmediate, not counted): what other requests saw.
   */
  async function watched<R>(call: () => Promise<R>, progress: () => number): Promise<{ result: R; yields: number; seen: Set<number> }> {
    const seen = new Set<number>();
    let running = true;
    const tick = (): void => {
      seen.add(progress());
      if (running) immediate(tick);
    };
    immediate(tick);
    const spy = vi.spyOn(globalThis, "setImmediate");
    const result = await call();
    const yields = spy.mock.calls.length;
    spy.mockRestore();
    running = false;
    return { result, yields, seen };
  }

  /** The entry at session:v1:t:<sessionId> (4 characters): its key fields (7 units), then 4049 empty scopes: 40 + 7 + 4049 = 4096 units, so a slice is due after exactly 16 of them. */
  const entryAt = (sessionId: string): Buffer =>
    envelope(sessionEntity.current.schemaId, Buffer.from([0x0a, 1, 0x74, 0x12, sessionId.length, ...Buffer.from(sessionId), ...Array.from({ length: 4049 }, () => [0x32, 0x00]).flat()]));
  const perSlice = SLICE_WORK / 4096;
  const fill = (store: MemoryStore, keyOf: (f: { tenantId: string; sessionId: string }) => string, n: number) => {
    const fields = Array.from({ length: n }, (_, i) => ({ tenantId: "t", sessionId: `s${String(i).padStart(3, "0")}` }));
    for (const f of fields) store.setRaw(keyOf(f), entryAt(f.sessionId));
    return fields;
  };

  it("a getMany of 4 slices' work yields 3 times, after entries 16, 32 and 48 (the loop runs then, and only then); one of 15 entries (under a slice) never yields", async () => {
    expect(interpret(sessionEntity as never, resolveOptions<unknown>({}, 0) as never, entryAt("s000")).work).toBe(4096);
    const store = new MemoryStore();
    const sessions = sessionCache(store);
    const fields = fill(store, (f) => sessions.keyOf(f), 4 * perSlice);
    const { result, yields, seen } = await watched(() => sessions.getMany(fields), () => sessions.stats().reads.hit);
    expect(result.every((v) => v?.scopes.length === 4049)).toBe(true);
    expect(yields).toBe(3);
    expect([...seen].filter((n) => n > 0 && n < 4 * perSlice).sort((a, b) => a - b)).toEqual([perSlice, 2 * perSlice, 3 * perSlice]);
    const small = await watched(() => sessions.getMany(fields.slice(0, perSlice - 1)), () => 0);
    expect(small.result.every((v) => v !== undefined)).toBe(true);
    expect(small.yields).toBe(0);
  });

  it("the adoption of a legacy key space by a getMany is decoded in the same slices (ceil(n / per slice) - 1 yields)", async () => {
    const store = new MemoryStore();
    const users = userCache(store, { legacy: { key: ({ id }) => `old:${id}` } });
    const json = Buffer.from(JSON.stringify({ name: "a".repeat(60_000) }));
    const work = interpret(userEntity as never, resolveOptions<unknown>({ legacy: {} }, 0, ["id"]) as never, json, "old:u000", { id: "u000" }).work as number;
    const per = Math.ceil(SLICE_WORK / work);
    const fields = Array.from({ length: 3 * per }, (_, i) => ({ id: `u${String(i).padStart(3, "0")}` }));
    for (const f of fields) store.setRaw(`old:${f.id}`, json);
    const { result, yields, seen } = await watched(() => users.getMany(fields), () => users.stats().reads.legacy);
    expect(result.every((v) => v?.name.length === 60_000)).toBe(true);
    expect(yields).toBe(2);
    expect([...seen].filter((n) => n > 0 && n < 3 * per).sort((a, b) => a - b)).toEqual([per, 2 * per]);
  });

  it("migrate decodes each SCAN batch in the same slices, across its parts of maxBatchWork too", async () => {
    const store = new MemoryStore();
    const sessions = sessionCache(store);
    fill(store, (f) => sessions.keyOf(f), 4 * perSlice);
    const { result, yields } = await watched(() => migrate(sessions), () => 0);
    expect(result.counts).toMatchObject({ current: 4 * perSlice, failed: 0 });
    expect(yields).toBe(3);
    // Parts of 2 slices each: a slice stays due from one part to the next.
    const parts = sessionCache(store, { maxReadWork: 8192, maxBatchWork: 2 * SLICE_WORK });
    const split = await watched(() => migrate(parts), () => 0);
    expect(split.result.counts).toMatchObject({ current: 4 * perSlice, failed: 0 });
    expect(split.yields).toBe(3);
  });
});

describe("the default legacy JSON reader: scanned before parsing", () => {
  const scan = (text: string, budget = 1_000_000): number => scanJson(Buffer.from(text), budget);

  it(`accepts nesting up to ${MAX_JSON_DEPTH} levels and refuses one more, brackets inside strings not counted`, () => {
    expect(() => scan("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => scan("[".repeat(MAX_JSON_DEPTH + 1) + "]".repeat(MAX_JSON_DEPTH + 1))).toThrow(JsonDepthError);
    expect(() => scan(`{"a":"${"[".repeat(100)}\\"{{{"}`)).not.toThrow();
    expect(() => scan(`[${'{"a":'.repeat(MAX_JSON_DEPTH)}0${"}".repeat(MAX_JSON_DEPTH)}]`)).toThrow(/JSON nested deeper than 32 levels/);
  });

  it("counts properties, objects, arrays, elements and text in work units, and stops at the budget", () => {
    const text = '{"a":[1,2,3],"b":"é"}';
    const units = JsonWork.object + 2 * JsonWork.property + JsonWork.array + 3 * JsonWork.element + Math.ceil(Buffer.byteLength(text) / JsonWork.textBytesPerUnit);
    expect(scan(text)).toBe(units);
    expect(() => scan(text, units - 1)).toThrow(WorkBudgetError);
    expect(scan(`"${"é".repeat(64)}"`)).toBe(Math.ceil(130 / JsonWork.textBytesPerUnit) + Math.floor(128 / JsonWork.nonAsciiBytesPerUnit));
  });

  it("in an accessor: a deep value is legacy_rejected, a costly one over_budget, both reported, neither parsed into a user", async () => {
    const store = new MemoryStore();
    const errors: ProtocacheError[] = [];
    const users = userCache(store, { legacy: {}, maxReadWork: 10_000, onError: (e) => errors.push(e) });
    store.setRaw(users.keyOf({ id: "deep" }), Buffer.from(`{"id":"deep","x":${"[".repeat(1000)}${"]".repeat(1000)}}`));
    store.setRaw(users.keyOf({ id: "wide" }), Buffer.from(`{"id":"wide",${Array.from({ length: 1000 }, (_, i) => `"p${i}":0`).join(",")}}`));
    store.setRaw(users.keyOf({ id: "ok" }), Buffer.from(`{"id":"ok","name":"ada"}`));
    expect(await users.get({ id: "deep" })).toBeUndefined();
    expect(await users.get({ id: "wide" })).toBeUndefined();
    expect((await users.get({ id: "ok" }))?.name).toBe("ada");
    expect(users.stats().reads).toMatchObject({ legacy_rejected: 1, over_budget: 1, legacy: 1 });
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/legacy reader threw for user:v1:deep: JSON nested deeper than 32 levels/),
      expect.stringMatching(/cannot decode entry \(over-budget\): the legacy JSON needs more than 10000 work units/),
    ]);
  });
});
