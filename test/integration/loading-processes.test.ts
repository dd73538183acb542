import { spawn } from "node:child_process";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { repoRoot } from "../support/project.js";
import { uniquePrefix } from "../support/redis-client.js";

/** The loading cache across real processes (one client and accessor each) sharing the run's Redis, and with Redis gone. */
const worker = join(repoRoot, "test", "support", "loading-worker.ts");

function run(args: string[], onLine?: (line: Record<string, unknown>, kill: () => void) => void): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", worker, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    const lines: Record<string, unknown>[] = [];
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf("\n")) >= 0) {
        const line = JSON.parse(out.slice(0, nl)) as Record<string, unknown>;
        out = out.slice(nl + 1);
        lines.push(line);
        onLine?.(line, () => child.kill("SIGKILL"));
      }
    });
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("exit", (code, signal) => (code === 0 || signal === "SIGKILL" ? resolve(lines) : reject(new Error(`worker exited ${code}: ${err}`))));
  });
}

describe("loading cache across processes", () => {
  const redis = new Redis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
  afterAll(() => redis.disconnect());

  it("4 processes × 50 callers of one cold key: the loader runs once in all, every caller gets that one value, a lease was taken and none timed out", async () => {
    const prefix = uniquePrefix();
    // A lease that outlives the load (300 ms) on a saturated machine too: a lease of 1 s expired mid-load there, and a
    // second process loaded. (Leases that do expire are the next test's.)
    const results = await Promise.all(Array.from({ length: 4 }, () => run([inject("redisUrl"), prefix, "hot", "50", "300", "30000"])));
    // What each process printed, in the message of a failure (names and load counters).
    const printed = JSON.stringify(results.map((r) => r.at(-1)));
    expect(Number(await redis.get(`${prefix}loader-calls`)), printed).toBe(1);
    const names = new Set(results.flatMap((r) => (r.at(-1)?.["names"] as string[]) ?? []));
    expect(names.size, printed).toBe(1);
    const loads = results.map((r) => r.at(-1)?.["loads"] as Record<string, number>);
    // At least one lease was taken. A process whose read missed before the load's write can take the lease after the
    // loader's process released it (on a busy machine it did, twice in one run): it reads the key again first and
    // serves what it finds, so the loader still ran once (asserted above).
    expect(loads.reduce((n, l) => n + (l["lease_acquired"] ?? 0), 0)).toBeGreaterThanOrEqual(1);
    expect(loads.reduce((n, l) => n + (l["lease_timeout"] ?? 0), 0)).toBe(0);
  });

  it("a lease holder SIGKILLed mid-load: after its lease expires, another process loads, once", async () => {
    const prefix = uniquePrefix();
    // The holder: its loader never finishes; it is killed as soon as it has started loading.
    await run([inject("redisUrl"), prefix, "orphan", "1", "-1"], (line, kill) => {
      if (line["loading"] === true) kill();
    });
    expect(await redis.exists(`${prefix}lease:user:v1:orphan`)).toBe(1);
    const [result] = await Promise.all([run([inject("redisUrl"), prefix, "orphan", "10", "0"])]);
    expect(Number(await redis.get(`${prefix}loader-calls`))).toBe(2);
    expect((result.at(-1)?.["loads"] as Record<string, number>)["lease_acquired"]).toBe(1);
    expect((result.at(-1)?.["names"] as string[]).length).toBe(1);
  });

  it("with Redis unreachable, concurrent getOrSet of one key still call the loader once, and every caller gets its value", async () => {
    const dead = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on("error", () => {});
    const users = userCache(new RedisStore(dead), { deadlineMs: 200, onError: () => {} });
    let calls = 0;
    const got = await Promise.all(
      Array.from({ length: 50 }, () =>
        users.getOrSet({ id: "u" }, async ({ id }) => {
          calls++;
          await new Promise((r) => setTimeout(r, 20));
          return { id, name: "from source", email: "", fullName: "", verified: false, locale: "" };
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(got.every((u) => u?.name === "from source")).toBe(true);
    expect(users.stats().reads.error).toBe(50);
    expect(users.stats().writes.error).toBe(1);
    expect(users.stats().loads).toMatchObject({ loaded: 1, coalesced: 49, lease_acquired: 0 });
    dead.disconnect();
  });
});
