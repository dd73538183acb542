import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sessionCache, sessionEntity } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, userEntity } from "../../generated/acme/user/v1/user.cache.js";
import { internalsOf, type AccessorInternals } from "../../src/accessor/internals.js";
import { createEntityCache } from "../../src/accessor/entity-cache.js";
import { peekSchemaId } from "../../src/envelope/header.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { loadProjectSchemas } from "../../codegen/index.js";
import { dynamicEntity } from "../../cli/ops/dynamic-entity.js";
import { connect, loadRedisClients } from "../../cli/ops/connect.js";
import { census } from "../../src/ops/census.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { schemaRegistry } from "../../generated/registry.js";
import { clusterNodes, connectIoredisCluster } from "../support/backends.js";
import { schemaDecoder } from "../support/descriptors.js";
import { envelope, userR1Entry, userRevisionId } from "../support/entries.js";
import { repoRoot } from "../support/project.js";
import { uniquePrefix } from "../support/redis-client.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Runs the CLI in this repository (the acme project); REDIS_URL only when given. */
function run(args: readonly string[], env: Record<string, string> = {}): { status: number; stdout: string; stderr: string; json: Record<string, unknown> } {
  const { REDIS_URL: _, ...rest } = process.env;
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), ...args], { cwd: repoRoot, encoding: "utf8", env: { ...rest, ...env } });
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    // not JSON output
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

describe("protocache operations commands against real servers", () => {
  let redis: Redis;
  const url = () => inject("redisUrl");
  beforeAll(() => {
    redis = new Redis(url(), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.disconnect());

  it("migrate (REDIS_URL), census, inspect, cleanup and deprecatable on a standalone server, with their exit codes", async () => {
    const prefix = uniquePrefix();
    const p = redis.pipeline();
    for (let i = 0; i < 600; i++) p.set(`${prefix}user:v1:${i}`, userR1Entry({ id: String(i), name: `n${i}`, email: "" }), "EX", 900);
    p.set(`${prefix}user:v1:json`, '{"id":"json"}');
    p.set(`${prefix}user:v1:bad`, envelope(userRevisionId(2), Buffer.from([0x0a, 0xff])));
    await p.exec();

    const dry = run(["migrate", "user", "--major", "1", "--prefix", prefix, "--dry-run", "--json"], { REDIS_URL: url() });
    expect(dry.json).toMatchObject({ dryRun: true, counts: { migrated: 600, failed: 1, skipped: 1 } });
    const migrated = run(["migrate", "user", "--major", "1", "--prefix", prefix, "--count", "100"], { REDIS_URL: url() });
    expect(migrated.status, migrated.stderr).toBe(1); // one corrupt entry failed
    expect(migrated.stdout).toMatch(/migrated 600, already current 0, skipped 1, failed 1/);
    expect(migrated.stderr).toMatch(/^migrate .*user:v1: 602 keys, ~100%/m); // not a TTY: plain lines
    expect(peekSchemaId((await redis.getBuffer(`${prefix}user:v1:7`)) as Buffer)).toBe(userEntity.current.schemaId);
    expect(await redis.ttl(`${prefix}user:v1:7`)).toBeGreaterThan(800);

    const census = run(["census", "user", "--major", "1", "--prefix", prefix, "--redis", url(), "--json"]);
    expect(census.status).toBe(0);
    const groups = (census.json["census"] as { groups: { schemaId?: string; kind: string; count: number; revision?: number; firstGenerated?: string }[] }[])[0]?.groups;
    expect(groups?.find((g) => g.revision === 2)).toMatchObject({ count: 601, schemaId: `0x${userEntity.current.schemaId.toString(16)}` });
    expect(groups?.find((g) => g.kind === "legacy")?.count).toBe(1);

    const inspected = run(["inspect", `${prefix}user:v1:7`, "--redis", url(), "--json"]);
    expect(inspected.status).toBe(0);
    expect(inspected.json).toMatchObject({ kind: "envelope", schema: { revision: 2 }, payload: { id: "7", fullName: "Unknown" } });
    // Schema IDs as every other output writes them; the descriptor only with --descriptor.
    const currentHex = `0x${userEntity.current.schemaId.toString(16).padStart(8, "0")}`;
    expect(inspected.json).toMatchObject({ header: { schemaId: currentHex }, schema: { id: currentHex } });
    expect(inspected.json["schema"]).not.toHaveProperty("descriptor");
    const withDescriptor = run(["inspect", `${prefix}user:v1:7`, "--redis", url(), "--json", "--descriptor"]);
    expect((withDescriptor.json["schema"] as { descriptor?: string }).descriptor).toMatch(/^[A-Za-z0-9+/]+=*$/);

    expect(run(["cleanup", "user", "--major", "1", "--prefix", prefix, "--legacy", "--redis", url()]).status).toBe(2); // no --yes
    expect(run(["cleanup", "user", "--major", "1", "--prefix", prefix, "--legacy", "--corrupt", "--yes", "--redis", url(), "--json"]).json).toMatchObject({ deleted: 1 });
    expect(await redis.exists(`${prefix}user:v1:json`)).toBe(0);

    const dir = mkdtempSync(join(tmpdir(), "protocache-reads-"));
    dirs.push(dir);
    const reads = join(dir, "reads.json");
    writeFileSync(reads, JSON.stringify([{ readsBySchemaId: { [`0x${userRevisionId(1).toString(16)}`]: 0 } }, { readsBySchemaId: {} }]));
    const verdict = run(["deprecatable", "user", "--major", "1", "--revision", "1", "--prefix", prefix, "--reads", reads, "--redis", url()]);
    expect(verdict.status, verdict.stdout).toBe(0);
    expect(verdict.stdout).toMatch(/can be removed/);
    writeFileSync(reads, JSON.stringify({ [`0x${userRevisionId(1).toString(16)}`]: 3 }));
    expect(run(["deprecatable", "user", "--major", "1", "--revision", "1", "--prefix", prefix, "--reads", reads, "--redis", url()]).status).toBe(1);
  });

  it("census and migrate on the Cluster through --cluster", async () => {
    const cluster = await connectIoredisCluster();
    try {
      const prefix = uniquePrefix();
      await Promise.all(Array.from({ length: 300 }, (_, i) => cluster.set(`${prefix}user:v1:${i}`, userR1Entry({ id: String(i), name: "", email: "" }))));
      const nodes = clusterNodes().map((n) => `${n.host}:${n.port}`).join(",");
      const r = run(["migrate", "user", "--major", "1", "--prefix", prefix, "--cluster", nodes, "--json"]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ counts: { migrated: 300, failed: 0 } });
      const census = run(["census", "user", "--major", "1", "--prefix", prefix, "--cluster", nodes, "--json"]);
      expect((census.json["census"] as { groups: { revision?: number; count: number }[] }[])[0]?.groups).toEqual([expect.objectContaining({ revision: 2, count: 300 })]);
    } finally {
      cluster.disconnect();
    }
  });

  it("connect uses ioredis when node-redis is not installed (standalone and Cluster, the same walk), and with neither names the packages to install", async () => {
    const ioredis = await import("ioredis");
    const prefix = uniquePrefix();
    await redis.set(`${prefix}user:v1:1`, userR1Entry({ id: "1", name: "", email: "" }));
    const standalone = await connect({ redis: url() }, async () => ({ ioredis }));
    try {
      expect(standalone.client).toBe("ioredis");
      expect(standalone.store).toBeInstanceOf(RedisStore);
      expect((await census({ store: standalone.store, entity: "user", major: 1, prefix, registry: schemaRegistry }, {})).scanned).toBe(1);
    } finally {
      standalone.close();
    }
    const cluster = await connectIoredisCluster();
    const clustered = await connect({ cluster: clusterNodes().map((n) => `${n.host}:${n.port}`).join(",") }, async () => ({ ioredis }));
    try {
      await Promise.all(Array.from({ length: 50 }, (_, i) => cluster.set(`${prefix}user:v1:${i}`, userR1Entry({ id: String(i), name: "", email: "" }))));
      expect((await census({ store: clustered.store, entity: "user", major: 1, prefix, registry: schemaRegistry }, {})).scanned).toBe(50);
    } finally {
      clustered.close();
      cluster.disconnect();
    }
    await expect(connect({ redis: url() }, async () => ({}))).rejects.toThrow(
      "no Redis client installed: the operations commands connect with node-redis or ioredis (optional peers of protocache-gen); install one in this project, e.g. npm install -D redis (or ioredis, if your service uses it)",
    );
    expect((await loadRedisClients()).nodeRedis).toBeDefined();
  });

  it("usage and environment problems exit 2 with one line", () => {
    const none = run(["census"]);
    expect(none.stderr).toMatch(/no Redis to connect to/);
    expect(none.status).toBe(2);
    expect(run(["census", "--cluster", "nohost"]).status).toBe(2);
    expect(run(["census", "--redis", "redis://127.0.0.1:1"]).status).toBe(2);
    expect(run(["migrate", "user", "--major", "1", "--rate", "0", "--redis", url()]).status).toBe(2);
    expect(run(["cleanup", "user", "--major", "1", "--redis", url(), "--dry-run"]).stderr).toMatch(/select what to delete/);
  });
});

describe("lock-driven entities (the CLI's)", () => {
  it("upgrade older entries to exactly the bytes the generated accessors write (declared defaults by the same rules)", async () => {
    const schemas = await loadProjectSchemas(repoRoot);
    const store = new MemoryStore();
    const pairs = [
      { generated: internalsOf<unknown>(userCache(store, { writtenAt: false })), name: "user" },
      { generated: internalsOf<unknown>(sessionCache(store, { writtenAt: false })), name: "session" },
    ];
    const sessionR1 = schemaDecoder.registry.revisionsOf("acme.session.v1.Session").find((e) => e.revision === 1)?.id as number;
    const r1Type = schemaDecoder.typeOf(sessionR1);
    const entries: Record<string, Buffer[]> = {
      user: [userR1Entry({ id: "a", name: "b", email: "c" }), userR1Entry({ id: "x", name: "", email: "" })],
      session: [envelope(sessionR1, r1Type.encode(r1Type.fromObject({ tenantId: "t", sessionId: "s", scopes: ["a"], client: { ip: "1" } })).finish())],
    };
    for (const { generated, name } of pairs) {
      const locked = schemas.entities.find((e) => e.entity === name);
      if (locked === undefined || generated === undefined) throw new Error(`no ${name}`);
      const dynamic = internalsOf<unknown>(createEntityCache(dynamicEntity(locked, schemas.defaults, schemas.lock), store, { writtenAt: false }));
      for (const bytes of entries[name] ?? []) {
        const a = generated.interpret(bytes);
        const b = dynamic?.interpret(bytes);
        expect(b?.outcome).toBe(a.outcome);
        expect(dynamic?.encode(b?.value, "k")).toEqual(generated.encode(a.value, "k"));
        // Charged exactly as the generated decoder charges.
        expect(b?.work).toBe(a.work);
      }
    }
  });

  it("charge the work budget as generated decoders do, so a costly entry is over_budget before protobuf-es decodes it", async () => {
    const schemas = await loadProjectSchemas(repoRoot);
    const store = new MemoryStore();
    const locked = schemas.entities.find((e) => e.entity === "session");
    if (locked === undefined) throw new Error("no session");
    const generated = internalsOf<unknown>(sessionCache(store)) as AccessorInternals<unknown>;
    const dynamic = internalsOf<unknown>(createEntityCache(dynamicEntity(locked, schemas.defaults, schemas.lock), store)) as AccessorInternals<unknown>;
    const id = sessionEntity.current.schemaId;
    // Every kind of field: strings, a map of strings, a map of messages (one without its value), packed ints, bytes, a nested message, unknown fields.
    const payload = Buffer.from([
      0x0a, 0x01, 0x74, 0x32, 0x0a, ...Buffer.from("scope:read"), 0x3a, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76, 0x42, 0x03, 0x0a, 0x01, 0x31,
      0x6a, 0x04, 0x01, 0xac, 0x02, 0x05, 0x72, 0x02, 0x01, 0x02, 0x82, 0x01, 0x02, 0x08, 0x05, 0x82, 0x01, 0x06, 0x08, 0x06, 0x12, 0x02, 0x0a, 0x00, 0xf8, 0x01, 0x07,
    ]);
    const a = generated.interpret(envelope(id, payload));
    const b = dynamic.interpret(envelope(id, payload));
    expect(a.outcome).toBe("hit");
    expect(b.outcome).toBe("hit");
    expect(b.work).toBe(a.work);
    const costly = envelope(id, Buffer.from(Array.from({ length: 300_000 }, () => [0x32, 0x00]).flat()));
    expect(dynamic.interpret(costly, "k", 100_000)).toMatchObject({ outcome: "over_budget", work: 100_000 });
  });
});
