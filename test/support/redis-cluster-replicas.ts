import { execFile, spawnSync } from "node:child_process";
import { startRedis, type RedisProcess } from "./redis-server.js";

/** A real Redis Cluster of `masters` masters with one replica each, on free ports (what a failover test needs). */
export interface ReplicatedCluster {
  readonly nodes: readonly RedisProcess[];
  /** The node on `port`. */
  node(port: number): RedisProcess;
  /** The cluster's view now, asked of a node that answers: ports of the masters (holding slots) and each one's replica. */
  topology(): Promise<Topology>;
  /** Waits until every node that answers (a stopped one does not) says the cluster is ok, all with the same `masters` masters holding slots. */
  waitForMasters(masters: number, timeoutMs?: number): Promise<Topology>;
  stop(): Promise<void>;
}

export interface Topology {
  /** Ports of the masters that hold slots. */
  readonly masters: readonly number[];
  /** Master port → the port of its replica (for the masters that have a connected one). */
  readonly replicaOf: ReadonlyMap<number, number>;
}

/**
 * One redis-cli command to the node on `port`: its output, or "" when it
 * failed. Asynchronous: a test's process keeps answering its tracking
 * heartbeats meanwhile (a blocked event loop would miss them).
 */
export function cli(port: number, ...args: string[]): Promise<string> {
  return cliWithin(10_000, port, args);
}

function cliWithin(timeoutMs: number, port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile("redis-cli", ["-p", String(port), ...args], { encoding: "utf8", timeout: timeoutMs }, (error, stdout) => resolve(error === null ? stdout : ""));
  });
}

/** Parses CLUSTER NODES: masters with slots, and their replicas (by node id). */
function parseNodes(text: string): Topology | undefined {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length === 0) return undefined;
  const byId = new Map<string, { port: number; master: boolean; failed: boolean; of: string; slots: boolean }>();
  for (const line of lines) {
    const [id = "", address = "", flags = "", of = "", , , , link = "", ...slots] = line.split(" ");
    const port = Number(/:(\d+)@/.exec(address)?.[1] ?? "0");
    const failed = flags.includes("fail") || link !== "connected";
    byId.set(id, { port, master: flags.includes("master"), failed, of, slots: slots.length > 0 });
  }
  const masters: number[] = [];
  const replicaOf = new Map<number, number>();
  for (const n of byId.values()) {
    if (n.master && n.slots && !n.failed) masters.push(n.port);
    if (!n.master && !n.failed) {
      const master = byId.get(n.of);
      if (master !== undefined) replicaOf.set(master.port, n.port);
    }
  }
  return { masters: masters.sort((a, b) => a - b), replicaOf };
}

/**
 * Starts `2 × masters` cluster-enabled servers and joins them with
 * `redis-cli --cluster create --cluster-replicas 1`; resolves once the
 * cluster is ok and every replica is in sync with its master.
 * `--cluster-node-timeout` is 1000 ms (a killed master is failed over in
 * about two seconds) and `--repl-diskless-sync-delay` 0 (a replica syncs at
 * once instead of after 5 s), unless `extraArgs` sets them.
 */
export async function startReplicatedCluster(masters = 3, extraArgs: readonly string[] = []): Promise<ReplicatedCluster> {
  const nodes: RedisProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const n of nodes) n.process.kill("SIGCONT");
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const alive = (): RedisProcess[] => nodes.filter((n) => n.process.exitCode === null && n.process.signalCode === null);
  // The first node to answer (a stopped one never does).
  const topology = (): Promise<Topology> =>
    Promise.any(
      alive().map(async (n) => {
        const parsed = parseNodes(await cliWithin(500, n.port, ["cluster", "nodes"]));
        if (parsed === undefined) throw new Error(`${n.port} gave no CLUSTER NODES`);
        return parsed;
      }),
    ).catch(() => Promise.reject(new Error("no cluster node answers CLUSTER NODES")));
  const waitForMasters = async (count: number, timeoutMs = 60_000): Promise<Topology> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Nodes that answer (a stopped one does not): all ok, all of the same view.
      const answers = await Promise.all(
        alive().map(async (n) => ({ info: await cliWithin(500, n.port, ["cluster", "info"]), view: parseNodes(await cliWithin(500, n.port, ["cluster", "nodes"])) })),
      );
      const up = answers.filter((a) => a.info !== "" && a.view !== undefined);
      const ok = up.length > 0 && up.every((a) => a.info.includes("cluster_state:ok"));
      const first = up[0]?.view;
      const agreed = first !== undefined && up.every((a) => a.view?.masters.join() === first.masters.join());
      if (ok && agreed && first.masters.length === count) return first;
      if (Date.now() > deadline) throw new Error(`the cluster did not settle on ${count} masters within ${timeoutMs} ms: ${JSON.stringify(first?.masters)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  try {
    // One after the other: freePort() only promises a port that was free a moment ago.
    for (let i = 0; i < masters * 2; i++) {
      nodes.push(await startRedis(["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${i}.conf`, "--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0", ...extraArgs]));
    }
    const create = spawnSync("redis-cli", ["--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes"], { encoding: "utf8" });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    await waitForMasters(masters);
    // Every replica attached and in sync: a failover has a replica to promote.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const t = await topology();
      const links = await Promise.all(
        t.masters.map(async (m) => {
          const replica = t.replicaOf.get(m);
          return replica !== undefined && (await cli(replica, "info", "replication")).includes("master_link_status:up");
        }),
      );
      if (links.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error("the replicas did not sync with their masters within 60 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    node: (port) => {
      const found = nodes.find((n) => n.port === port);
      if (found === undefined) throw new Error(`no cluster node on port ${port}`);
      return found;
    },
    topology,
    waitForMasters,
    stop,
  };
}
