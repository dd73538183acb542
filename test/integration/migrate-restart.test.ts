import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { userCache, userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { peekSchemaId } from "../../src/envelope/header.js";
import { ProtocacheError, ServerUnreachableError } from "../../src/errors.js";
import { migrate } from "../../src/ops/migrate.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { userR1Entry } from "../support/entries.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";
import { startRedis, type RedisProcess } from "../support/redis-server.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "protocache-ops-"));
  dirs.push(d);
  return d;
};

/** Plants `n` revision-1 users with TTLs through a pipeline; returns their keys. */
async function seed(client: Redis, prefix: string, n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => `${prefix}user:v1:${i}`);
  for (let i = 0; i < n; i += 2000) {
    const p = client.pipeline();
    for (let j = i; j < Math.min(n, i + 2000); j++) p.set(keys[j] as string, userR1Entry({ id: String(j), name: `n${j}`, email: "" }), "EX", 3600);
    await p.exec();
  }
  return keys;
}

/** Every key now holds the current revision. */
async function expectAllCurrent(client: Redis, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 2000) {
    const values = await client.mgetBuffer(...keys.slice(i, i + 2000));
    values.forEach((v, j) => expect(v === null ? undefined : peekSchemaId(v), keys[i + j]).toBe(userEntity.current.schemaId));
  }
}

describe("migrate against failures", () => {
  it("survives a Redis restart in the middle: reconnects, reloads its scripts, walks the restarted server again, leaves every key migrated, fails none and accounts for every key", async () => {
    const dir = tempDir();
    const persistent = ["--dir", dir, "--appendonly", "yes", "--appendfsync", "always"];
    let server: RedisProcess = await startRedis(persistent);
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    try {
      const prefix = uniquePrefix();
      const keys = await seed(client, prefix, 20_000);
      let restart: Promise<void> | undefined;
      const report = await migrate(userCache(new RedisStore(client), { prefix }), {
        count: 200,
        rate: 10_000,
        checkpoint: join(dir, "migrate.json"),
        onProgress: (p) => {
          if (restart !== undefined || p.stats.scanned < 6_000) return;
          restart = (async () => {
            const port = server.port;
            await server.stop();
            await new Promise((r) => setTimeout(r, 300));
            server = await startRedis(persistent, { port });
          })();
        },
      });
      await restart;
      const c = report.counts;
      expect(c.failed).toBe(0);
      expect(c.skipped + c.gone).toBe(0);
      // Walked again after the restart: keys migrated before it count as current then. A batch whose
      // compare-and-sets were applied but whose replies were lost in the shutdown counts them as current too.
      expect(c.migrated).toBeLessThanOrEqual(keys.length);
      expect(c.migrated).toBeGreaterThan(keys.length / 2);
      expect(c.migrated + c.current).toBeGreaterThanOrEqual(keys.length);
      expect(report.scanned).toBe(c.migrated + c.current + c.skipped + c.failed + c.gone);
      expect(report.rescans).toBeGreaterThanOrEqual(1);
      expect(report.retries).toBeGreaterThanOrEqual(1);
      await expectAllCurrent(client, keys);
      const checkpoint = JSON.parse(readFileSync(join(dir, "migrate.json"), "utf8")) as { nodes: Record<string, { done: boolean }> };
      expect(Object.values(checkpoint.nodes).every((n) => n.done)).toBe(true);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it("resumes from its checkpoint after being stopped: the two runs together migrate every key once", async () => {
    const client = connectRedis();
    try {
      const prefix = uniquePrefix();
      const keys = await seed(client, prefix, 5_000);
      const file = join(tempDir(), "resume.json");
      const users = userCache(new RedisStore(client), { prefix });
      const stop = new AbortController();
      const first = await migrate(users, { count: 100, checkpoint: file, signal: stop.signal, onProgress: (p) => p.stats.scanned >= 1_000 && stop.abort() });
      expect(first.counts.migrated).toBeLessThan(keys.length);
      const second = await migrate(users, { count: 100, checkpoint: file });
      expect(second.counts.migrated).toBe(keys.length);
      expect(second.counts.failed).toBe(0);
      await expectAllCurrent(client, keys);
    } finally {
      client.disconnect();
    }
  });

  it("gives up on a server that stays away longer than retryForMs with a ServerUnreachableError naming the server and the wait", async () => {
    const server = await startRedis();
    const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
    client.on("error", () => {});
    let stopped: Promise<void> | undefined;
    try {
      const prefix = uniquePrefix();
      await seed(client, prefix, 5_000);
      const failure = await migrate(userCache(new RedisStore(client), { prefix }), {
        count: 100,
        retryForMs: 500,
        onProgress: (p) => {
          // SIGKILL at once (a graceful stop could let a fast walk finish first): the server stays away for good.
          if (stopped === undefined && p.stats.scanned >= 1_000) {
            server.process.kill("SIGKILL");
            stopped = server.stop();
          }
        },
      }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ServerUnreachableError);
      expect(failure).toBeInstanceOf(ProtocacheError);
      expect((failure as ServerUnreachableError).retriedMs).toBe(500);
      expect((failure as Error).message).toMatch(new RegExp(`^migrate: server 127\\.0\\.0\\.1:${server.port} did not answer for 500 ms: `));
    } finally {
      client.disconnect();
      await stopped;
    }
  });
});
