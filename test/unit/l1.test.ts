import { describe, expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { ConfigError } from "../../src/errors.js";
import type { FlushReason, InvalidationListener, InvalidationSource } from "../../src/l1/invalidation-source.js";
import { deepFreeze, L1 } from "../../src/l1/l1.js";
import { coveringPrefixes, RedisTracking, trackingCommand, type TrackingConnection, type TrackingConnectionEvents, type TrackingDriver } from "../../src/l1/redis-tracking.js";
import { estimateBytes } from "../../src/l1/sizes.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { RedisCacheStore } from "../../src/stores/redis/redis-cache-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { Cluster } from "ioredis";
import { createCluster } from "redis";
import type { L1Counter } from "../../src/stats.js";

/** A source whose liveness and deliveries the test drives. */
class ManualSource implements InvalidationSource {
  readonly description = "manual";
  live = true;
  readonly listeners: InvalidationListener[] = [];
  watch(_prefix: string, listener: InvalidationListener) {
    this.listeners.push(listener);
    const self = this;
    return {
      get live() {
        return self.live;
      },
      ready: async () => self.live,
      close: () => void 0,
    };
  }
  invalidate(...keys: string[]): void {
    for (const l of this.listeners) l.invalidate(keys);
  }
  flush(reason: FlushReason): void {
    for (const l of this.listeners) l.flush(reason);
  }
}

type Seen = { readonly value: unknown };

function l1Of(options: { values?: "frozen" | "copy"; ttlMs?: number; now?: () => number } = {}) {
  const source = new ManualSource();
  const counts: Partial<Record<L1Counter, number>> = {};
  const l1 = new L1<Seen>("p:", { maxEntries: 100, maxBytes: 1 << 20, ttlMs: options.ttlMs ?? 60_000, values: options.values ?? "frozen", tracking: source }, (c) => void (counts[c] = (counts[c] ?? 0) + 1), options.now);
  return { l1, source, counts };
}

describe("L1 tickets", () => {
  it("a reply whose key was invalidated while the read was in flight is not kept (race_skipped); one after it is", () => {
    const { l1, source, counts } = l1Of();
    const ticket = l1.begin("1");
    source.invalidate("p:1");
    l1.end(ticket, { value: { v: "old" } }, "1", Infinity);
    expect(l1.get("1")).toBeUndefined();
    expect(counts.race_skipped).toBe(1);
    const next = l1.begin("1");
    l1.end(next, { value: { v: "new" } }, "1", Infinity);
    expect(l1.get("1")?.value).toEqual({ v: "new" });
  });

  it("with two reads of one key in flight, an invalidation between them keeps both replies out", () => {
    const { l1, source } = l1Of();
    const a = l1.begin("1");
    source.invalidate("p:1");
    const b = l1.begin("1");
    l1.end(a, { value: 1 }, "1", Infinity);
    expect(l1.get("1")).toBeUndefined();
    l1.end(b, { value: 2 }, "1", Infinity); // began after the invalidation: its reply is newer than it
    expect(l1.get("1")?.value).toBe(2);
  });

  it("a flush while a read is in flight keeps its reply out, and drops everything held (counted by reason)", () => {
    const { l1, source, counts } = l1Of();
    l1.end(l1.begin("held"), { value: 1 }, "held", Infinity);
    const ticket = l1.begin("1");
    source.flush("heartbeat");
    l1.end(ticket, { value: 1 }, "1", Infinity);
    expect(l1.entries).toBe(0);
    expect(counts).toMatchObject({ flush_heartbeat: 1, race_skipped: 1 });
  });

  it("while tracking is not live nothing is kept (not_live) and nothing is served", () => {
    const { l1, source, counts } = l1Of();
    l1.end(l1.begin("1"), { value: 1 }, "1", Infinity);
    source.live = false;
    expect(l1.get("1")).toBeUndefined();
    expect(l1.begin("2")).toBeUndefined();
    l1.end(undefined, { value: 2 }, "2", Infinity);
    expect(counts.not_live).toBe(1);
  });

  it("an entry older than ttlMs is a miss and is dropped", () => {
    let now = 1_000;
    const { l1, counts } = l1Of({ ttlMs: 500, now: () => now });
    l1.end(l1.begin("1"), { value: 1 }, "1", Infinity);
    now += 499;
    expect(l1.get("1")?.value).toBe(1);
    now += 1;
    expect(l1.get("1")).toBeUndefined();
    expect(l1.entries).toBe(0);
    expect(counts).toMatchObject({ hit: 1, miss: 1 });
  });

  it("a reply is held no longer than its key's TTL in Redis counted from begin (or ttlMs, if sooner); one with no time left is not held", () => {
    let now = 1_000;
    const { l1 } = l1Of({ ttlMs: 60_000, now: () => now });
    const ticket = l1.begin("1");
    now += 100; // the round trip: Redis said 500 ms left somewhere in it
    l1.end(ticket, { value: 1 }, "1", 500);
    now = 1_499;
    expect(l1.get("1")?.value).toBe(1);
    now = 1_500;
    expect(l1.get("1")).toBeUndefined();
    const late = l1.begin("2");
    now += 10;
    l1.end(late, { value: 2 }, "2", 10);
    expect(l1.entries).toBe(0);
    l1.end(l1.begin("3"), { value: 3 }, "3", 0);
    expect(l1.entries).toBe(0);
    l1.end(l1.begin("4"), { value: 4 }, "4", Infinity);
    now += 59_999;
    expect(l1.get("4")?.value).toBe(4);
    now += 1;
    expect(l1.get("4")).toBeUndefined();
  });

  it("unchanged(ticket) holds until an invalidation of its key, a flush or a loss of liveness; never for no ticket", () => {
    const { l1, source } = l1Of();
    const a = l1.begin("a");
    const b = l1.begin("b");
    expect(l1.unchanged(a)).toBe(true);
    source.invalidate("p:other");
    expect(l1.unchanged(a)).toBe(true);
    source.invalidate("p:a");
    expect([l1.unchanged(a), l1.unchanged(b)]).toEqual([false, true]);
    l1.invalidate(["p:b"]); // this process's own write
    expect(l1.unchanged(b)).toBe(false);
    const c = l1.begin("c");
    source.flush("heartbeat");
    expect(l1.unchanged(c)).toBe(false);
    const d = l1.begin("d");
    source.live = false;
    expect(l1.unchanged(d)).toBe(false);
    expect(l1.unchanged(undefined)).toBe(false);
  });

  it('"frozen" freezes nested objects and arrays (not typed arrays); "copy" returns a fresh clone per hit', () => {
    const frozen = l1Of();
    const value = { a: { b: [1, { c: 2 }] }, bytes: new Uint8Array([1]) };
    frozen.l1.end(frozen.l1.begin("1"), { value }, "1", Infinity);
    const got = frozen.l1.get("1")?.value as typeof value;
    expect(Object.isFrozen(got.a.b[1])).toBe(true);
    expect(Object.isFrozen(got.bytes)).toBe(false);
    const copied = l1Of({ values: "copy" });
    const filled = { a: 1 };
    copied.l1.end(copied.l1.begin("1"), { value: filled }, "1", Infinity);
    filled.a = 3; // the reader that filled the L1 changes what it got
    expect(copied.l1.get("1")?.value).toEqual({ a: 1 });
    const one = copied.l1.get("1")?.value as { a: number };
    one.a = 2;
    expect(copied.l1.get("1")?.value).toEqual({ a: 1 });
  });

  it("deepFreeze leaves primitives alone and terminates on cycles", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    deepFreeze(cyclic);
    deepFreeze(1);
    expect(Object.isFrozen(cyclic)).toBe(true);
  });

  it("estimateBytes grows with the key and the value's strings, arrays and bytes", () => {
    const base = estimateBytes("k", {});
    expect(estimateBytes("kk", {})).toBe(base + 2);
    expect(estimateBytes("k", { s: "x".repeat(100) })).toBeGreaterThan(base + 200);
    expect(estimateBytes("k", { b: new Uint8Array(1000) })).toBeGreaterThan(base + 1000);
    expect(estimateBytes("k", { a: [1, 2, 3] })).toBeGreaterThan(base + 24);
  });
});

describe("tracking commands (pure)", () => {
  it("coveringPrefixes drops every prefix another one covers, and duplicates", () => {
    expect(coveringPrefixes(["a:user:v1:", "a:user:v1:x:", "a:user:v2:", "a:user:v1:"])).toEqual(["a:user:v1:", "a:user:v2:"]);
    expect(coveringPrefixes(["", "a:"])).toEqual([""]);
  });

  it("trackingCommand redirects BCAST invalidations of every prefix to the connection itself", () => {
    expect(trackingCommand(7, ["a:", "b:"])).toEqual(["CLIENT", "TRACKING", "ON", "REDIRECT", "7", "BCAST", "PREFIX", "a:", "PREFIX", "b:"]);
  });
});

/** A driver whose connections the test controls: what RedisTracking's state machine does with them. */
class FakeDriver implements TrackingDriver {
  readonly client = "fake";
  readonly keyPrefix = "";
  serverList = ["s1:1", "s2:2"];
  async servers(): Promise<string[]> {
    return [...this.serverList];
  }
  readonly opened: { server: string; events: TrackingConnectionEvents; commands: string[][]; closed: boolean; pings: "answer" | "hang" }[] = [];
  pings: "answer" | "hang" = "answer";
  async connect(server: string, events: TrackingConnectionEvents): Promise<TrackingConnection> {
    const c = { server, events, commands: [] as string[][], closed: false, pings: this.pings };
    this.opened.push(c);
    return {
      command: async (args) => {
        c.commands.push([...args]);
        return args[1] === "ID" ? this.opened.length : "OK";
      },
      subscribe: async () => undefined,
      ping: () => (c.pings === "hang" ? new Promise(() => {}) : Promise.resolve("PONG")),
      close: () => void (c.closed = true),
    };
  }
  live(): FakeDriver["opened"] {
    return this.opened.filter((c) => !c.closed);
  }
}

function listener() {
  const seen = { keys: [] as string[], flushes: [] as FlushReason[] };
  return { seen, listener: { invalidate: (k: readonly string[]) => void seen.keys.push(...k), flush: (r: FlushReason) => void seen.flushes.push(r) } };
}

describe("RedisTracking (over a driver the test controls)", () => {
  it("tracks every server, delivers keys of a watched prefix only, and a second prefix opens a new generation before closing (after draining) the old one, flushing nothing", async () => {
    const driver = new FakeDriver();
    const tracking = new RedisTracking(driver, { heartbeatMs: 60_000 });
    const a = listener();
    const w = tracking.watch("a:", a.listener);
    expect(await w.ready(5_000)).toBe(true);
    expect(driver.live().map((c) => c.server)).toEqual(["s1:1", "s2:2"]);
    const [, id] = (driver.live()[0]?.commands ?? [])[0] ?? [];
    expect(id).toBe("ID");
    expect(driver.live()[0]?.commands[1]?.slice(0, 4)).toEqual(["CLIENT", "TRACKING", "ON", "REDIRECT"]);
    expect(driver.live()[0]?.commands[1]?.slice(5)).toEqual(["BCAST", "PREFIX", "a:"]);
    driver.live()[0]?.events.keys([Buffer.from("a:1"), Buffer.from("b:1")]);
    expect(a.seen.keys).toEqual(["a:1"]);
    const b = listener();
    const w2 = tracking.watch("b:", b.listener);
    expect(await w2.ready(5_000)).toBe(true);
    // The replaced connections drain (a PING each), then close.
    await expect.poll(() => driver.live().length).toBe(2);
    expect(driver.opened).toHaveLength(4);
    expect(driver.live()[0]?.commands[1]).toContain("b:");
    expect(a.seen.flushes).toEqual([]);
    // Events of a retired connection are ignored.
    driver.opened[0]?.events.down(undefined);
    expect(a.seen.flushes).toEqual([]);
    tracking.close();
  });

  it("a dropped connection flushes every watcher once (disconnected), is not live, and reconnects", async () => {
    const driver = new FakeDriver();
    const tracking = new RedisTracking(driver, { heartbeatMs: 60_000, maxReconnectDelayMs: 20 });
    const a = listener();
    const w = tracking.watch("a:", a.listener);
    await w.ready(5_000);
    driver.live()[1]?.events.down(new Error("reset"));
    expect(a.seen.flushes).toEqual(["disconnected"]);
    expect(w.live).toBe(false);
    expect(driver.live()).toHaveLength(0);
    expect(await w.ready(5_000)).toBe(true);
    expect(driver.live()).toHaveLength(2);
    expect(tracking.stats()).toMatchObject({ connects: 2, drops: 1 });
    tracking.close();
  });

  it("an unanswered heartbeat flushes (heartbeat); a change of servers flushes (topology); a null message flushes (server)", async () => {
    const driver = new FakeDriver();
    const tracking = new RedisTracking(driver, { heartbeatMs: 20, maxReconnectDelayMs: 20 });
    const a = listener();
    const w = tracking.watch("a:", a.listener);
    await w.ready(5_000);
    driver.live()[0]?.events.keys(null);
    expect(a.seen.flushes).toEqual(["server"]);
    for (const c of driver.live()) c.pings = "hang";
    await expect.poll(() => a.seen.flushes).toContain("heartbeat");
    expect(await w.ready(5_000)).toBe(true);
    driver.serverList = ["s1:1", "s3:3"];
    await expect.poll(() => a.seen.flushes).toContain("topology");
    expect(await w.ready(5_000)).toBe(true);
    expect(driver.live().map((c) => c.server).sort()).toEqual(["s1:1", "s3:3"]);
    tracking.close();
  });

  it("a failing connect is counted with its error and retried; the last watch closing closes every connection", async () => {
    const driver = new FakeDriver();
    let fail = true;
    const connect = driver.connect.bind(driver);
    driver.connect = async (server, events) => {
      if (fail) throw new Error("ECONNREFUSED");
      return connect(server, events);
    };
    const tracking = new RedisTracking(driver, { heartbeatMs: 60_000, maxReconnectDelayMs: 20 });
    const w = tracking.watch("a:", listener().listener);
    expect(await w.ready(100)).toBe(false);
    expect(tracking.stats().failures).toBeGreaterThan(0);
    expect(tracking.stats().lastError?.message).toBe("ECONNREFUSED");
    fail = false;
    expect(await w.ready(5_000)).toBe(true);
    w.close();
    expect(driver.live()).toHaveLength(0);
  });
});

describe("l1 options", () => {
  const store = new MemoryStore();
  it("a misspelt l1 option is a ConfigError naming the closest valid one", () => {
    expect(() => userCache(store, { l1: { maxEntries: 10, maxBytes: 1 << 20, tll: 5 } as never })).toThrow(/l1\.tll.*ttlSeconds/);
  });
  it("maxEntries and maxBytes are required and range-checked", () => {
    expect(() => userCache(store, { l1: { maxBytes: 1 << 20 } as never })).toThrow(ConfigError);
    expect(() => userCache(store, { l1: { maxEntries: 0, maxBytes: 1 << 20 } })).toThrow(/l1\.maxEntries/);
    expect(() => userCache(store, { l1: { maxEntries: 10, maxBytes: 10 } })).toThrow(/l1\.maxBytes/);
    expect(() => userCache(store, { l1: { maxEntries: 10, maxBytes: 1 << 20, values: "shared" as never } })).toThrow(/l1\.values/);
    expect(() => userCache(store, { l1: { maxEntries: 10, maxBytes: 1 << 20, tracking: {} as never } })).toThrow(/l1\.tracking/);
  });
  it("a store that cannot track (here a transport without a tracking driver, as GLIDE's) is a ConfigError naming l1.tracking and the way out", () => {
    const transport = { client: "x", cluster: false, trackingRefusal: "x cannot track: pass l1.tracking", send: async () => null, batch: async () => [], serverOf: () => "s", servers: async () => [] };
    const glideLike = new RedisCacheStore(transport);
    expect(() => userCache(glideLike, { l1: { maxEntries: 10, maxBytes: 1 << 20 } })).toThrow(/l1\.tracking.*x cannot track/);
  });
  it("a Cluster client that reads from replicas (ioredis scaleReads, node-redis useReplicas) is a ConfigError naming l1; the same clients reading from masters are not", async () => {
    const l1 = { maxEntries: 10, maxBytes: 1 << 20, tracking: new MemoryStore().tracking() };
    const seeds = [{ host: "127.0.0.1", port: 1 }];
    const replicas = new Cluster(seeds, { scaleReads: "slave", lazyConnect: true });
    const masters = new Cluster(seeds, { lazyConnect: true });
    expect(() => userCache(new RedisStore(replicas), { l1 })).toThrow(/l1: .*read from replicas/);
    expect(() => userCache(new RedisStore(masters), { l1 })).not.toThrow();
    const nodeReplicas = createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }], useReplicas: true });
    const nodeMasters = createCluster({ rootNodes: [{ url: "redis://127.0.0.1:1" }] });
    expect(() => userCache(new NodeRedisStore(nodeReplicas), { l1 })).toThrow(/l1: .*read from replicas/);
    expect(() => userCache(new NodeRedisStore(nodeMasters), { l1 })).not.toThrow();
    replicas.disconnect();
    masters.disconnect();
  });
  it("store options: a misspelt tracking option is a ConfigError", () => {
    const transport = { client: "x", cluster: false, send: async () => null, batch: async () => [], serverOf: () => "s", servers: async () => [] };
    expect(() => new RedisCacheStore(transport, { tracking: { heartbeat: 5 } as never })).toThrow(/tracking\.heartbeat.*heartbeatMs/);
  });
  it("the metrics sink's held() reads what the L1 holds, and is released on close", async () => {
    let read: (() => { entries: number; bytes: number }) | undefined;
    let released = false;
    const users = userCache(store, {
      l1: { maxEntries: 10, maxBytes: 1 << 20 },
      metrics: { bind: () => ({ count: () => {}, operation: () => {}, held: (r) => ((read = r), () => void (released = true)) }) },
    });
    const u: User = { id: "1", name: "n", email: "", fullName: "", verified: false, locale: "" };
    await users.set(u);
    await users.get({ id: "1" });
    expect(read?.().entries).toBe(1);
    expect(read?.().bytes).toBeGreaterThan(0);
    await users.close();
    expect(released).toBe(true);
  });
});

describe("L1 invalidation by whole keys", () => {
  it("drops the id of a key within its prefix, and ignores a key outside it that ends in the same id", () => {
    const { l1, counts } = l1Of();
    l1.end(l1.begin("42"), { value: 42 }, "42", Infinity);
    l1.invalidate(["q:42", "42", "pp:42"]);
    expect(l1.get("42")?.value).toBe(42);
    expect(counts["invalidation"]).toBeUndefined();
    l1.invalidate(["p:42"]);
    expect(l1.get("42")).toBeUndefined();
    expect(counts["invalidation"]).toBe(1);
  });
});

