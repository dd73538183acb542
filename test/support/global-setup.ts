import type { TestProject } from "vitest/node";
import { debugCommandArgs, hasRedisServer, missingRedisHelp, startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from "./redis-server.js";
import { valkeyServer } from "./valkey.js";

let server: RedisProcess | undefined;
let cluster: RedisClusterProcess | undefined;
let valkey: RedisProcess | undefined;
let valkeyCluster: RedisClusterProcess | undefined;

/**
 * Starts one standalone redis-server and one 3-master Redis Cluster for the
 * whole run (tests isolate themselves by key prefix), unless REDIS_URL and
 * REDIS_CLUSTER_NODES (`host:port,...`) point at existing ones; and the same
 * pair of Valkey servers (Debian 13's, test/support/valkey.ts) for the
 * Valkey backends of the specs. Without a Valkey server those backends are
 * skipped with the reason, unless PROTOCACHE_REQUIRE_VALKEY=1 (`.ci/run`).
 */
export async function setup(project: TestProject): Promise<void> {
  const externalUrl = process.env["REDIS_URL"] || undefined;
  const externalNodes = process.env["REDIS_CLUSTER_NODES"] || undefined;
  if ((externalUrl === undefined || externalNodes === undefined) && !hasRedisServer()) {
    const error = new Error(missingRedisHelp);
    error.stack = missingRedisHelp;
    throw error;
  }
  const [standalone, nodes] = await Promise.all([
    externalUrl ?? startRedis(debugCommandArgs()).then((s) => (server = s).url),
    externalNodes ?? startRedisCluster(3, debugCommandArgs()).then((c) => (cluster = c).nodes.map((n) => `127.0.0.1:${n.port}`).join(",")),
  ]);
  project.provide("redisUrl", standalone);
  project.provide("redisClusterNodes", nodes);
  const found = valkeyServer();
  if ("reason" in found) {
    if (process.env["PROTOCACHE_REQUIRE_VALKEY"] === "1") throw new Error(`PROTOCACHE_REQUIRE_VALKEY=1 but no Valkey server: ${found.reason}`);
    project.provide("valkey", { reason: found.reason });
    return;
  }
  const debug = debugCommandArgs(found.server);
  const [v, vc] = await Promise.all([startRedis(debug, { server: found.server }), startRedisCluster(3, debug, { server: found.server })]);
  valkey = v;
  valkeyCluster = vc;
  project.provide("valkey", { version: found.version, url: v.url, clusterNodes: vc.nodes.map((n) => `127.0.0.1:${n.port}`).join(",") });
}

export async function teardown(): Promise<void> {
  await Promise.all([server?.stop(), cluster?.stop(), valkey?.stop(), valkeyCluster?.stop()]);
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** Cluster seed nodes, `host:port,host:port,...`. */
    redisClusterNodes: string;
    /** The run's Valkey servers (standalone URL, cluster seeds), or why there are none. */
    valkey: { version: string; url: string; clusterNodes: string } | { reason: string };
  }
}
