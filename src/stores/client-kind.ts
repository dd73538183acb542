import { describeValue } from "../describe-value.js";

function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return typeof value === "object" && value !== null && methods.every((m) => typeof (value as Record<string, unknown>)[m] === "function");
}

/** True for an ioredis `Redis` or `Cluster` (what `RedisStore` wraps). */
export function isIoredisClient(client: unknown): boolean {
  return hasMethods(client, ["getBuffer", "mgetBuffer", "pipeline", "evalsha"]);
}

/** True for a node-redis client or cluster (what `NodeRedisStore` wraps). */
export function isNodeRedisClient(client: unknown): boolean {
  return hasMethods(client, ["sendCommand", "withTypeMapping"]);
}

/** What a store constructor was given, for its ConfigError: the usual mix-ups are named with their fix. */
export function describeClient(client: unknown): string {
  if (isIoredisClient(client)) return "an ioredis client: use new RedisStore(client)";
  if (isNodeRedisClient(client)) return "a node-redis client: use new NodeRedisStore(client)";
  if (hasMethods(client, ["getMany", "replaceIfEqual"])) return "a protocache store: pass the Redis client itself";
  return describeValue(client);
}
