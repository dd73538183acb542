import fc from "fast-check";
import type { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userCache } from "../../generated/acme/user/v1/user.cache.js";
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import { accessorInternals, type WithInternals } from "../../src/accessor/internals.js";
import { tagKeyOf } from "../../src/invalidation/tag-keys.js";
import { RedisStore } from "../../src/stores/ioredis/ioredis-store.js";
import { connectIoredisCluster } from "../support/backends.js";
import { heardAll, l1, listen, user, type Heard } from "../support/l1-harness.js";
import { connectRedis, uniquePrefix } from "../support/redis-client.js";

/**
 * The promise of tags across instances, over random sequences of writes,
 * invalidations and reads by two instances (each its own connection, its
 * own tracking, an L1 and the invalidation option), on a real Redis and a
 * real Cluster: a read that starts after `invalidateTags` returned, and
 * after its instance heard the invalidation, never gets a value written
 * before it with that tag; and a read gets the newest write otherwise.
 * Every step waits for the invalidations it caused to reach both instances
 * (never for a time), so each read's right answer is known.
 */

type Users = EntityCache<ReturnType<typeof user>, { id: string }>;
const ids = ["a", "b", "c"];
const tags = ["t1", "t2"];

type Op =
  | { readonly kind: "set"; readonly by: 0 | 1; readonly id: string; readonly tags: readonly string[] }
  | { readonly kind: "invalidate"; readonly by: 0 | 1; readonly tag: string }
  | { readonly kind: "read"; readonly by: 0 | 1; readonly id: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), by: fc.constantFrom(0 as const, 1 as const), id: fc.constantFrom(...ids), tags: fc.subarray(tags) }),
  fc.record({ kind: fc.constant("invalidate" as const), by: fc.constantFrom(0 as const, 1 as const), tag: fc.constantFrom(...tags) }),
  fc.record({ kind: fc.constant("read" as const), by: fc.constantFrom(0 as const, 1 as const), id: fc.constantFrom(...ids) }),
);

/** A millisecond later than now: a write after an invalidation must not share its millisecond (that one counts as before it). */
async function nextMillisecond(): Promise<void> {
  const now = Date.now();
  while (Date.now() <= now) await new Promise((r) => setTimeout(r, 1));
}

for (const topology of ["standalone", "cluster"] as const) {
  describe(`tags across two instances (ioredis ${topology})`, () => {
    const clients: (Redis | Cluster)[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 2; i++) clients.push(topology === "cluster" ? await connectIoredisCluster() : connectRedis());
    });
    afterAll(() => clients.forEach((c) => c.disconnect()));

    it("no read after an invalidation it heard returns a value written before it with that tag; otherwise reads return the newest write", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
          const prefix = uniquePrefix();
          const stores = clients.map((c) => new RedisStore(c));
          const heard: Heard[] = stores.map((s) => listen(s.tracking(), prefix));
          const instances: Users[] = stores.map((s) => userCache(s, { prefix, deadlineMs: 5_000, l1: { ...l1, tracking: s.tracking() }, invalidation: true }));
          try {
            for (const cache of instances) {
              const internals = (cache as unknown as WithInternals<never, never>)[accessorInternals]();
              expect(await internals.l1?.ready(10_000)).toBe(true);
              expect(await internals.invalidationReady(10_000)).toBe(true);
            }
            /** The model: per key, the newest write's name and tags, and whether an invalidation since retired it. */
            const newest = new Map<string, { name: string; tags: readonly string[]; retired: boolean }>();
            let n = 0;
            for (const op of ops) {
              const cache = instances[op.by] as Users;
              if (op.kind === "set") {
                const name = `w${++n}`;
                await cache.set(user(op.id, name), op.tags.length > 0 ? { tags: op.tags } : undefined);
                newest.set(op.id, { name, tags: op.tags, retired: false });
                for (const h of heard) await heardAll(h, [cache.keyOf({ id: op.id })]);
              } else if (op.kind === "invalidate") {
                await cache.invalidateTags([op.tag]);
                for (const entry of newest.values()) if (entry.tags.includes(op.tag)) entry.retired = true;
                for (const h of heard) await heardAll(h, [tagKeyOf(prefix, op.tag)]);
                await nextMillisecond();
              } else {
                const got = await cache.get({ id: op.id });
                const want = newest.get(op.id);
                expect(got?.name, `${op.kind} ${op.id} by ${op.by} after ${JSON.stringify(ops)}`).toBe(want === undefined || want.retired ? undefined : want.name);
              }
            }
          } finally {
            heard.forEach((h) => h.close());
            await Promise.all(instances.map((c) => c.close()));
          }
        }),
        { numRuns: 15 },
      );
    });
  });
}
