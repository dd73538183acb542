import type { TestProject } from "vitest/node";
import { hasRedisServer, missingRedisHelp, startRedis, type RedisProcess } from "./redis-server.js";

let server: RedisProcess | undefined;

/**
 * Starts one standalone redis-server for the whole run (tests isolate
 * themselves by key prefix), unless REDIS_URL points at an existing one.
 */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env["REDIS_URL"];
  if (external !== undefined && external !== "") {
    project.provide("redisUrl", external);
    return;
  }
  if (!hasRedisServer()) {
    const error = new Error(missingRedisHelp);
    error.stack = missingRedisHelp;
    throw error;
  }
  server = await startRedis();
  project.provide("redisUrl", server.url);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
