import { once } from "node:events";
import calculateSlot from "cluster-key-slot";
import { Cluster, Redis } from "ioredis";
import { createClient, createCluster } from "redis";
import { afterEach, describe, expect, it } from "vitest";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { accessorInternals, type WithInternals } from "../../src/accessor/internals.js";
import type { Interpretation } from "../../src/accessor/read.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import type { InvalidationSource } from "../../src/l1/invalidation-source.js";
import type { L1 } from "../../src/l1/l1.js";
import { RedisTracking, type TrackingOptions } from "../../src/l1/redis-tracking.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { ioredisTracking } from "../../src/stores/ioredis/tracking-driver.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { nodeRedisTracking } from "../../src/stores/node-redis/tracking-driver.js";
import type { CacheStore } from "../../src/stores/store.js";
import { uniquePrefix } from "../support/redis-client.js";
import { cli, startReplicatedCluster, type ReplicatedCluster } from "../support/redis-cluster-replicas.js";
import { freePort, startRedis, startRedisCluster } from "../support/redis-server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

/**
 * Faults of the L1 tier's invalidation path, injected into processes this
 * file starts: a stalled (SIGSTOPped) or killed TCP proxy between the
 * tracking connection and Redis while the store's own client reaches Redis
 * directly, a Cluster failover (manual, a SIGKILLed master, a SIGSTOPped
 * one), a Cluster master gone for good, and tracking servers unreachable
 * from the start. Nothing waits for
 * a time: every step waits for the event itself (the L1's counters, a
 * listener on the same source, the cluster's own view) with generous
 * timeouts. The comment above a test names the fault of RedisTracking it
 * was written against (each fixed since).
 */
const kinds = ["ioredis", "node-redis"] as const;
type Kind = (typeof kinds)[number];

const user = (id: string, name = `n${id}`): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });
const envelopeOf = (value: User): Buffer =>
  encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 1024 }, Date.now());
const l1Sizes = { maxEntries: 1000, maxBytes: 4 << 20 } as const;
type Cache = ReturnType<typeof userCache>;

/** Undone after every test, last first, whether it passed or not: processes, clients, sources, accessors. */
const cleanups: (() => unknown)[] = [];
const onCleanup = (undo: () => unknown): void => void cleanups.push(undo);
afterEach(async () => {
  for (let undo = cleanups.pop(); undo !== undefined; undo = cleanups.pop()) {
    try {
      await undo();
    } catch {
      // the rest still runs
    }
  }
});

const internalsOf = (cache: Cache) => (cache as unknown as WithInternals<User, { id: string }>)[accessorInternals]();

function l1Of(cache: Cache): L1<Interpretation<User>> {
  const held = internalsOf(cache).l1;
  if (held === undefined) throw new Error("the accessor has no L1");
  return held;
}

/**
 * A listener on exactly the L1's own prefix (its key space): a wider one
 * would make the source open a new generation of connections after the L1
 * was ready (see the generation test below).
 */
const listenLikeL1 = (source: InvalidationSource, cache: Cache): Heard => listen(source, internalsOf(cache).keyBase);

/** What a listener on the same source heard: invalidations per key, flushes. */
interface Heard {
  count(key: string): number;
  readonly flushes: number;
  close(): void;
}

function listen(source: InvalidationSource, prefix: string): Heard {
  const counts = new Map<string, number>();
  let flushes = 0;
  const watch = source.watch(prefix, { invalidate: (keys) => keys.forEach((k) => counts.set(k, (counts.get(k) ?? 0) + 1)), flush: () => void (flushes += 1) });
  return {
    count: (key) => counts.get(key) ?? 0,
    get flushes() {
      return flushes;
    },
    close: () => watch.close(),
  };
}

/** Reads `id` until a read is an L1 hit (a flush in between only delays it); returns that hit's value. */
async function servedFromL1(cache: Cache, id: string): Promise<User | undefined> {
  const before = cache.stats().l1.hit;
  let last: User | undefined;
  await expect
    .poll(async () => {
      last = await cache.get({ id });
      return cache.stats().l1.hit > before;
    })
    .toBe(true);
  return last;
}

/** One get, checked to have read Redis (not L1): its value. */
async function readFromRedis(cache: Cache, id: string): Promise<User | undefined> {
  const { reads, l1 } = cache.stats();
  const got = await cache.get({ id });
  expect(cache.stats().reads.hit).toBe(reads.hit + 1);
  expect(cache.stats().l1.hit).toBe(l1.hit);
  return got;
}

// ---------------------------------------------------------------- standalone, a proxy in front of the tracking connection

interface ProxiedSetup {
  readonly prefix: string;
  readonly cache: Cache;
  readonly source: RedisTracking;
  readonly heard: Heard;
  /** Another connection, straight to Redis. */
  readonly writer: Redis;
  readonly proxy: TcpProxy;
  /** Starts a new proxy on the same port (after a kill). */
  restartProxy(): Promise<void>;
}

/**
 * A store whose client connects to `storePort`, and a tracking source whose
 * client (never connected by itself: lazyConnect) points at `trackingPort`.
 */
async function storeAndTracking(kind: Kind, storePort: number, trackingPort: number, options: TrackingOptions): Promise<{ store: CacheStore; source: RedisTracking }> {
  if (kind === "ioredis") {
    const client = new Redis({ port: storePort, host: "127.0.0.1" });
    client.on("error", () => {});
    onCleanup(() => client.disconnect());
    const trackingClient = new Redis({ port: trackingPort, host: "127.0.0.1", lazyConnect: true });
    trackingClient.on("error", () => {});
    onCleanup(() => trackingClient.disconnect());
    return { store: new RedisStore(client), source: ioredisTracking(trackingClient, options) };
  }
  const client = await createClient({ socket: { port: storePort, host: "127.0.0.1" } })
    .on("error", () => {})
    .connect();
  onCleanup(() => client.destroy());
  const trackingClient = createClient({ socket: { port: trackingPort, host: "127.0.0.1" } }).on("error", () => {});
  return { store: new NodeRedisStore(client), source: nodeRedisTracking(trackingClient, options) };
}

/**
 * A redis-server of the test's own; the store's client connects to it
 * directly, the tracking source's client through a TCP proxy in a child
 * process (heartbeat 200 ms, reconnection backoff at most 200 ms).
 */
async function proxiedSetup(kind: Kind, heartbeatMs = 200): Promise<ProxiedSetup> {
  const server = await startRedis();
  onCleanup(() => server.stop());
  let proxy = await startTcpProxy(server.port);
  onCleanup(() => proxy.stop());
  const { store, source } = await storeAndTracking(kind, server.port, proxy.port, { heartbeatMs, maxReconnectDelayMs: 200 });
  onCleanup(() => source.close());
  const writer = new Redis({ port: server.port, host: "127.0.0.1" });
  writer.on("error", () => {});
  onCleanup(() => writer.disconnect());
  const prefix = uniquePrefix();
  const cache = userCache(store, { prefix, deadlineMs: 2000, l1: { ...l1Sizes, tracking: source } });
  onCleanup(() => cache.close());
  const heard = listenLikeL1(source, cache);
  onCleanup(() => heard.close());
  expect(await l1Of(cache).ready(10_000)).toBe(true);
  return {
    prefix,
    cache,
    source,
    heard,
    writer,
    get proxy() {
      return proxy;
    },
    restartProxy: async () => {
      proxy = await startTcpProxy(server.port, { port: proxy.port });
    },
  };
}

/** Another connection writes `name` for `id`; resolves once Redis's invalidation of that write reached the source. */
async function writeAndHear(setup: { writer: Redis | Cluster; heard: Heard; cache: Cache }, id: string, name: string): Promise<void> {
  const key = setup.cache.keyOf({ id });
  const before = setup.heard.count(key);
  await setup.writer.set(key, envelopeOf(user(id, name)));
  await expect.poll(() => setup.heard.count(key)).toBeGreaterThan(before);
}

/** Sets `id` through the cache (which drops it at once), waits for Redis's invalidation of that write, then reads until L1 serves it. */
async function fill(setup: { heard: Heard; cache: Cache }, id: string, name: string): Promise<void> {
  const key = setup.cache.keyOf({ id });
  const before = setup.heard.count(key);
  expect(await setup.cache.set(user(id, name))).toBe("written");
  await expect.poll(() => setup.heard.count(key)).toBeGreaterThan(before);
  expect((await servedFromL1(setup.cache, id))?.name).toBe(name);
}

describe.each(kinds)("%s standalone, tracking through a TCP proxy", (kind) => {
  it("proxy SIGSTOPped: flush_heartbeat is counted and L1 emptied; a get reads Redis (reads.hit +1, not_live counted) and returns another connection's later write; after SIGCONT tracking is ready again, L1 serves hits, and another connection's write is invalidated", async () => {
    const setup = await proxiedSetup(kind);
    const { cache, source, writer } = setup;
    await fill(setup, "k", "v1");
    expect(cache.stats().l1.entries).toBe(1);

    setup.proxy.process.kill("SIGSTOP");
    await expect.poll(() => cache.stats().l1.flush_heartbeat).toBeGreaterThanOrEqual(1);
    expect(cache.stats().l1.entries).toBe(0);
    expect(l1Of(cache).live).toBe(false);
    expect(source.stats().drops).toBeGreaterThanOrEqual(1);
    const notLive = cache.stats().l1.not_live;
    expect((await readFromRedis(cache, "k"))?.name).toBe("v1");
    expect(cache.stats().l1.not_live).toBe(notLive + 1);
    // Another connection writes while the tracking connection is stalled: no invalidation can arrive, the next get sees it all the same.
    await writer.set(cache.keyOf({ id: "k" }), envelopeOf(user("k", "v2")));
    expect((await readFromRedis(cache, "k"))?.name).toBe("v2");
    expect(cache.stats().l1.entries).toBe(0);

    setup.proxy.process.kill("SIGCONT");
    expect(await l1Of(cache).ready(20_000)).toBe(true);
    expect((await servedFromL1(cache, "k"))?.name).toBe("v2");
    await writeAndHear(setup, "k", "v3");
    expect((await cache.get({ id: "k" }))?.name).toBe("v3");
  });

  it("proxy SIGKILLed: flush_disconnected is counted and L1 emptied; a get reads Redis (reads.hit +1) and returns another connection's later write; failed reconnections are counted with a lastError; with the proxy restarted on its port tracking is ready again and L1 serves hits", async () => {
    const setup = await proxiedSetup(kind);
    const { cache, source, writer } = setup;
    await fill(setup, "k", "v1");

    const proxy = setup.proxy;
    proxy.process.kill("SIGKILL");
    await once(proxy.process, "exit");
    await expect.poll(() => cache.stats().l1.flush_disconnected).toBeGreaterThanOrEqual(1);
    expect(cache.stats().l1.entries).toBe(0);
    expect((await readFromRedis(cache, "k"))?.name).toBe("v1");
    await writer.set(cache.keyOf({ id: "k" }), envelopeOf(user("k", "v2")));
    expect((await readFromRedis(cache, "k"))?.name).toBe("v2");
    // Nothing listens on the proxy's port: every reconnection is refused.
    const failures = source.stats().failures;
    await expect.poll(() => source.stats().failures).toBeGreaterThan(failures);
    expect(source.stats().lastError).toBeInstanceOf(Error);
    expect(l1Of(cache).live).toBe(false);

    await setup.restartProxy();
    expect(await l1Of(cache).ready(20_000)).toBe(true);
    expect((await servedFromL1(cache, "k"))?.name).toBe("v2");
    await writeAndHear(setup, "k", "v3");
    expect((await cache.get({ id: "k" }))?.name).toBe("v3");
  });

  // A generation replaced by a wider prefix's drains before it closes: a PING on each of its connections answers after
  // everything the server sent on it before, so an invalidation in flight there is delivered, not lost.
  it(
    "an invalidation still in flight on the tracking connection when a wider prefix's watch replaces that connection (a new generation) still drops the L1 entry: the next get returns another connection's write, not the value L1 held",
    async () => {
      const setup = await proxiedSetup(kind, 1000);
      const { cache, source, writer } = setup;
      await fill(setup, "k", "v1");
      const trackingIds = async (): Promise<string[]> => {
        const list = String(await writer.call("CLIENT", "LIST"));
        return list.split("\n").flatMap((line) => (line.includes(" name=protocache-tracking ") && line.includes(" sub=1 ") ? [/^id=(\d+) /.exec(line)?.[1] ?? ""] : []));
      };
      const [first] = await trackingIds();
      expect(first).toBeDefined();

      // What Redis sends on the current tracking connection from now on stays in the proxy.
      await setup.proxy.hold();
      await writer.set(cache.keyOf({ id: "k" }), envelopeOf(user("k", "v2")));
      const wider = source.watch(setup.prefix, { invalidate: () => {}, flush: () => {} });
      onCleanup(() => wider.close());
      // The new generation's connection is subscribed (it flows: it was opened after the hold).
      await expect.poll(async () => (await trackingIds()).some((id) => id !== first)).toBe(true);
      await setup.proxy.release();
      expect(await wider.ready(20_000)).toBe(true);
      // The replaced connection drains what it held before it closes: the invalidation arrives (not lost until the L1's TTL).
      await expect.poll(async () => (await cache.get({ id: "k" }))?.name).toBe("v2");
    },
  );
});

// ---------------------------------------------------------------- Cluster failover

interface ClusterSetup {
  readonly cluster: ReplicatedCluster;
  readonly cache: Cache;
  readonly source: RedisTracking;
  readonly heard: Heard;
  /** Another connection (an ioredis Cluster client of its own). */
  readonly writer: Cluster;
  /** Master port → an id whose key is on that master (before the failover). */
  readonly idOn: ReadonlyMap<number, string>;
}

/**
 * 3 masters with one replica each; the store's client of `kind` with the
 * store's own tracking (heartbeat 250 ms); an L1 filled with a key on every
 * master. `ioredisOptions`: the ioredis Cluster client's own options.
 */
async function clusterSetup(kind: Kind, ioredisOptions: ConstructorParameters<typeof Cluster>[1] = {}): Promise<ClusterSetup> {
  const cluster = await startReplicatedCluster(3);
  onCleanup(() => cluster.stop());
  const { masters } = await cluster.topology();
  const storeOptions = { tracking: { heartbeatMs: 250, maxReconnectDelayMs: 200 } };
  let store: CacheStore;
  if (kind === "ioredis") {
    const client = new Cluster(
      masters.map((port) => ({ host: "127.0.0.1", port })),
      ioredisOptions,
    );
    client.on("error", () => {});
    onCleanup(() => client.disconnect());
    await new Promise<void>((resolve) => client.once("ready", resolve));
    store = new RedisStore(client, storeOptions);
  } else {
    const client = createCluster({ rootNodes: masters.map((port) => ({ url: `redis://127.0.0.1:${port}` })) }).on("error", () => {});
    onCleanup(() => client.destroy());
    await client.connect();
    store = new NodeRedisStore(client, storeOptions);
  }
  const source = store.tracking?.();
  expect(source).toBeInstanceOf(RedisTracking);
  const tracking = source as RedisTracking;
  onCleanup(() => tracking.close());
  const writer = new Cluster(masters.map((port) => ({ host: "127.0.0.1", port })));
  writer.on("error", () => {});
  onCleanup(() => writer.disconnect());
  await new Promise<void>((resolve) => writer.once("ready", resolve));
  const prefix = uniquePrefix();
  const cache = userCache(store, { prefix, deadlineMs: 1000, l1: l1Sizes });
  onCleanup(() => cache.close());
  const heard = listenLikeL1(tracking, cache);
  onCleanup(() => heard.close());
  expect(await l1Of(cache).ready(10_000)).toBe(true);

  const slots = (await writer.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
  const ownerOf = (slot: number): number | undefined => slots.find(([from, to]) => from <= slot && slot <= to)?.[2][1];
  const idOn = new Map<number, string>();
  for (let i = 0; idOn.size < masters.length; i++) {
    const owner = ownerOf(calculateSlot(cache.keyOf({ id: `k${i}` })));
    if (owner !== undefined && !idOn.has(owner)) idOn.set(owner, `k${i}`);
  }
  const setup = { cluster, cache, source: tracking, heard, writer, idOn };
  for (const id of idOn.values()) await fill(setup, id, "v0");
  return setup;
}

/** True when every current master holds a connection named protocache-tracking with tracking on (CLIENT LIST flag t). */
async function everyMasterTracked(cluster: ReplicatedCluster): Promise<boolean> {
  const { masters } = await cluster.topology();
  const lists = await Promise.all(masters.map((port) => cli(port, "CLIENT", "LIST")));
  return masters.length === 3 && lists.every((list) => list.split("\n").some((line) => line.includes(" name=protocache-tracking ") && /flags=\S*t/.test(line)));
}

/** One read of the consistency check: the value written last (and waited for) and what the get returned (undefined: the read failed open). */
interface CheckedRead {
  readonly id: string;
  readonly expected: string;
  readonly got: string | undefined;
  readonly phase: "before" | "after";
}

/**
 * Rounds, until stopped, of: another connection writes a new value to each
 * key, the check waits until Redis's invalidation of that write (or a
 * flush) reached the source, unless L1 was not live when the write began,
 * then reads the key twice through the cache
 * (a fill, then most often an L1 hit). A read may fail open (undefined)
 * during the failover; it must never return a value older than that write.
 */
function consistencyCheck(setup: ClusterSetup, ids: readonly string[]): ConsistencyCheck {
  const { cache, heard, writer } = setup;
  const reads: CheckedRead[] = [];
  let running = true;
  let rounds = 0;
  let loop: Promise<void> = Promise.resolve();
  const check: ConsistencyCheck = {
    reads,
    phase: "before",
    until: (done) => Promise.race([expect.poll(done).toBe(true), loop.then(() => Promise.reject(new Error("the consistency check stopped")))]),
    rounds: () => rounds,
    stop: async () => {
      running = false;
      await loop;
    },
  };
  loop = (async () => {
    while (running) {
      rounds += 1;
      for (const id of ids) {
        const key = cache.keyOf({ id });
        const name = `r${rounds}`;
        // Not live: L1 holds nothing (flushed) and takes nothing until tracking is back, so no invalidation is owed.
        const [invalidations, flushes, live] = [heard.count(key), heard.flushes, l1Of(cache).live];
        try {
          await writer.set(key, envelopeOf(user(id, name)));
        } catch {
          continue; // not known to be written: the next round's write supersedes it
        }
        await expect.poll(() => !live || heard.count(key) > invalidations || heard.flushes > flushes).toBe(true);
        for (let i = 0; i < 2; i++) reads.push({ id, expected: name, got: (await cache.get({ id }))?.name, phase: check.phase });
      }
    }
  })();
  loop.catch(() => undefined);
  onCleanup(() => check.stop().catch(() => undefined));
  return check;
}

interface ConsistencyCheck {
  readonly reads: readonly CheckedRead[];
  /** Tags the reads from now on. */
  phase: "before" | "after";
  /** Waits until `done` (polled) is true; rejects with the check's own failure if it stopped first. */
  until(done: () => boolean | Promise<boolean>): Promise<unknown>;
  /** Rounds started. */
  rounds(): number;
  /** Ends the rounds; rejects with the check's failure if it had one. */
  stop(): Promise<void>;
}

describe.each(kinds)("%s cluster of 3 masters with a replica each", (kind) => {
  it(
    "manual CLUSTER FAILOVER on a replica: an L1 flush (topology or disconnected) is counted; tracking becomes ready with a tracking connection on every current master; another connection's write to a key on the promoted master is invalidated in L1; no read through the cache, before or after the failover, returns a value older than the last write (read once that write's invalidation or a flush arrived, or L1 was not live)",
    async () => {
      const setup = await clusterSetup(kind);
      const { cluster, cache, source } = setup;
      const before = await cluster.topology();
      const victim = before.masters[0] as number;
      const replica = before.replicaOf.get(victim) as number;
      const promotedId = setup.idOn.get(victim) as string;
      const hitsBefore = cache.stats().l1.hit;
      const check = consistencyCheck(setup, [...setup.idOn.values()]);
      await check.until(() => check.rounds() >= 2);

      expect((await cli(replica, "CLUSTER", "FAILOVER")).trim()).toBe("OK");
      await expect.poll(async () => (await cluster.topology()).masters.includes(replica)).toBe(true);
      await cluster.waitForMasters(3);
      check.phase = "after";
      // The check's reads and writes are the traffic by which the store's client learns the new topology.
      await check.until(() => cache.stats().l1.flush_topology + cache.stats().l1.flush_disconnected >= 1);
      await check.until(async () => l1Of(cache).live && (await everyMasterTracked(cluster)));
      expect(await l1Of(cache).ready(20_000)).toBe(true);
      const rounds = check.rounds();
      await check.until(() => check.rounds() > rounds + 1);
      await check.stop();

      // The promoted master's key: held in L1, then written by another connection; its invalidation drops it.
      expect((await servedFromL1(cache, promotedId))?.name).toMatch(/^r\d+$/);
      const invalidations = cache.stats().l1.invalidation;
      await writeAndHear(setup, promotedId, "final");
      expect(cache.stats().l1.invalidation).toBe(invalidations + 1);
      expect((await cache.get({ id: promotedId }))?.name).toBe("final");

      expect(check.reads.filter((r) => r.got !== undefined && r.got !== r.expected)).toEqual([]);
      expect(check.reads.filter((r) => r.phase === "after" && r.got !== undefined).length).toBeGreaterThan(0);
      expect(cache.stats().l1.hit).toBeGreaterThan(hitsBefore);
      expect(source.stats().connects).toBeGreaterThanOrEqual(2);
    },
  );

  // ioredis drops a killed master from its pool ("end" of the node's connection) without refreshing its slots: tracking
  // used to go live on the 2 masters left, the promoted replica's keys entering L1 untracked (the driver now takes the
  // masters from the slot table and refreshes it when a slot has no connected owner); node-redis keeps the dead master and waits.
  it(
    "master SIGKILLed and its replica promoted: flush_disconnected is counted; right after the promotion L1 is not live unless every current master has a tracking connection; with reads, tracking becomes ready on every current master; another connection's writes to keys on every master, the promoted one included, are invalidated in L1; no read through the cache returns a value older than the last write",
    async () => {
      const setup = await clusterSetup(kind);
      const { cluster, cache } = setup;
      const before = await cluster.topology();
      const victim = before.masters[0] as number;
      const replica = before.replicaOf.get(victim) as number;
      const promotedId = setup.idOn.get(victim) as string;
      // The replica holds every write of the victim: a read after the failover cannot legitimately be older.
      const offset = Number(/master_repl_offset:(\d+)/.exec(await cli(victim, "INFO", "replication"))?.[1]);
      await expect.poll(async () => Number(/slave_repl_offset:(\d+)/.exec(await cli(replica, "INFO", "replication"))?.[1] ?? -1)).toBeGreaterThanOrEqual(offset);

      const killed = cluster.node(victim).process;
      killed.kill("SIGKILL");
      await once(killed, "exit");
      await expect.poll(() => cache.stats().l1.flush_disconnected).toBeGreaterThanOrEqual(1);
      await expect.poll(async () => (await cluster.topology()).masters.includes(replica)).toBe(true);
      await cluster.waitForMasters(3);

      // Promoted, and the store's client has not been told (no traffic since the kill).
      const connects = setup.source.stats().connects;
      const liveBefore = l1Of(cache).live;
      const tracked = await everyMasterTracked(cluster);
      const liveAfter = l1Of(cache).live;
      if (liveBefore && liveAfter && setup.source.stats().connects === connects) expect(tracked).toBe(true);

      // Reads (the traffic by which the client learns the topology) until tracking is live on every current master.
      const reads: CheckedRead[] = [];
      const readAll = async (expected: string): Promise<void> => {
        for (const id of setup.idOn.values()) reads.push({ id, expected, got: (await cache.get({ id }))?.name, phase: "after" });
      };
      await expect
        .poll(async () => {
          await readAll("v0");
          return l1Of(cache).live && (await everyMasterTracked(cluster));
        })
        .toBe(true);
      expect(await l1Of(cache).ready(20_000)).toBe(true);

      for (const id of setup.idOn.values()) {
        expect((await servedFromL1(cache, id))?.name).toBe("v0");
        const invalidations = cache.stats().l1.invalidation;
        await writeAndHear(setup, id, "v1");
        expect(cache.stats().l1.invalidation).toBe(invalidations + 1);
      }
      await readAll("v1");
      await readAll("v1");
      expect(reads.filter((r) => r.got !== undefined && r.got !== r.expected)).toEqual([]);
      expect((await cache.get({ id: promotedId }))?.name).toBe("v1");
    },
  );
});

// RedisTracking's sync had no deadline: a connection to a master that accepted TCP but never answers (stopped, hung)
// kept the sync pending for ever, so no retry asked the client for the new masters (each open is now bounded). ioredis refreshes its slots every second here, so that the store's own reads
// (and what tracking.servers() reports) move to the promoted replica while the old master stays stopped.
it(
  "ioredis cluster, master SIGSTOPped (hung, never closed) and its replica promoted (CLUSTER FAILOVER TAKEOVER): flush_heartbeat is counted; reads follow the promoted replica; tracking becomes live again with a tracking connection on every current master while the old master stays stopped",
  async () => {
    const setup = await clusterSetup("ioredis", { slotsRefreshInterval: 1000 });
    const { cluster, cache } = setup;
    const before = await cluster.topology();
    const victim = before.masters[0] as number;
    const replica = before.replicaOf.get(victim) as number;
    const promotedId = setup.idOn.get(victim) as string;
    cluster.node(victim).process.kill("SIGSTOP");
    await expect.poll(() => cache.stats().l1.flush_heartbeat).toBeGreaterThanOrEqual(1);
    // Promoted at once (no wait for the failure detection): the stopped master cannot take part anyway.
    expect((await cli(replica, "CLUSTER", "FAILOVER", "TAKEOVER")).trim()).toBe("OK");
    await expect.poll(async () => (await cluster.topology()).masters.includes(replica)).toBe(true);
    await cluster.waitForMasters(3);
    await expect.poll(async () => (await cache.get({ id: promotedId }))?.name).toBe("v0");
    await expect
      .poll(async () => {
        await cache.get({ id: promotedId });
        return l1Of(cache).live && (await everyMasterTracked(cluster));
      })
      .toBe(true);
    expect((await servedFromL1(cache, promotedId))?.name).toBe("v0");
  },
);

// RedisTracking's syncOnce used to open every server's connection with Promise.all and, when one open failed, close only
// the connections opened so far: those completing after the failure were never closed (one per server and retry, each a
// BCAST tracking client of its own); every open now settles and is closed. node-redis keeps a dead master among its masters until told otherwise, so every retry fails on it.
it(
  "node-redis cluster, a master SIGKILLed (no replica): each failed reconnection closes what it opened, so after 5 failures every live master holds at most one protocache-tracking connection",
  async () => {
    const cluster = await startRedisCluster(3);
    onCleanup(() => cluster.stop());
    const client = createCluster({ rootNodes: cluster.nodes.map((n) => ({ url: n.url })) }).on("error", () => {});
    onCleanup(() => client.destroy());
    await client.connect();
    const source = nodeRedisTracking(client, { heartbeatMs: 200, maxReconnectDelayMs: 100 });
    onCleanup(() => source.close());
    const watch = source.watch(uniquePrefix(), { invalidate: () => {}, flush: () => {} });
    onCleanup(() => watch.close());
    expect(await watch.ready(10_000)).toBe(true);
    const [victim, ...others] = cluster.nodes;
    if (victim === undefined) throw new Error("no cluster node");
    victim.process.kill("SIGKILL");
    await once(victim.process, "exit");
    await expect.poll(() => source.stats().failures).toBeGreaterThanOrEqual(5);
    const counts = await Promise.all(others.map(async (n) => (await cli(n.port, "CLIENT", "LIST")).split("\n").filter((line) => line.includes(" name=protocache-tracking ")).length));
    expect(Math.max(...counts)).toBeLessThanOrEqual(1);
  },
);

// ---------------------------------------------------------------- tracking unreachable from the start

describe.each(kinds)("%s, tracking servers unreachable", (kind) => {
  it("with l1.tracking over a client of a closed port (never connected: lazyConnect), gets are served from Redis through the store's client (reads.hit counts them, l1.hit stays 0, not_live counts each), L1 holds nothing and is not live, and source.stats() counts failures with a lastError", async () => {
    const server = await startRedis();
    onCleanup(() => server.stop());
    const closedPort = await freePort();
    const { store, source } = await storeAndTracking(kind, server.port, closedPort, { heartbeatMs: 200, maxReconnectDelayMs: 200 });
    onCleanup(() => source.close());
    const cache = userCache(store, { prefix: uniquePrefix(), deadlineMs: 2000, l1: { ...l1Sizes, tracking: source } });
    onCleanup(() => cache.close());

    await expect.poll(() => source.stats().failures).toBeGreaterThanOrEqual(1);
    expect(source.stats().lastError).toBeInstanceOf(Error);
    expect(source.stats().connects).toBe(0);
    expect(await cache.set(user("u"))).toBe("written");
    for (let i = 1; i <= 3; i++) {
      expect(await cache.get({ id: "u" })).toEqual(user("u"));
      expect(cache.stats().reads.hit).toBe(i);
      expect(cache.stats().l1).toMatchObject({ hit: 0, not_live: i, entries: 0 });
    }
    expect(await cache.getMany([{ id: "u" }, { id: "absent" }])).toEqual([user("u"), undefined]);
    expect(cache.stats().reads.hit).toBe(4);
    expect(l1Of(cache).live).toBe(false);
    const failures = source.stats().failures;
    await expect.poll(() => source.stats().failures).toBeGreaterThan(failures);
  });
});
