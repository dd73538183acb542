import { describe, expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { deadlineState } from "../../src/stores/deadline.js";
import { StoreTimeoutError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import type { StoredValue } from "../../src/stores/bulk.js";
import type { CacheStore, Deadline, SetOutcome, StoreWrite, StoreWriteResult, WriteGuard } from "../../src/stores/store.js";

/**
 * The per-call deadline against stores that answer late or never (the
 * accessor's own logic; faults against real redis-server processes are in
 * test/integration/faults.test.ts).
 */
const ada: User = { id: "ada", name: "Ada", email: "", fullName: "", verified: false, locale: "" };

/** A MemoryStore whose every answer comes `delayMs` late (never, for Infinity); its batches bound each key on its own. */
class SlowStore implements CacheStore {
  readonly inner = new MemoryStore();
  late = 0;
  constructor(public delayMs: number, private readonly slowKeys?: (key: string) => boolean) {}

  private later<T>(key: string | undefined, work: () => Promise<T>): Promise<T> {
    const delay = key === undefined || this.slowKeys === undefined || this.slowKeys(key) ? this.delayMs : 0;
    if (delay === 0) return work();
    if (delay === Infinity) return new Promise<T>(() => {});
    return new Promise<T>((resolve, reject) =>
      setTimeout(() => {
        this.late++;
        work().then(resolve, reject);
      }, delay),
    );
  }

  get(key: string): Promise<Buffer | null> {
    return this.later(key, () => this.inner.get(key));
  }
  getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]> {
    return Promise.all(
      keys.map((k) => {
        const one = this.later(k, () => this.inner.get(k));
        return (deadline === undefined ? one : deadline.bound(one, "GET", k)).catch((e: unknown) => e as Error);
      }),
    );
  }
  set(write: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome> {
    return this.later(write.key, () => this.inner.set(write, guard));
  }
  getWithExpiry(key: string): Promise<StoredValue | null> {
    return this.later(key, () => this.inner.getWithExpiry(key));
  }
  createIfAbsent(key: string, value: Buffer, expireAt: number | undefined): Promise<boolean> {
    return this.later(key, () => this.inner.createIfAbsent(key, value, expireAt));
  }
  setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined): Promise<StoreWriteResult[]> {
    return this.later(writes[0]?.key, () => this.inner.setMany(writes, guard));
  }
  delete(keys: readonly string[]): Promise<number> {
    return this.later(keys[0], () => this.inner.delete(keys));
  }
  replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    return this.later(key, () => this.inner.replaceIfEqual(key, expected, value));
  }
  deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    return this.later(key, () => this.inner.deleteIfEqual(key, expected));
  }
}

async function noLeftovers(store: object): Promise<void> {
  await expect.poll(() => deadlineState(store)).toEqual({ outstanding: 0, timer: false });
}

describe("per-call deadlines (issue 8.5)", () => {
  it("fail a store that never answers open: reads miss, writes resolve error, each reported as StoreTimeoutError", async () => {
    const store = new SlowStore(Infinity);
    const errors: unknown[] = [];
    const users = userCache(store, { deadlineMs: 30, onError: (e) => errors.push(e) });
    const results = await Promise.all([users.get({ id: "ada" }), users.getMany([{ id: "a" }, { id: "b" }]), users.set(ada), users.setMany([ada]), users.delete({ id: "ada" })]);
    expect(results).toEqual([undefined, [undefined, undefined], "error", ["error"], false]);
    expect(users.stats().reads.error).toBe(3);
    expect(users.stats().writes.error).toBe(2);
    expect(users.stats().deletes.error).toBe(1);
    expect(errors).toHaveLength(6);
    expect(errors.every((e) => e instanceof StoreTimeoutError && e.deadlineMs === 30)).toBe(true);
    expect((errors[0] as Error).message).toMatch(/store GET user:v1:ada failed: no reply within the 30 ms deadline/);
    await noLeftovers(store);
  });

  it("rejects with the StoreTimeoutError under onStoreError: throw", async () => {
    const users = userCache(new SlowStore(Infinity), { deadlineMs: 20, onStoreError: "throw" });
    await expect(users.get({ id: "ada" })).rejects.toThrow(StoreTimeoutError);
    await expect(users.set(ada)).rejects.toThrow(StoreTimeoutError);
  });

  it("drops a late reply: the call already failed open and a late value or error changes nothing", async () => {
    const store = new SlowStore(0);
    await userCache(store, { deadlineMs: 0 }).set(ada);
    store.delayMs = 150;
    const users = userCache(store, { deadlineMs: 20 });
    expect(await users.get({ id: "ada" })).toBeUndefined();
    expect(await users.set({ ...ada, name: "late" })).toBe("error");
    await expect.poll(() => store.late).toBe(2);
    expect(users.stats().reads).toMatchObject({ error: 1, hit: 0 });
    expect(users.stats().writes).toMatchObject({ error: 1, written: 0 });
    await noLeftovers(store);
  });

  it("leaves answers inside the deadline alone, and deadlineMs: 0 waits as long as the store takes", async () => {
    const store = new SlowStore(0);
    const fast = userCache(store, { deadlineMs: 5_000 });
    expect(await fast.set(ada)).toBe("written");
    expect(await fast.get({ id: "ada" })).toEqual(ada);
    store.delayMs = 60;
    const patient = userCache(store, { deadlineMs: 0 });
    expect(await patient.get({ id: "ada" })).toEqual(ada);
    expect(deadlineState(store).outstanding).toBe(0);
  });

  it("bounds a batch per server: keys of a stalled server fail, the others are served", async () => {
    const store = new SlowStore(Infinity, (key) => key.endsWith("slow"));
    await store.inner.setMany([{ key: "user:v1:fast", value: Buffer.alloc(0), ttlSeconds: 0 }], undefined);
    const seed = userCache(store.inner);
    await seed.setMany([ada, { ...ada, id: "fast" }]);
    const users = userCache(store, { deadlineMs: 40 });
    expect(await users.getMany([{ id: "fast" }, { id: "slow" }, { id: "ada" }])).toEqual([{ ...ada, id: "fast" }, undefined, ada]);
    expect(users.stats().reads).toMatchObject({ hit: 2, error: 1 });
    await noLeftovers(store);
  });

  it("still serves the other servers' keys when the event loop was blocked past the batch's outer bound", async () => {
    const store = new SlowStore(Infinity, (key) => key.endsWith("slow"));
    await userCache(store.inner).set(ada);
    const users = userCache(store, { deadlineMs: 20 });
    const pending = users.getMany([{ id: "ada" }, { id: "slow" }]);
    const until = performance.now() + 100;
    while (performance.now() < until) {
      // Busy: both the per-server deadline and the batch's outer bound pass before the next sweep.
    }
    expect(await pending).toEqual([ada, undefined]);
  });

  it("bounds background write-backs too, counting the failure", async () => {
    const store = new SlowStore(0);
    const { userR1Entry } = await import("../support/entries.js");
    store.inner.setRaw("user:v1:old", userR1Entry({ id: "old", name: "G", email: "g" }));
    const users = userCache(store, { deadlineMs: 30, writeBack: true });
    const replace = store.replaceIfEqual.bind(store);
    store.replaceIfEqual = () => new Promise<boolean>(() => {});
    expect(await users.get({ id: "old" })).toMatchObject({ id: "old" });
    await expect.poll(() => users.stats().writes.write_back_error).toBe(1);
    store.replaceIfEqual = replace;
    await noLeftovers(store);
  });

  it("shares one timer per store, stopped while nothing is outstanding", async () => {
    const store = new SlowStore(Infinity);
    const a = userCache(store, { deadlineMs: 25 });
    const b = userCache(store, { deadlineMs: 50 });
    const calls = [a.get({ id: "x" }), b.get({ id: "y" }), a.set(ada)];
    expect(deadlineState(store)).toEqual({ outstanding: 3, timer: true });
    await Promise.all(calls);
    await noLeftovers(store);
    expect(await userCache(new MemoryStore(), { deadlineMs: 25 }).get({ id: "x" })).toBeUndefined();
  });
});
