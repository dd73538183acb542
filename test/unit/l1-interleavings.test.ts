import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { Reader } from "../../src/codec/reader.js";
import { readHeader } from "../../src/envelope/header.js";
import type { FlushReason, InvalidationListener, InvalidationSource, InvalidationWatch } from "../../src/l1/invalidation-source.js";
import type { CacheStore, SetOutcome, StoreWrite, TimedValue } from "../../src/stores/store.js";
import { envelopeOf, user } from "../support/l1-harness.js";

/**
 * docs/l1.md's freshness promise under every interleaving fast-check's
 * scheduler picks: no read returns a value older than the newest write
 * its process knew of when the read started. A process knows of a write
 * once Redis's invalidation of it was delivered, once its own `set` of it
 * resolved, or once tracking was lost after it (a flush: the reads that
 * follow go to Redis). Every store command runs at one scheduled step and
 * its reply arrives at a later one; each invalidation is delivered at a
 * step of its own, or lost while tracking is down.
 */

/** An invalidation source whose deliveries and liveness the test drives. */
class Tracking implements InvalidationSource {
  readonly description = "scheduled";
  live = true;
  private readonly listeners = new Set<InvalidationListener>();
  watch(_prefix: string, listener: InvalidationListener): InvalidationWatch {
    this.listeners.add(listener);
    const self = this;
    return {
      get live() {
        return self.live;
      },
      ready: async () => self.live,
      close: () => void this.listeners.delete(listener),
    };
  }
  invalidate(key: string): void {
    for (const l of this.listeners) l.invalidate([key]);
  }
  flush(reason: FlushReason): void {
    for (const l of this.listeners) l.flush(reason);
  }
}

/**
 * The shared Redis of the model: every command a scheduled step, its reply
 * another; every write's invalidation a third (lost while tracking is
 * down). Each value is named by its write (`w7`); "newer" is the order in
 * which "Redis" ran the writes, told by `order`.
 */
class World {
  readonly values = new Map<string, { bytes: Buffer; order: number }>();
  /** The order in which "Redis" ran each write, by the value's name. */
  private readonly orders = new Map<string, number>();
  /** Newest write (by order) of each key the reading process knows of. */
  readonly known = new Map<string, number>();
  readonly tracking = new Tracking();
  private ran = 0;
  private named = 0;

  constructor(private readonly s: fc.Scheduler) {}

  step(label: string): Promise<void> {
    return this.s.schedule(Promise.resolve(), label);
  }

  /** A name for a new write. */
  name(): string {
    return `w${++this.named}`;
  }

  /** Where "Redis" ran the write that stored `value`, 0 for no value. */
  orderOf(value: User | undefined): number {
    return value === undefined ? 0 : (this.orders.get(value.name) ?? -1);
  }

  /** "Redis" runs a write of `bytes` (a User named `name`) at `key`; its invalidation follows at a step of its own. */
  private run(key: string, name: string, bytes: Buffer): void {
    const order = ++this.ran;
    this.orders.set(name, order);
    this.values.set(key, { bytes, order });
    void this.step(`invalidate ${key} ${name}`).then(() => {
      if (!this.tracking.live) return; // lost with the connection: the flush stands for it
      this.know(key, order);
      this.tracking.invalidate(key);
    });
  }

  /** Another process writes `id`'s key: "Redis" runs it at once. */
  writeByOther(key: string, id: string): void {
    const name = this.name();
    this.run(key, name, envelopeOf(user(id, name)));
  }

  /** The reader's own `set` of the value named `name` resolved. */
  setResolved(key: string, name: string): void {
    this.know(key, this.orders.get(name) ?? 0);
  }

  private know(key: string, order: number): void {
    if ((this.known.get(key) ?? 0) < order) this.known.set(key, order);
  }

  /** Tracking lost: the L1 flushes; every write "Redis" ran so far is known (the reads that follow go to Redis). */
  disconnect(): void {
    this.tracking.live = false;
    for (const [key, { order }] of this.values) this.know(key, order);
    this.tracking.flush("disconnected");
  }

  reconnect(): void {
    for (const [key, { order }] of this.values) this.know(key, order);
    this.tracking.live = true;
  }

  /** The store the reading process's accessor uses. */
  store(): CacheStore {
    const read = (key: string): TimedValue | null => {
      const found = this.values.get(key);
      return found === undefined ? null : { value: Buffer.from(found.bytes), ttlMs: undefined };
    };
    const later = async <R>(label: string, run: () => R): Promise<R> => {
      await this.step(`run ${label}`);
      const result = run();
      await this.step(`reply ${label}`);
      return result;
    };
    const unused = (): never => {
      throw new Error("not used by this model");
    };
    return {
      get: (key) => later(`GET ${key}`, () => read(key)?.value ?? null),
      getMany: (keys) => later(`MGET ${keys.join(" ")}`, () => keys.map((k) => read(k)?.value ?? null)),
      getWithTtl: (key) => later(`GET+PTTL ${key}`, () => read(key)),
      getManyWithTtl: (keys) => later(`MGET+PTTL ${keys.join(" ")}`, () => keys.map(read)),
      set: (w: StoreWrite): Promise<SetOutcome> =>
        later(`SET ${w.key}`, () => {
          this.run(w.key, decoded(w.value).name, Buffer.from(w.value));
          return "written" as const;
        }),
      setMany: unused,
      delete: unused,
      replaceIfEqual: unused,
      deleteIfEqual: unused,
      getWithExpiry: unused,
      createIfAbsent: unused,
    };
  }
}

const ids = ["a", "b"] as const;
type Op =
  | { readonly kind: "get"; readonly id: (typeof ids)[number] }
  | { readonly kind: "getMany" }
  | { readonly kind: "other-write"; readonly id: (typeof ids)[number] }
  | { readonly kind: "own-set"; readonly id: (typeof ids)[number] }
  | { readonly kind: "lose-tracking" };

const id = fc.constantFrom(...ids);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: id.map((i) => ({ kind: "get" as const, id: i })) },
  { weight: 1, arbitrary: fc.constant({ kind: "getMany" as const }) },
  { weight: 2, arbitrary: id.map((i) => ({ kind: "other-write" as const, id: i })) },
  { weight: 2, arbitrary: id.map((i) => ({ kind: "own-set" as const, id: i })) },
  { weight: 1, arbitrary: fc.constant({ kind: "lose-tracking" as const }) },
);

/** The User in an envelope the accessor wrote (uncompressed, the current revision). */
function decoded(envelope: Buffer): User {
  return userEntity.decode(new Reader(envelope, readHeader(envelope).payloadStart), envelope.length);
}

describe("L1 under scheduled interleavings", () => {
  it("no get or getMany returns a value older than the newest write its process knew of when it started (invalidation delivered, own set resolved, or tracking lost since), and once everything settled every key reads its newest value", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(op, { minLength: 1, maxLength: 24 }), async (s, ops) => {
        const world = new World(s);
        const store = world.store();
        const cache = userCache(store, { prefix: "m:", deadlineMs: 0, guardWrites: false, l1: { maxEntries: 100, maxBytes: 1 << 20, tracking: world.tracking } });
        const violations: string[] = [];
        /** Checks a read of `keyIds` started now against what was known now. */
        const checked = async (label: string, keyIds: readonly string[], read: () => Promise<(User | undefined)[]>): Promise<void> => {
          const floors = keyIds.map((i) => world.known.get(cache.keyOf({ id: i })) ?? 0);
          const got = await read();
          got.forEach((value, j) => {
            const order = world.orderOf(value);
            if (order < (floors[j] as number)) violations.push(`${label}: ${keyIds[j]} read write #${order} though write #${floors[j]} was known when it started`);
          });
        };
        const run = async (o: Op): Promise<void> => {
          switch (o.kind) {
            case "get":
              return checked(`get ${o.id}`, [o.id], async () => [await cache.get({ id: o.id })]);
            case "getMany":
              return checked("getMany", ids, () => cache.getMany(ids.map((i) => ({ id: i }))));
            case "other-write":
              return world.writeByOther(cache.keyOf({ id: o.id }), o.id);
            case "own-set": {
              const name = world.name();
              expect(await cache.set(user(o.id, name))).toBe("written");
              return world.setResolved(cache.keyOf({ id: o.id }), name);
            }
            case "lose-tracking":
              world.disconnect();
              await world.step("reconnect");
              world.reconnect();
              return;
          }
        };
        const started = ops.map((o, i) => s.schedule(Promise.resolve(), `start #${i} ${o.kind}`).then(() => run(o)));
        await s.waitAll();
        await Promise.all(started);
        // Settled: every invalidation delivered or lost with a flush, tracking live.
        const final = s.schedule(Promise.resolve(), "final reads").then(() => checked("final", ids, async () => Promise.all(ids.map((i) => cache.get({ id: i })))));
        await s.waitAll();
        await final;
        for (const i of ids) {
          const newest = world.values.get(cache.keyOf({ id: i }))?.order ?? 0;
          const last = s.schedule(Promise.resolve(), `last ${i}`).then(() => cache.get({ id: i }));
          await s.waitAll();
          const order = world.orderOf(await last);
          if (order !== newest) violations.push(`after everything settled, ${i} reads write #${order}, not the newest, #${newest}`);
        }
        await cache.close({ timeoutMs: 0 });
        expect(violations, String(s)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
