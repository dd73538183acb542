import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One line telling how to get Redis when the tests cannot start it. */
export const missingRedisHelp =
  "redis-server not found on PATH: install it (apt-get install -y redis-server) or set REDIS_URL to an existing server";

/** A redis-server process started for the tests. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** True when `redis-server` can be run. */
export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

/**
 * `--enable-debug-command local` where the server knows it (Redis 7+, every
 * Valkey): lets a test turn off active expiry (`DEBUG SET-ACTIVE-EXPIRE 0`),
 * so that an expired key stays in memory, unannounced, until it is touched.
 */
export function debugCommandArgs(server?: ServerCommand): string[] {
  const run = spawnSync(server?.command ?? "redis-server", [...(server?.args ?? []), "--version"], { encoding: "utf8" });
  const major = Number(/ v=(\d+)\./.exec(run.stdout ?? "")?.[1] ?? 0);
  return major >= 7 ? ["--enable-debug-command", "local"] : [];
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** Resolves once something answers PING on the port (or rejects after `timeoutMs`, or as soon as `gone()` says the server exited). */
export async function waitForPing(port: number, timeoutMs = 60_000, gone: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gone()) throw new PortLostError(port);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(500);
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, "127.0.0.1", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        // A server with requirepass answers NOAUTH: it is up all the same.
        resolve(data.toString().startsWith("+PONG") || data.toString().startsWith("-NOAUTH"));
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The server exited before it answered: its port was taken between freePort() and its start (another test's server, say). */
class PortLostError extends Error {
  constructor(port: number) {
    super(`redis-server on port ${port} exited before it answered PING (the port was taken meanwhile?)`);
  }
}

/** How to start a redis-server other than the one on the PATH (e.g. a newer one from test/support/redis8.ts). */
export interface ServerCommand {
  readonly command: string;
  /** Arguments before the server's own. */
  readonly args: readonly string[];
}

/** Starts a throwaway redis-server (no persistence) on a free port, or on `options.port` (a restart). */
export async function startRedis(extraArgs: readonly string[] = [], options: { port?: number; server?: ServerCommand } = {}): Promise<RedisProcess> {
  if (options.server === undefined && !hasRedisServer()) throw new Error(missingRedisHelp);
  // A free port can be taken by another process before the server binds it: then it exits at once, and a new port is tried.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(options.port ?? (await freePort()), extraArgs, options.server);
    } catch (error) {
      if (!(error instanceof PortLostError) || options.port !== undefined || attempt >= 5) throw error;
    }
  }
}

async function startOn(port: number, extraArgs: readonly string[], server: ServerCommand | undefined): Promise<RedisProcess> {
  const dir = mkdtempSync(join(tmpdir(), "protocache-redis-"));
  const child = spawn(
    server?.command ?? "redis-server",
    [...(server?.args ?? []), "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--protected-mode", "no", ...extraArgs],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let exited = false;
  child.once("exit", () => (exited = true));
  try {
    await waitForPing(port, 60_000, () => exited);
    // A PONG from a server that is not ours (it took the port first): ours has exited by now, or will.
    await new Promise((r) => setTimeout(r, 20));
    if (exited) throw new PortLostError(port);
  } catch (error) {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      if (!exited) {
        const done = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A real Redis Cluster of `masters` nodes (no replicas) on free ports. */
export interface RedisClusterProcess {
  readonly nodes: readonly RedisProcess[];
  stop(): Promise<void>;
}

/** Starts `masters` cluster-enabled servers (`options.server`, or redis-server from the PATH) and joins them with `redis-cli --cluster create`. */
export async function startRedisCluster(masters = 3, extraArgs: readonly string[] = [], options: { server?: ServerCommand } = {}): Promise<RedisClusterProcess> {
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      const args = ["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${i}.conf`, "--cluster-node-timeout", "2000", ...extraArgs];
      nodes.push(await startRedis(args, options.server === undefined ? {} : { server: options.server }));
    }
    const create = spawnSync(
      "redis-cli",
      ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "0", "--cluster-yes"],
      { encoding: "utf8" },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    await waitForClusterOk(nodes.map((n) => n.port));
  } catch (error) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw error;
  }
  return { nodes, stop: async () => void (await Promise.all(nodes.map((n) => n.stop()))) };
}

async function waitForClusterOk(ports: readonly number[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = ports.every((p) => {
      const info = spawnSync("redis-cli", ["-p", String(p), "cluster", "info"], { encoding: "utf8" });
      return info.stdout.includes("cluster_state:ok");
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error("Redis Cluster did not reach cluster_state:ok");
    await new Promise((r) => setTimeout(r, 100));
  }
}
