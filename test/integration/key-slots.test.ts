import calculateSlot from "cluster-key-slot";
import fc from "fast-check";
import type { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import { ConfigError, KeyError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { connectIoredisCluster } from "../support/backends.js";
import { uniquePrefix } from "../support/redis-client.js";
// node-redis routes with its own (patched) copy of cluster-key-slot.
import slotModule from "@redis/client/dist/lib/utils/calculate-slot.js";

type SlotOf = (key: string) => number;
const nodeRedisSlot: SlotOf = (slotModule as unknown as { default?: SlotOf }).default ?? (slotModule as unknown as SlotOf);

/**
 * Key space against the real cluster (issue 8.3): for random Unicode key
 * inputs, lone surrogates included, every key an accessor accepts hashes to
 * the slot the server computes, for the slot function of each client; and
 * no two different inputs map to one key (test/unit/keys.test.ts proves
 * that part exhaustively without a server).
 */
let cluster: Cluster;
beforeAll(async () => {
  cluster = await connectIoredisCluster();
});
afterAll(() => cluster.quit());

const unit = fc.oneof(
  fc.constantFrom("a", ":", "%", "{", "}", "{}", "*", "\uFFFD", "\uD800", "\uDC00", "\uD83D\uDE00", "é", "€", "\u0000"),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
);
const text = fc.array(unit, { minLength: 1, maxLength: 8 }).map((u) => u.join(""));
const input = fc.record({
  tenantId: text,
  sessionId: text,
  prefix: fc.constantFrom("", "app:", "é:2:", "\uD83D\uDE00:"),
  variant: fc.option(text, { nil: undefined }),
});

describe("slots of accepted keys agree with CLUSTER KEYSLOT", () => {
  it("for random Unicode inputs, lone surrogates included, with both clients' slot functions", async () => {
    const store = new MemoryStore();
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(input, { minLength: 40, maxLength: 40 }), async (inputs) => {
        const keys: string[] = [];
        for (const { tenantId, sessionId, prefix, variant } of inputs) {
          try {
            keys.push(sessionCache(store, { prefix, ...(variant === undefined ? {} : { variant }) }).keyOf({ tenantId, sessionId }));
            accepted++;
          } catch (error) {
            expect(error instanceof KeyError || error instanceof ConfigError).toBe(true);
            rejected++;
          }
        }
        const pipeline = cluster.nodes("master")[0]?.pipeline();
        for (const key of keys) pipeline?.call("CLUSTER", "KEYSLOT", Buffer.from(key, "utf8"));
        const replies = (await pipeline?.exec()) ?? [];
        keys.forEach((key, i) => {
          const server = replies[i]?.[1];
          expect(calculateSlot(key), key).toBe(server);
          expect(nodeRedisSlot(key), key).toBe(server);
        });
      }),
      { numRuns: 25 },
    );
    expect(accepted).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(10);
  });
});

describe("a bad id in a Cluster batch", () => {
  it("is a KeyError before any I/O, and never makes well-formed keys of the batch fail", async () => {
    const prefix = uniquePrefix();
    const users = userCache(new RedisStore(cluster), { prefix, deadlineMs: 5_000 });
    const ids = Array.from({ length: 30 }, (_, i) => `ok-${i}-\uD83D\uDE00`);
    const values = ids.map((id) => ({ id, name: id, email: "", fullName: "", verified: false, locale: "" }));
    expect(await users.setMany(values)).toEqual(ids.map(() => "written"));
    await expect(users.getMany([...ids.map((id) => ({ id })), { id: "a\uD800" }])).rejects.toThrow(KeyError);
    expect(await users.getMany(ids.map((id) => ({ id })))).toEqual(values);
    expect(users.stats().reads.error).toBe(0);
  });
});

describe("ioredis's own keyPrefix option", () => {
  it("batches keys by the slot of keyPrefix + key, as ioredis sends them", async () => {
    const prefixed = await connectIoredisCluster({ keyPrefix: uniquePrefix(), redisOptions: { maxRetriesPerRequest: 1 } });
    try {
      const users = userCache(new RedisStore(prefixed), { deadlineMs: 5_000 });
      const values = Array.from({ length: 20 }, (_, i) => ({ id: `p${i}`, name: "", email: "", fullName: "", verified: false, locale: "" }));
      expect(await users.setMany(values)).toEqual(values.map(() => "written"));
      expect(await users.getMany(values.map((u) => ({ id: u.id })))).toEqual(values);
      expect(users.stats().reads.error).toBe(0);
    } finally {
      await prefixed.quit();
    }
  });
});
