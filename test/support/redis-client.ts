import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { inject } from "vitest";

/** A client of the run's Redis (started by the global setup, or REDIS_URL). */
export function connectRedis(): Redis {
  return new Redis(inject("redisUrl"), { maxRetriesPerRequest: 1 });
}

/** A key prefix no other test uses, so tests can share one server. */
export function uniquePrefix(): string {
  return `t${randomUUID().slice(0, 8)}:`;
}
