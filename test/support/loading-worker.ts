/**
 * One "instance" for the cross-process loading tests: `node --import tsx
 * loading-worker.ts <redis url> <prefix> <id> <callers> <loaderMs> [leaseTtlMs]`
 * runs `callers` concurrent getOrSet of one key through its own client and
 * accessor (its lease expiring after `leaseTtlMs`, default 1000). The loader counts its calls in Redis (`{prefix}loader-calls`)
 * and, with loaderMs < 0, never finishes (a holder about to be killed).
 * Prints one JSON line: the values' names and the accessor's load counters.
 */
import { Redis } from "ioredis";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";

const [url = "", prefix = "", id = "", callers = "1", loaderMs = "0", leaseTtlMs = "1000"] = process.argv.slice(2);
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const users = userCache(new RedisStore(redis), { prefix, deadlineMs: 5000, loading: { lease: { ttlMs: Number(leaseTtlMs), waitMs: 30_000 } } });
const load = async (fields: { id: string }): Promise<User> => {
  await redis.incr(`${prefix}loader-calls`);
  const ms = Number(loaderMs);
  if (ms < 0) {
    process.stdout.write(`${JSON.stringify({ loading: true })}\n`);
    await new Promise<never>(() => {});
  }
  await new Promise((r) => setTimeout(r, ms));
  return { id: fields.id, name: `loaded by ${process.pid}`, email: "", fullName: "", verified: false, locale: "" };
};
const got = await Promise.all(Array.from({ length: Number(callers) }, () => users.getOrSet({ id }, load)));
process.stdout.write(`${JSON.stringify({ names: [...new Set(got.map((u) => u?.name))], loads: users.stats().loads })}\n`);
await users.close();
redis.disconnect();
