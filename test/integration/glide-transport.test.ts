import { createHash, randomBytes } from "node:crypto";
import { GlideClient, GlideClusterClient, Logger, ProtocolVersion } from "@valkey/valkey-glide";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Command, RedisTransport, ServerLink } from "../../src/stores/redis/transport.js";
import { RedisReplyError as ReplyError } from "../../src/errors.js";
import { glideTransport } from "../../src/stores/valkey-glide/index.js";
import { clusterNodes } from "../support/backends.js";
import { uniquePrefix } from "../support/redis-client.js";
import { startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from "../support/redis-server.js";
import { valkeyServer } from "../support/valkey.js";

/**
 * The Valkey GLIDE transport's primitives, sent straight through it (no
 * store on top) to real servers: the run's Redis 7 (standalone and a
 * 3-master Cluster) and Debian 13's Valkey (test/support/valkey.ts), both
 * deployments. PROTOCACHE_REQUIRE_VALKEY=1 (set by .ci/run) turns a missing
 * Valkey server into a failure instead of a skipped block.
 */

// GLIDE's core logs every error reply at WARN on stdout; the tests provoke many.
Logger.setLoggerConfig("error");

const valkey = valkeyServer();
const requireValkey = process.env["PROTOCACHE_REQUIRE_VALKEY"] === "1";
if ("reason" in valkey && !requireValkey) console.warn(`no Valkey server, its blocks are skipped: ${valkey.reason}`);

interface Deployment {
  readonly transport: RedisTransport;
  readonly client: GlideClient | GlideClusterClient;
  /** host:port of the standalone server or of every master. */
  readonly ids: readonly string[];
  readonly connect: (options?: { protocol?: ProtocolVersion }) => Promise<GlideClient | GlideClusterClient>;
  close(): Promise<void>;
}

async function deploymentOn(ports: readonly number[], cluster: boolean): Promise<Deployment> {
  const addresses = ports.map((port) => ({ host: "127.0.0.1", port }));
  const connect = (options: { protocol?: ProtocolVersion } = {}): Promise<GlideClient | GlideClusterClient> =>
    cluster ? GlideClusterClient.createClient({ addresses, requestTimeout: 5000, ...options }) : GlideClient.createClient({ addresses, requestTimeout: 5000, ...options });
  const client = await connect();
  return { transport: glideTransport(client), client, ids: ports.map((p) => `127.0.0.1:${p}`), connect, close: async () => client.close() };
}

const text = (reply: unknown): string => (Buffer.isBuffer(reply) ? reply.toString("utf8") : String(reply));

/** Every byte value, invalid UTF-8 (a lone continuation byte, an overlong form, a surrogate), the envelope's magic and a NUL. */
const binary = Buffer.concat([Buffer.from([0xc1, 0x01, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff, 0xfe, 0x00]), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);

/** A flat [field, value, …] reply as pairs sorted by field. */
function pairs(reply: unknown): [Buffer, Buffer][] {
  const flat = reply as Buffer[];
  expect(flat.every((b) => Buffer.isBuffer(b))).toBe(true);
  return Array.from({ length: flat.length / 2 }, (_, i): [Buffer, Buffer] => [flat[2 * i] as Buffer, flat[2 * i + 1] as Buffer]).sort((a, b) => Buffer.compare(a[0], b[0]));
}

/** Keys grouped by `serverOf`, in their original order within each group. */
function groupByServer(transport: RedisTransport, keys: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const key of keys) {
    const name = transport.serverOf(key);
    groups.set(name, [...(groups.get(name) ?? []), key]);
  }
  return groups;
}

/** Every key under `prefix` one server holds, by SCAN pages sent through its pipeline. */
async function scanAll(link: ServerLink, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [page] = await link.pipeline([["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "1000"]]);
    const [next, found] = page as [Buffer, Buffer[]];
    cursor = text(next);
    keys.push(...found.map(text));
  } while (cursor !== "0");
  return keys.sort();
}

function defineTransportSpec(title: string, cluster: boolean, open: () => Promise<Deployment>): void {
  describe(title, () => {
    let d: Deployment;
    beforeAll(async () => {
      d = await open();
      await d.transport.servers(); // the slot table is read by now
    });
    afterAll(async () => d?.close());

    it("send: SET (plain, PXAT NX, KEEPTTL) answers OK or null, GET returns the bytes exactly (invalid UTF-8, empty, 1 MiB), absent keys null, PEXPIRETIME and DEL numbers", async () => {
      const p = uniquePrefix();
      const t = d.transport;
      const big = randomBytes(1 << 20);
      expect(text(await t.send(`${p}bin`, ["SET", `${p}bin`, binary]))).toBe("OK");
      expect(text(await t.send(`${p}empty`, ["SET", `${p}empty`, Buffer.alloc(0)]))).toBe("OK");
      expect(text(await t.send(`${p}big`, ["SET", `${p}big`, big, "EX", "60"]))).toBe("OK");
      const read = await t.send(`${p}bin`, ["GET", `${p}bin`]);
      expect(Buffer.isBuffer(read) && read.equals(binary)).toBe(true);
      expect(await t.send(`${p}empty`, ["GET", `${p}empty`])).toEqual(Buffer.alloc(0));
      expect(createHash("sha256").update((await t.send(`${p}big`, ["GET", `${p}big`])) as Buffer).digest("hex")).toBe(createHash("sha256").update(big).digest("hex"));
      expect(await t.send(`${p}absent`, ["GET", `${p}absent`])).toBeNull();

      const at = Date.now() + 600_000;
      expect(text(await t.send(`${p}nx`, ["SET", `${p}nx`, "a", "PXAT", String(at), "NX"]))).toBe("OK");
      expect(await t.send(`${p}nx`, ["SET", `${p}nx`, "b", "PXAT", String(at), "NX"])).toBeNull();
      expect(text(await t.send(`${p}nx`, ["SET", `${p}nx`, "c", "KEEPTTL"]))).toBe("OK");
      expect(await t.send(`${p}nx`, ["PEXPIRETIME", `${p}nx`])).toBe(at);
      expect(await t.send(`${p}nx`, ["GET", `${p}nx`])).toEqual(Buffer.from("c"));
      expect(await t.send(`${p}bin`, ["PEXPIRETIME", `${p}bin`])).toBe(-1);
      expect(await t.send(`${p}nx`, ["DEL", `${p}nx`])).toBe(1);
      expect(await t.send(`${p}nx`, ["DEL", `${p}nx`])).toBe(0);
    });

    it("send: EVALSHA of an unloaded script rejects with an Error starting NOSCRIPT; SCRIPT LOAD routed by the key, then EVALSHA and EVAL return the script's reply with binary arguments intact", async () => {
      const p = uniquePrefix();
      const key = `${p}script`;
      const source = `return {KEYS[1], ARGV[1], ${Date.now()}}`; // a script no server has yet
      const sha = createHash("sha1").update(source).digest("hex");
      const missing = await d.transport.send(key, ["EVALSHA", sha, "1", key, binary]).then(() => undefined, (e: unknown) => e);
      expect(missing).toBeInstanceOf(ReplyError);
      expect((missing as Error).message).toMatch(/^NOSCRIPT No matching script/);
      expect(text(await d.transport.send(key, ["SCRIPT", "LOAD", source]))).toBe(sha);
      const reply = (await d.transport.send(key, ["EVALSHA", sha, "1", key, binary])) as unknown[];
      expect(reply.slice(0, 2)).toEqual([Buffer.from(key), binary]);
      expect(typeof reply[2]).toBe("number");
      expect(((await d.transport.send(key, ["EVAL", source, "1", key, "x"])) as unknown[]).slice(0, 2)).toEqual([Buffer.from(key), Buffer.from("x")]);
    });

    it("send: reply errors reject with the server's own text (WRONGTYPE, ERR unknown command, a script's custom code), not GLIDE's rewording", async () => {
      const p = uniquePrefix();
      await d.transport.send(`${p}h`, ["HSET", `${p}h`, "f", "v"]);
      const error = (command: Command, key?: string): Promise<unknown> => d.transport.send(key, command).then(() => undefined, (e: unknown) => e);
      const wrongType = await error(["GET", `${p}h`], `${p}h`);
      expect(wrongType).toBeInstanceOf(ReplyError);
      expect((wrongType as Error).message).toBe("WRONGTYPE Operation against a key holding the wrong kind of value");
      expect(((await error(["NOSUCHCOMMAND", `${p}h`], `${p}h`)) as Error).message).toMatch(/^ERR unknown command 'NOSUCHCOMMAND'/);
      const custom = await error(["EVAL", "return redis.error_reply('PROTOCACHE_TEST some detail: with a colon')", "1", `${p}h`], `${p}h`);
      expect((custom as Error).message).toBe("PROTOCACHE_TEST some detail: with a colon");
    });

    it("send: without a key one server answers (COMMAND INFO is one reply, not a reply per node); map replies come back as flat [field, value, …] arrays of Buffers, on RESP3 (GLIDE's default) as on RESP2 (GLIDE's Cluster client may reorder the pairs)", async () => {
      const p = uniquePrefix();
      const info = (await d.transport.send(undefined, ["COMMAND", "INFO", "GET"])) as unknown[][];
      expect(info).toHaveLength(1);
      expect(info[0]?.[0]).toEqual(Buffer.from("get"));
      await d.transport.send(`${p}h`, ["HSET", `${p}h`, "a", "1", "b", binary]);
      const resp3 = await d.transport.send(`${p}h`, ["HGETALL", `${p}h`]);
      expect(pairs(resp3)).toEqual([[Buffer.from("a"), Buffer.from("1")], [Buffer.from("b"), binary]]);
      const resp2Client = await d.connect({ protocol: ProtocolVersion.RESP2 });
      try {
        const resp2 = await glideTransport(resp2Client).send(`${p}h`, ["HGETALL", `${p}h`]);
        expect(pairs(resp2)).toEqual(pairs(resp3));
      } finally {
        resp2Client.close();
      }
    });

    it("servers: lists the standalone server, or each of the 3 masters, with its host:port id", async () => {
      const links = await d.transport.servers();
      expect(links.map((l) => l.id).sort()).toEqual([...d.ids].sort());
    });

    it("batch: GETs grouped by serverOf go one batch per server, every reply in its place, a WRONGTYPE reply error among them as an Error", async () => {
      const p = uniquePrefix();
      const keys = Array.from({ length: 60 }, (_, i) => `${p}k${i}`);
      for (const [i, key] of keys.entries()) if (i % 3 !== 2) await d.transport.send(key, ["SET", key, Buffer.concat([binary, Buffer.from(String(i))])]);
      const hash = keys[7] as string;
      await d.transport.send(hash, ["DEL", hash]);
      await d.transport.send(hash, ["HSET", hash, "f", "v"]);
      const groups = groupByServer(d.transport, keys);
      if (cluster) expect([...groups.keys()].sort()).toEqual([...d.ids].sort());
      else expect(groups.size).toBe(1);
      for (const group of groups.values()) {
        const replies = await d.transport.batch(group, group.map((k) => ["GET", k]));
        expect(replies).toHaveLength(group.length);
        for (const [j, key] of group.entries()) {
          const i = keys.indexOf(key);
          if (key === hash) {
            expect(replies[j]).toBeInstanceOf(ReplyError);
            expect((replies[j] as Error).message).toMatch(/^WRONGTYPE /);
          } else expect(replies[j]).toEqual(i % 3 === 2 ? null : Buffer.concat([binary, Buffer.from(String(i))]));
        }
      }
    });

    if (cluster) {
      it("batch: keys of different masters in one batch (a stale grouping) still get each key's own reply; SCRIPT LOAD routed by a key reaches only that key's master", async () => {
        const p = uniquePrefix();
        const keys = Array.from({ length: 30 }, (_, i) => `${p}m${i}`);
        await d.transport.batch(keys, keys.map((k) => ["SET", k, k]));
        expect(new Set(keys.map((k) => d.transport.serverOf(k))).size).toBe(3);
        expect(await d.transport.batch(keys, keys.map((k) => ["GET", k]))).toEqual(keys.map((k) => Buffer.from(k)));

        const [here, elsewhere] = [keys[0] as string, keys.find((k) => d.transport.serverOf(k) !== d.transport.serverOf(keys[0] as string)) as string];
        const source = `return ${Date.now()}`;
        const sha = text(await d.transport.send(here, ["SCRIPT", "LOAD", source]));
        expect(typeof (await d.transport.send(here, ["EVALSHA", sha, "1", here]))).toBe("number");
        await expect(d.transport.send(elsewhere, ["EVALSHA", sha, "1", elsewhere])).rejects.toThrow(/^NOSCRIPT /);
      });
    }

    it("pipeline: per server, SCAN finds exactly the keys serverOf names it for, with INFO server (run_id), DBSIZE and EVALSHA of a key-less script in the same round trip, a NOSCRIPT reply in its place", async () => {
      const p = uniquePrefix();
      const keys = Array.from({ length: 40 }, (_, i) => `${p}s${i}`);
      for (const key of keys) await d.transport.send(key, ["SET", key, "v"]);
      const source = `return #ARGV + ${Date.now()}`;
      const links = await d.transport.servers();
      const found: string[] = [];
      for (const link of links) {
        const sha = text((await link.pipeline([["SCRIPT", "LOAD", source]]))[0]);
        const [info, size, ran, missing] = await link.pipeline([["INFO", "server"], ["DBSIZE"], ["EVALSHA", sha, "0", "a", "b"], ["EVALSHA", "f".repeat(40), "0"]]);
        expect(text(info)).toMatch(/run_id:[0-9a-f]{40}/);
        expect(typeof size).toBe("number");
        expect(ran).toBeGreaterThan(2);
        expect(missing).toBeInstanceOf(ReplyError);
        expect((missing as Error).message).toMatch(/^NOSCRIPT /);
        const mine = await scanAll(link, p);
        expect(size as number).toBeGreaterThanOrEqual(mine.length);
        if (cluster) for (const key of mine) expect(d.transport.serverOf(key)).toBe(link.id);
        found.push(...mine);
      }
      expect(found.sort()).toEqual([...keys].sort());
      expect(await links[0]?.pipeline([])).toEqual([]);
    });

    it("a closed client: send, batch, a server's pipeline and servers() reject with GLIDE's ClosingError", async () => {
      const client = await d.connect();
      const transport = glideTransport(client);
      const [link] = await transport.servers();
      client.close();
      const attempts = [() => transport.send("k", ["GET", "k"]), () => transport.batch(["k"], [["GET", "k"]]), () => link?.pipeline([["DBSIZE"]]), () => transport.servers()];
      for (const attempt of attempts) await expect(attempt()).rejects.toMatchObject({ name: "ClosingError" });
    });
  });
}

defineTransportSpec("valkey-glide transport, Redis 7 standalone", false, () => deploymentOn([Number(new URL(inject("redisUrl")).port)], false));
defineTransportSpec("valkey-glide transport, Redis 7 Cluster (3 masters)", true, () => deploymentOn(clusterNodes().map((n) => n.port), true));

describe.skipIf("reason" in valkey && !requireValkey)(`valkey-glide transport, Valkey ${"version" in valkey ? valkey.version : "(none)"} (Debian 13)`, () => {
  let server: RedisProcess | undefined;
  let cluster: RedisClusterProcess | undefined;
  const start = async (): Promise<{ server: NonNullable<typeof server>; cluster: NonNullable<typeof cluster> }> => {
    if ("reason" in valkey) throw new Error(`PROTOCACHE_REQUIRE_VALKEY=1 but no Valkey server: ${valkey.reason}`);
    server ??= await startRedis([], { server: valkey.server });
    cluster ??= await startRedisCluster(3, [], { server: valkey.server });
    return { server, cluster };
  };
  afterAll(async () => void (await Promise.all([server?.stop(), cluster?.stop()])));

  it("is a Valkey server (INFO server says server_name:valkey) on both deployments", async () => {
    const started = await start();
    for (const port of [started.server.port, ...started.cluster.nodes.map((n) => n.port)]) {
      const client = await GlideClient.createClient({ addresses: [{ host: "127.0.0.1", port }] });
      try {
        const [info] = await glideTransport(client).batch(["k"], [["INFO", "server"]]);
        expect(text(info)).toMatch(/server_name:valkey/);
      } finally {
        client.close();
      }
    }
  });
  defineTransportSpec("standalone", false, async () => deploymentOn([(await start()).server.port], false));
  defineTransportSpec("Cluster (3 masters)", true, async () => deploymentOn((await start()).cluster.nodes.map((n) => n.port), true));
});

describe("valkey-glide transport on a lost connection (a Redis 7 server of its own)", () => {
  it("send and a pipeline reject with GLIDE's TimeoutError once requestTimeout passes while the server is down (no reply errors in place), and the client reconnects by itself once it is back", async () => {
    const first = await startRedis();
    const client = await GlideClient.createClient({ addresses: [{ host: "127.0.0.1", port: first.port }], requestTimeout: 500 });
    try {
      const transport = glideTransport(client);
      const [link] = await transport.servers();
      expect(link?.id).toBe(`127.0.0.1:${first.port}`);
      await first.stop();
      const started = Date.now();
      await expect(transport.send("k", ["GET", "k"])).rejects.toMatchObject({ name: "TimeoutError" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      await expect(link?.pipeline([["GET", "k"], ["DBSIZE"]])).rejects.toMatchObject({ name: "TimeoutError" });
      const again = await startRedis([], { port: first.port });
      try {
        let reply: unknown;
        for (let i = 0; i < 50 && reply === undefined; i++) reply = await transport.send("k", ["DBSIZE"]).catch(() => new Promise((r) => setTimeout(() => r(undefined), 100)));
        expect(reply).toBe(0);
      } finally {
        await again.stop();
      }
    } finally {
      client.close();
    }
  });
});
