import calculateSlot from "cluster-key-slot";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { deadlineState } from "../../src/stores/deadline.js";
import { ScriptPermissionError, StoreError, StoreTimeoutError } from "../../src/errors.js";
import { NodeRedisStore } from "../../src/stores/node-redis/node-redis-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import type { CacheStore } from "../../src/stores/store.js";
import { ioredisTracking } from "../../src/stores/ioredis/tracking-driver.js";
import { clientKinds, clusterClient, recommendedClient, standaloneClient, type ClientUnderTest } from "../support/fault-clients.js";
import { freePort, startRedis, startRedisCluster, type RedisProcess } from "../support/redis-server.js";
import { waitFor } from "../support/wait.js";

/**
 * Faults injected into real redis-server processes this file starts
 * (issue 8): stopped and killed servers, a full server, refused
 * credentials and ACLs, a dead Cluster master. Every call must resolve
 * within protocache's deadline whatever the client's settings; figures are
 * printed for docs/reliability.md.
 */
const deadlineMs = 100;
const user = (id: string): User => ({ id, name: `n${id}`, email: "", fullName: "", verified: false, locale: "" });
const figures: Record<string, number> = {};

afterAll(() => {
  console.info(`fault figures (ms): ${JSON.stringify(figures)}`);
});

interface CallRecord {
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
}

/** 16 callers alternating set and get until `stop()`; every call's start, end and success recorded. */
function load(store: CacheStore, ms = deadlineMs): { records: CallRecord[]; stop(): Promise<void> } {
  const users = userCache(store, { deadlineMs: ms, guardWrites: true });
  const records: CallRecord[] = [];
  let running = true;
  const callers = Array.from({ length: 16 }, async (_, c) => {
    for (let i = 0; running; i++) {
      const start = performance.now();
      const ok = i % 2 === 0 ? (await users.set(user(`${c}`))) === "written" : (await users.get({ id: `${c}` })) !== undefined;
      records.push({ start, end: performance.now(), ok });
      if (!ok) await new Promise((r) => setTimeout(r, 5));
    }
  });
  return {
    records,
    stop: async () => {
      running = false;
      await Promise.all(callers);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until a call started after `since` succeeds; returns when that call ended (`timeoutMs`: a hang guard). */
async function recoveredAt(records: CallRecord[], since: number, timeoutMs = 30_000): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const ok = records.find((r) => r.start >= since && r.ok);
    if (ok !== undefined) return ok.end;
    if (performance.now() > until) throw new Error("traffic did not recover");
    await sleep(20);
  }
}

describe.each(clientKinds)("%s under faults", (kind) => {
  it("SIGSTOP mid-load: every call resolves within the deadline while Redis is stopped (deadlineMs 100 and 200); traffic recovers after SIGCONT", async () => {
    const server = await startRedis();
    const client = await standaloneClient(kind, server.port);
    const run = load(client.store);
    // The same load with the default deadline (200 ms) through a second client (its own sweeper), for docs/reliability.md.
    const second = await standaloneClient(kind, server.port);
    const byDefault = load(second.store, 200);
    try {
      // Traffic flows before the stop (on a saturated machine the first calls may take longer than the deadline).
      await waitFor("a call that succeeded before the stop", () => run.records.some((r) => r.ok) && byDefault.records.some((r) => r.ok));
      const stoppedAt = performance.now();
      server.process.kill("SIGSTOP");
      await sleep(1500);
      const resumedAt = performance.now();
      server.process.kill("SIGCONT");
      const during = run.records.filter((r) => r.start >= stoppedAt && r.start < stoppedAt + 500);
      const duringByDefault = byDefault.records.filter((r) => r.start >= stoppedAt && r.start < stoppedAt + 500);
      expect(during.length).toBeGreaterThan(0);
      expect(duringByDefault.length).toBeGreaterThan(0);
      // Without a deadline these calls would end only after SIGCONT.
      expect([...during, ...duringByDefault].every((r) => !r.ok && r.end < resumedAt)).toBe(true);
      const recovered = await recoveredAt(run.records, resumedAt);
      figures[`${kind} stop: worst call while stopped`] = Math.round(Math.max(...during.map((r) => r.end - r.start)));
      figures[`${kind} stop, deadlineMs 200: fastest call while stopped`] = Math.round(Math.min(...duringByDefault.map((r) => r.end - r.start)));
      figures[`${kind} stop, deadlineMs 200: worst call while stopped`] = Math.round(Math.max(...duringByDefault.map((r) => r.end - r.start)));
      figures[`${kind} stop: recovery after SIGCONT`] = Math.round(recovered - resumedAt);
    } finally {
      server.process.kill("SIGCONT");
      await byDefault.stop();
      await second.close();
      await run.stop();
      await client.close();
      await server.stop();
    }
    await expect.poll(() => deadlineState(client.store)).toEqual({ outstanding: 0, timer: false });
  });

  it("SIGSTOP: a 2500-key getMany and setMany each report one error (one failed server batch), count all 2500 keys, and resolve within the deadline", async () => {
    const server = await startRedis();
    const client = await standaloneClient(kind, server.port);
    try {
      const errors: Error[] = [];
      const users = userCache(client.store, { deadlineMs, onError: (e) => errors.push(e) });
      const ids = Array.from({ length: 2500 }, (_, i) => `b${i}`);
      expect(await userCache(client.store, { deadlineMs: 5_000 }).setMany(ids.map(user))).toEqual(ids.map(() => "written"));
      server.process.kill("SIGSTOP");
      // The baseline: one deadline, what a single get and a single set take against the stopped server.
      let started = performance.now();
      expect(await users.get({ id: "b0" })).toBeUndefined();
      expect(await users.set(user("b0"))).toBe("error");
      const singleMs = (performance.now() - started) / 2;
      errors.length = 0;
      started = performance.now();
      const got = await users.getMany(ids.map((id) => ({ id })));
      const readMs = performance.now() - started;
      started = performance.now();
      const set = await users.setMany(ids.map(user));
      const writeMs = performance.now() - started;
      expect(got.every((v) => v === undefined)).toBe(true);
      expect(set.every((r) => r === "error")).toBe(true);
      expect(users.stats().reads.error).toBe(2501);
      expect(users.stats().writes.error).toBe(2501);
      expect(errors).toHaveLength(2);
      expect(errors.every((e) => e instanceof StoreTimeoutError)).toBe(true);
      figures[`${kind} stop: getMany of 2500 keys`] = Math.round(readMs);
      figures[`${kind} stop: setMany of 2500 values`] = Math.round(writeMs);
      figures[`${kind} stop: a get and a set, each`] = Math.round(singleMs);
      // One deadline, not one per chunk: the rest of a stalled server's chunks fail at once. Relative to a single
      // call measured here (docs/reliability.md, "A test suite that holds on a busy machine"): a deadline per chunk
      // would take 3 rounds for the reads and 10 for the writes (the batch's outer bound, 20 deadlines for them).
      expect(Math.max(readMs, writeMs), `getMany ${readMs.toFixed(0)} ms, setMany ${writeMs.toFixed(0)} ms, one call ${singleMs.toFixed(0)} ms`).toBeLessThan(5 * singleMs);
    } finally {
      server.process.kill("SIGCONT");
      await client.close();
      await server.stop();
    }
  });

  it("kill -9 mid-load: calls fail open within the deadline while Redis is gone; traffic recovers after a restart on the same port", async () => {
    let server: RedisProcess = await startRedis();
    const client = await standaloneClient(kind, server.port);
    const run = load(client.store);
    try {
      await sleep(300);
      const killedAt = performance.now();
      server.process.kill("SIGKILL");
      await server.stop();
      await sleep(1500);
      const restartAt = performance.now();
      const during = run.records.filter((r) => r.start >= killedAt && r.start < killedAt + 500);
      expect(during.length).toBeGreaterThan(0);
      expect(during.every((r) => !r.ok && r.end < restartAt)).toBe(true);
      server = await startRedis([], { port: server.port });
      const upAt = performance.now();
      const recovered = await recoveredAt(run.records, upAt);
      figures[`${kind} kill: worst call while down`] = Math.round(Math.max(...during.map((r) => r.end - r.start)));
      figures[`${kind} kill: recovery after restart`] = Math.round(recovered - upAt);
    } finally {
      await run.stop();
      await client.close();
      await server.stop();
    }
  });

  it("with the recommended settings, a stall is cut short by the client too: bounded queue or dropped connection, then recovery", async () => {
    const server = await startRedis();
    const client = await recommendedClient(kind, server.port);
    const errors: Error[] = [];
    const users = userCache(client.store, { deadlineMs, onError: (e) => errors.push(e) });
    const run = load(client.store);
    try {
      await sleep(200);
      server.process.kill("SIGSTOP");
      // More calls than node-redis's queue bound (100); again after ioredis's socketTimeout (1 s) dropped the connection.
      const burst = Array.from({ length: 300 }, (_, i) => users.get({ id: `b${i}` }));
      await sleep(1500);
      burst.push(...Array.from({ length: 50 }, (_, i) => users.get({ id: `c${i}` })));
      await sleep(500);
      const resumedAt = performance.now();
      server.process.kill("SIGCONT");
      expect(await Promise.all(burst)).toEqual(burst.map(() => undefined));
      const reasons = errors.map((e) => (e.cause instanceof Error ? e.cause.message : e.message)).join("\n");
      // Not only the deadline: the client itself gave up on the stalled connection.
      expect(reasons).toMatch(kind === "ioredis" ? /Socket timeout|Connection is closed|Stream isn't writeable/ : /queue is full/i);
      figures[`${kind} recommended: recovery after SIGCONT`] = Math.round((await recoveredAt(run.records, resumedAt)) - resumedAt);
    } finally {
      server.process.kill("SIGCONT");
      await run.stop();
      await client.close();
      await server.stop();
    }
  });

  it("maxmemory with noeviction: writes resolve error with Redis's OOM reason, reads still hit", async () => {
    const server = await startRedis(["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]);
    const raw = new Redis(server.port);
    const client = await standaloneClient(kind, server.port);
    try {
      const errors: unknown[] = [];
      // A generous deadline: this test is about Redis's OOM reply (a loaded machine once took over 100 ms for the first write's script load).
      const users = userCache(client.store, { deadlineMs: 5_000, onError: (e) => errors.push(e) });
      expect(await users.set(user("before"))).toBe("written");
      // Out of memory for good: used memory is always above a 1-byte maxmemory, so every write is refused. (Filling
      // 4 MB up to the brink was flaky: Redis frees client buffers between commands, and a later write fits again.)
      await raw.config("SET", "maxmemory", "1");
      expect(await raw.set("probe", "x").then(() => "written", (e: Error) => e.message)).toMatch(/^OOM/);
      expect(await users.set(user("after"))).toBe("error");
      expect(await userCache(client.store, { deadlineMs: 5_000, guardWrites: false }).set(user("after"))).toBe("error");
      expect(errors[0]).toBeInstanceOf(StoreError);
      expect((errors[0] as Error).message).toMatch(/OOM/);
      expect(await users.get({ id: "before" })).toEqual(user("before"));
      expect(await users.getMany([{ id: "before" }, { id: "after" }])).toEqual([user("before"), undefined]);
    } finally {
      raw.disconnect();
      await client.close();
      await server.stop();
    }
  });

  it("a wrong password: every call fails open at once with the reason, nothing hangs", async () => {
    const server = await startRedis(["--requirepass", "right"]);
    const client = await standaloneClient(kind, server.port, { password: "wrong" });
    try {
      const errors: Error[] = [];
      const users = userCache(client.store, { deadlineMs, onError: (e) => errors.push(e) });
      const started = performance.now();
      expect(await users.get({ id: "a" })).toBeUndefined();
      expect(await users.set(user("a"))).toBe("error");
      expect(await users.getMany([{ id: "a" }])).toEqual([undefined]);
      figures[`${kind} wrong password: three calls`] = Math.round(performance.now() - started);
      expect(errors).toHaveLength(3);
      expect(errors.every((e) => e instanceof StoreError)).toBe(true);
      expect(errors.map((e) => e.message).join("\n")).toMatch(/NOAUTH|WRONGPASS|deadline/);
    } finally {
      await client.close();
      await server.stop();
    }
  });
});

describe("scripts under ACLs (issue 8.6: EVAL denied, EVALSHA allowed)", () => {
  let server: RedisProcess;
  let admin: Redis;
  const base = ["on", ">pw", "~*", "+@connection", "+get", "+mget", "+set", "+del"];

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.port);
    await admin.acl("SETUSER", "no-scripts", ...base);
    await admin.acl("SETUSER", "evalsha-load", ...base, "+getrange", "+evalsha", "+script|load");
    await admin.acl("SETUSER", "eval-only", ...base, "+getrange", "+eval");
    await admin.acl("SETUSER", "no-getrange", ...base, "+evalsha", "+eval");
    await admin.acl("SETUSER", "ttl-no-scripts", ...base, "+pttl");
    await admin.acl("SETUSER", "no-pttl", ...base, "+getrange", "+evalsha", "+script|load");
  });
  afterAll(async () => {
    admin.disconnect();
    await server.stop();
  });

  async function withUser<T>(kind: (typeof clientKinds)[number], username: string, fn: (c: ClientUnderTest) => Promise<T>): Promise<T> {
    const client = await standaloneClient(kind, server.port, { username, password: "pw" });
    try {
      return await fn(client);
    } finally {
      await client.close();
    }
  }

  it.each(clientKinds)("%s: EVALSHA + SCRIPT LOAD suffice, also right after SCRIPT FLUSH (no manual SCRIPT LOAD step)", async (kind) => {
    await withUser(kind, "evalsha-load", async ({ store }) => {
      await admin.script("FLUSH");
      const users = userCache(store, { deadlineMs: 2_000, writeBack: true });
      expect(await users.set(user("a"))).toBe("written");
      await admin.script("FLUSH");
      expect(await users.setMany([user("b"), user("c")])).toEqual(["written", "written"]);
      expect(await store.replaceIfEqual("absent", Buffer.from("x"), Buffer.from("y"))).toBe(false);
    });
  });

  it.each(clientKinds)("%s: EVAL alone suffices (EVALSHA denied)", async (kind) => {
    await withUser(kind, "eval-only", async ({ store }) => {
      const users = userCache(store, { deadlineMs: 2_000 });
      expect(await users.set(user("d"))).toBe("written");
      expect(await users.setMany([user("e"), user("f")])).toEqual(["written", "written"]);
      expect(await store.deleteIfEqual("user:v1:d", Buffer.from("x"))).toBe(false);
    });
  });

  it.each(clientKinds)("%s: without the script commands reads work and guarded writes say exactly what to allow", async (kind) => {
    await withUser(kind, "no-scripts", async ({ store }) => {
      const errors: Error[] = [];
      const users = userCache(store, { deadlineMs: 2_000, onError: (e) => errors.push(e) });
      expect(await users.set(user("g"))).toBe("error");
      expect(errors[0]).toBeInstanceOf(ScriptPermissionError);
      expect(errors[0]?.message).toMatch(/must be allowed EVALSHA plus EVAL or SCRIPT LOAD, and inside the scripts GET, SET, GETRANGE and DEL/);
      expect(await userCache(store, { deadlineMs: 5_000, guardWrites: false }).set(user("g"))).toBe("written");
      expect(await users.get({ id: "g" })).toEqual(user("g"));
    });
    await withUser(kind, "no-getrange", async ({ store }) => {
      const errors: Error[] = [];
      expect(await userCache(store, { deadlineMs: 5_000, onError: (e) => errors.push(e) }).set(user("h"))).toBe("error");
      expect(errors[0]).toBeInstanceOf(ScriptPermissionError);
    });
  });

  it.each(clientKinds)("%s: an L1's batch read (MGET with TTLs) works without the script commands: MGET and a PTTL per key instead, values and TTLs the same", async (kind) => {
    await admin.set("ttl:a", "1", "EX", 100);
    await admin.set("ttl:b", "2");
    const expected = async (store: CacheStore) => {
      const got = (await store.getManyWithTtl?.(["ttl:a", "ttl:b", "ttl:c"])) ?? [];
      expect(got[0]).toMatchObject({ value: Buffer.from("1") });
      expect((got[0] as { ttlMs: number }).ttlMs).toBeGreaterThan(90_000);
      expect(got.slice(1)).toEqual([{ value: Buffer.from("2"), ttlMs: undefined }, null]);
      // Twice: the second call goes straight to the pipeline (or the script) it settled on.
      expect(await store.getManyWithTtl?.(["ttl:b"])).toEqual([{ value: Buffer.from("2"), ttlMs: undefined }]);
    };
    await withUser(kind, "ttl-no-scripts", ({ store }) => expected(store));
    await withUser(kind, "evalsha-load", async ({ store }) => {
      await admin.acl("SETUSER", "evalsha-load", "+pttl");
      await admin.script("FLUSH");
      await expected(store);
    });
  });

  it.each(clientKinds)("%s: with an ACL without PTTL an L1's get and getMany still return the value (read from Redis each time, never held) and the refused PTTL is reported once", async (kind) => {
    expect(await userCache(new RedisStore(admin), { deadlineMs: 5_000 }).set(user("np"))).toBe("written");
    const trackingClient = new Redis(server.port);
    const tracking = ioredisTracking(trackingClient);
    await withUser(kind, "no-pttl", async ({ store }) => {
      const errors: Error[] = [];
      const users = userCache(store, { deadlineMs: 2_000, onError: (e) => errors.push(e), l1: { maxEntries: 10, maxBytes: 1 << 20, tracking } });
      expect(await users.l1Ready(30_000)).toBe(true);
      for (let i = 0; i < 3; i++) {
        expect(await users.get({ id: "np" })).toEqual(user("np"));
        expect(await users.getMany([{ id: "np" }])).toEqual([user("np")]);
      }
      expect(users.stats().l1).toMatchObject({ hit: 0, entries: 0 });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(StoreError);
      expect(errors[0]?.message).toMatch(/PTTL/);
      await users.close();
    });
    trackingClient.disconnect();
  });
});

describe("a Cluster master killed mid-getMany", () => {
  it("keeps serving the keys of the other masters (both clients), failing only the dead master's within the deadline, reported once per call", async () => {
    const cluster = await startRedisCluster(3, ["--cluster-require-full-coverage", "no"]);
    const ports = cluster.nodes.map((n) => n.port);
    const clients = await Promise.all(clientKinds.map((k) => clusterClient(k, ports)));
    try {
      const ids = Array.from({ length: 90 }, (_, i) => `k${i}`);
      const seed = userCache(clients[0]?.store as CacheStore, { deadlineMs: 5_000 });
      expect(await seed.setMany(ids.map(user))).toEqual(ids.map(() => "written"));
      const victim = cluster.nodes[0] as RedisProcess;
      const owner = await slotOwners(ports);
      const onVictim = (id: string) => owner(calculateSlot(`user:v1:${id}`)) === victim.port;
      expect(ids.filter(onVictim).length).toBeGreaterThan(10);

      const reported = clients.map(() => [] as Error[]);
      // A deadline the live masters meet on a saturated machine too: this is about the dead master's keys.
      const caches = clients.map((c, k) => userCache(c.store, { deadlineMs: 2_000, onError: (e) => reported[k]?.push(e) }));
      const inFlight = caches.map((c) => c.getMany(ids.map((id) => ({ id }))));
      victim.process.kill("SIGKILL");
      const killedAt = performance.now();
      for (const [k, cache] of caches.entries()) {
        for (const got of [await inFlight[k], await cache.getMany(ids.map((id) => ({ id }))), await cache.getMany(ids.map((id) => ({ id })))]) {
          ids.forEach((id, i) => {
            if (!onVictim(id)) expect(got?.[i], `${clientKinds[k]} ${id}`).toEqual(user(id));
          });
        }
        figures[`${clientKinds[k]} cluster: three getMany after the kill`] = Math.round(performance.now() - killedAt);
        expect(cache.stats().reads.error).toBeGreaterThan(0);
        // Each key of the dead master is counted; its failure is reported once per call, not once per key.
        expect(reported[k]?.length, JSON.stringify(reported[k]?.map((e) => e.message.slice(0, 100)))).toBeLessThanOrEqual(3);
      }
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await cluster.stop();
    }
  });
});

describe("when Redis is down (clients that give up at once)", () => {
  it("ioredis without offline queue and node-redis before connect: reads miss and writes report an error, counted and passed to onError", async () => {
    const port = await freePort();
    const ioredis = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    ioredis.on("error", () => {});
    const nodeRedis = createClient({ socket: { port } });
    try {
      for (const store of [new RedisStore(ioredis), new NodeRedisStore(nodeRedis)]) {
        const errors: unknown[] = [];
        // A generous deadline: these clients fail at once, never by the deadline.
        const users = userCache(store, { deadlineMs: 5_000, onError: (e) => errors.push(e) });
        expect(await users.get({ id: "ada" })).toBeUndefined();
        expect(await users.getMany([{ id: "a" }, { id: "b" }])).toEqual([undefined, undefined]);
        expect(await users.set(user("ada"))).toBe("error");
        expect(await users.delete({ id: "ada" })).toBe(false);
        expect(users.stats().reads.error).toBe(3);
        expect(users.stats().writes.error).toBe(1);
        expect(users.stats().deletes.error).toBe(1);
        expect(errors.every((e) => e instanceof StoreError && !(e instanceof StoreTimeoutError))).toBe(true);
        await expect(userCache(store, { onStoreError: "throw" }).get({ id: "ada" })).rejects.toThrow(StoreError);
      }
    } finally {
      ioredis.disconnect();
    }
  });
});

/** Slot → port of the master serving it, from CLUSTER SLOTS of a live node. */
async function slotOwners(ports: readonly number[]): Promise<(slot: number) => number> {
  const probe = new Redis(ports[0] as number);
  try {
    const ranges = (await probe.cluster("SLOTS")) as unknown as [number, number, [string, number]][];
    return (slot) => ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1] ?? -1;
  } finally {
    probe.disconnect();
  }
}
