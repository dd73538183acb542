import type { TestProject } from "vitest/node";
import { hasRedisServer, missingRedisHelp, startRedis, startRedisCluster, type RedisClusterProcess, type RedisProcess } from "./redis-server.js";

let server: RedisProcess | undefined;
let cluster: RedisClusterProcess | undefined;

/**
 * Starts one standalone redis-server and one 3-master Redis Cluster for the
 * whole run (tests isolate themselves by key prefix), unless REDIS_URL and
 * REDIS_CLUSTER_NODES (`host:port,...`) point at existing ones.
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
    externalUrl ?? startRedis().then((s) => (server = s).url),
    externalNodes ?? startRedisCluster(3).then((c) => (cluster = c).nodes.map((n) => `127.0.0.1:${n.port}`).join(",")),
  ]);
  project.provide("redisUrl", standalone);
  project.provide("redisClusterNodes", nodes);
}

export async function teardown(): Promise<void> {
  await Promise.all([server?.stop(), cluster?.stop()]);
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
    /** Cluster seed nodes, `host:port,host:port,...`. */
    redisClusterNodes: string;
  }
}
