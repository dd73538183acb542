import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { ConfigError, ReadCountsError, RedisReplyError } from "../../src/errors.js";
import { census } from "../../src/ops/census.js";
import { cleanup } from "../../src/ops/cleanup.js";
import { deprecatable, parseReadCounts } from "../../src/ops/deprecatable.js";
import { globEscape, keySpaceOf } from "../../src/ops/key-space.js";
import { migrate } from "../../src/ops/migrate.js";
import { RateLimiter } from "../../src/ops/rate-limiter.js";
import { schemaRegistry } from "../../generated/registry.js";
import { createArgs, parseCreate, parseRead, parseRunId, parseScan, readArgs } from "../../src/stores/redis/bulk-commands.js";
import { isReplyError, isTransientReply } from "../../src/stores/redis/replies.js";
import { parseTally, tallyScan } from "../../src/stores/redis/scripts/census.js";
import { ruleArgs } from "../../src/stores/redis/scripts/delete-where.js";
import { replaceKeepTtl } from "../../src/stores/redis/scripts/replace-keep-ttl.js";
import { globToRegExp } from "../../src/stores/memory/memory-bulk.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { userR1Entry } from "../support/entries.js";
import type { CensusReport } from "../../src/ops/census.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A Redis error reply as every transport hands it over. */
function replyError(message: string): Error {
  return new RedisReplyError(message);
}

describe("bulk command building and reply parsing (no server)", () => {
  it("SCAN replies: keys that are not UTF-8 are counted apart, never turned into another key's name", () => {
    const page = parseScan([Buffer.from("17"), [Buffer.from("user:v1:a"), Buffer.from([0x75, 0x3a, 0xff]), Buffer.from("user:v1:é")]]);
    expect(page).toEqual({ cursor: "17", keys: ["user:v1:a", "user:v1:é"], unreadable: 1 });
    expect(() => parseScan("OK")).toThrow(/SCAN/);
  });

  it("reads pair GET and PEXPIRETIME per key: -1 no expiry, -2 (expired between the two) absent, errors in place", () => {
    expect(readArgs(["a", "b"], true)).toEqual([["GET", "a"], ["PEXPIRETIME", "a"], ["GET", "b"], ["PEXPIRETIME", "b"]]);
    const error = replyError("WRONGTYPE Operation against a key holding the wrong kind of value");
    expect(parseRead([Buffer.from("x"), 1_900_000_000_000, Buffer.from("y"), -1, Buffer.from("z"), -2, null, -2, error, -2], ["a", "b", "c", "d", "e"], true)).toEqual([
      { value: Buffer.from("x"), expireAt: 1_900_000_000_000 },
      { value: Buffer.from("y"), expireAt: undefined },
      null,
      null,
      error,
    ]);
  });

  it("census replies: groups with schema IDs, kinds, counts and bytes; a step's cursor and key count first", () => {
    const id = Buffer.from([0x45, 0xd3, 0x72, 0x20, 0x1c]);
    expect(parseTally([id, 3, 120, Buffer.from("L"), 1, 7, Buffer.from("N\u0000\u0000\u0000\u0009"), 1, 9])).toEqual([
      { kind: "envelope", schemaId: 0xd372201c, count: 3, bytes: 120 },
      { kind: "legacy", schemaId: undefined, count: 1, bytes: 7 },
      { kind: "newer", schemaId: 9, count: 1, bytes: 9 },
    ]);
    expect(tallyScan.parse([Buffer.from("0"), 2, Buffer.from("G"), 2, 0])).toEqual({ cursor: "0", keys: 2, tally: [{ kind: "gone", schemaId: undefined, count: 2, bytes: 0 }] });
    expect(() => parseTally([Buffer.from("?"), 1, 1])).toThrow(/group/);
  });

  it("cleanup rules, compare-and-set and create replies", () => {
    const [letters, ids] = ruleArgs({ schemaIds: [1, 0xffff_ffff], legacy: true, corrupt: false, all: false });
    expect(letters).toBe("L");
    expect(ids).toEqual(Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
    expect([1, 0, -1, 7].map((r) => replaceKeepTtl.parse(r))).toEqual(["replaced", "absent", "changed", expect.any(Error)]);
    expect(createArgs({ key: "k", value: Buffer.from("v"), expireAt: 5 })).toEqual(["SET", "k", Buffer.from("v"), "PXAT", "5", "NX"]);
    expect(createArgs({ key: "k", value: Buffer.from("v"), expireAt: undefined })).toEqual(["SET", "k", Buffer.from("v"), "NX"]);
    expect([Buffer.from("OK"), null].map(parseCreate)).toEqual(["created", "exists"]);
    expect(parseRunId(Buffer.from("# Server\r\nredis_version:7.0.15\r\nrun_id:0a1b2c\r\n"))).toBe("0a1b2c");
  });

  it("tells server error replies from connection failures, and which replies are worth retrying", () => {
    expect(isReplyError(replyError("ERR x"))).toBe(true);
    expect(isReplyError(new Error("Connection is closed."))).toBe(false);
    expect(isTransientReply(replyError("LOADING Redis is loading the dataset in memory"))).toBe(true);
    expect(isTransientReply(replyError("MOVED 3999 127.0.0.1:6381"))).toBe(true);
    expect(isTransientReply(replyError("WRONGTYPE x"))).toBe(false);
  });

  it("a namespace escaped for SCAN matches itself only, glob characters and all", () => {
    const ns = "a*b?c[d]e\\f:";
    const pattern = globToRegExp(`${globEscape(ns)}*`);
    expect(pattern.test(`${ns}x`)).toBe(true);
    expect(pattern.test("aXbYc[d]e\\f:x")).toBe(false);
    expect(pattern.test("a*b?cde\\f:x")).toBe(false);
  });
});

describe("operations options", () => {
  const users = userCache(new MemoryStore());

  it.each([
    ["rate 0", { rate: 0 }],
    ["a fractional rate", { rate: 1.5 }],
    ["count over 100000", { count: 100_001 }],
    ["an empty checkpoint path", { checkpoint: "" }],
  ])("migrate refuses %s with a ConfigError", async (_, options) => {
    await expect(migrate(users, options as never)).rejects.toThrow(ConfigError);
  });

  it("cleanup needs a selection, refuses the revision the accessor writes and unknown revisions", async () => {
    await expect(cleanup(users, {})).rejects.toThrow(/select what to delete/);
    await expect(cleanup(users, { revisions: [2] })).rejects.toThrow(/writes/);
    await expect(cleanup(users, { revisions: [9] })).rejects.toThrow(/no revision 9/);
    await expect(cleanup(users, { schemaIds: [0] })).rejects.toThrow(ConfigError);
  });

  it("key spaces refuse entity names that could match other keys, and non-accessors", () => {
    const store = new MemoryStore();
    expect(() => keySpaceOf({ store, entity: "user*", major: 1, registry: schemaRegistry })).toThrow(ConfigError);
    expect(() => keySpaceOf({ store, entity: "v2", major: 1, registry: schemaRegistry })).toThrow(ConfigError);
    expect(() => keySpaceOf({ store, entity: "user", major: 0, registry: schemaRegistry })).toThrow(ConfigError);
    expect(() => keySpaceOf({ store, entity: "user", major: 1, registry: schemaRegistry, prefix: "a*:" })).toThrow(ConfigError);
    expect(() => keySpaceOf({})).toThrow(ConfigError);
    expect(keySpaceOf({ store, entity: "user", major: 1, registry: schemaRegistry, prefix: "app:" }).match).toBe("app:user:v1:*");
  });

  it("a checkpoint of another operation is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "protocache-ckpt-"));
    dirs.push(dir);
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ protocacheCheckpoint: 1, operation: "cleanup", match: "user:v1:*", nodes: {}, stats: {} }));
    await expect(migrate(users, { checkpoint: file })).rejects.toThrow(/belongs to cleanup/);
    writeFileSync(file, "not json");
    await expect(migrate(users, { checkpoint: file })).rejects.toThrow(/not a protocache checkpoint/);
  });

  it("a checkpoint of a finished migrate starts a new pass: run again, it migrates what was written since, and reports only that", async () => {
    const dir = mkdtempSync(join(tmpdir(), "protocache-ckpt-"));
    dirs.push(dir);
    const store = new MemoryStore();
    const users = userCache(store);
    const file = join(dir, "finished.json");
    const put = (id: string): void => store.setRaw(`user:v1:${id}`, userR1Entry({ id, name: "n", email: "" }));
    for (let i = 0; i < 3; i++) put(`a${i}`);
    const first = await migrate(users, { checkpoint: file });
    expect(first.counts.migrated).toBe(3);
    for (let i = 0; i < 2; i++) put(`b${i}`);
    const again = await migrate(users, { checkpoint: file });
    expect(again.counts).toMatchObject({ migrated: 2, current: 3 });
    expect(again.scanned).toBe(5);
  });

  it("census with a sample stops early and marks its counts as estimates", async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 300; i++) store.setRaw(`user:v1:${i}`, Buffer.from("{}"));
    const report = await census(userCache(store), { sample: 50, count: 10 });
    expect(report.scanned).toBeLessThan(300);
    expect(report.sampled).toBe(true);
  });
});

describe("deprecatable", () => {
  const report = (count: number, sampled = false): CensusReport => ({
    namespace: "user:v1:",
    entity: "user",
    major: 1,
    groups: count === 0 ? [] : [{ kind: "envelope", schemaId: 7, message: "m", major: 1, revision: 1, foreign: false, count, bytes: 10, estimatedCount: undefined }],
    bytes: 0,
    fraction: sampled ? 0.5 : 1,
    sampled,
    scanned: count,
    rescans: 0,
    retries: 0,
    unreadableKeys: 0,
    elapsedMs: 1,
  });
  const target = { name: "m r1", schemaIds: [7], current: false };

  it.each([
    ["no entries, no reads", report(0), new Map([[7, 0]]), true],
    ["entries left", report(3), new Map([[7, 0]]), false],
    ["reads in the window", report(0), new Map([[7, 2]]), false],
    ["no read counts given", report(0), undefined, false],
    ["only a sample", report(0, true), new Map([[7, 0]]), false],
  ] as const)("%s → removable %s", (_, census, reads, removable) => {
    const verdict = deprecatable(census, target, reads);
    expect(verdict.removable).toBe(removable);
    expect(verdict.reasons[0]).toMatch(removable ? /can be removed/ : /cannot be removed yet/);
  });

  it("the revision the code writes is never removable", () => {
    expect(deprecatable(report(0), { ...target, current: true }, new Map()).removable).toBe(false);
  });

  it("read counts come from stats() snapshots, plain maps or a Prometheus query result, added up", () => {
    const counts = parseReadCounts([
      { reads: {}, readsBySchemaId: { "0x00000007": 2 } },
      { "0x7": 3 },
      { status: "success", data: { resultType: "vector", result: [{ metric: { protocache_schema_id: "0x00000007" }, value: [1, "5"] }, { metric: {}, value: [1, "9"] }] } },
    ]);
    expect(counts).toEqual(new Map([[7, 10]]));
    expect(() => parseReadCounts({ nope: 1 })).toThrow(ReadCountsError);
    expect(() => parseReadCounts({ nope: 1 })).toThrow('read counts at nope: "nope" is not a schema ID (0x and up to 8 hex digits)');
    expect(() => parseReadCounts([{ readsBySchemaId: { "0x7": -1 } }])).toThrow("read counts at [0].readsBySchemaId.0x7: expected a count >= 0 for 0x7, got -1");
    expect(() => parseReadCounts("x")).toThrow(ReadCountsError);
  });
});

describe("rate limiter", () => {
  it("never lets a walk go faster than its rate: 300 keys at 1000/s take at least 0.25 s (a lower bound only: noise can only slow it)", async () => {
    const limiter = new RateLimiter(1000);
    const started = performance.now();
    for (let i = 0; i < 30; i++) await limiter.take(10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });
});
