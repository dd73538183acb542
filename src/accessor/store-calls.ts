import { batchDeadline, deadlineOn } from "../stores/deadline.js";
import type { CacheStore, Deadline, StoreWrite, StoreWriteResult, TimedValue, WriteGuard } from "../stores/store.js";
import { asStoreError } from "./outcomes.js";

/**
 * The accessor's calls into its store, each bounded by the per-call
 * deadline (`deadlineMs`; none with 0): single calls, batches (whose
 * per-server round trips the store bounds, and the whole batch a little
 * later, see batchDeadline) and background work.
 */
export class StoreCalls {
  /** Bounds one store call; undefined with `deadlineMs: 0`. */
  private readonly deadline: Deadline | undefined;
  /** Work still running after the call that started it returned (write-backs, copies, refreshes, lease releases): what `close()` waits for. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly store: CacheStore,
    private readonly deadlineMs: number,
  ) {
    this.deadline = deadlineMs === 0 ? undefined : deadlineOn(store, deadlineMs);
  }

  /** `work`, bounded by the per-call deadline when there is one. */
  bounded<R>(work: Promise<R>, operation: string, key: string): Promise<R> {
    return this.deadline === undefined ? work : this.deadline.bound(work, operation, key);
  }

  /** Starts store work after the current call has returned, bounded by the deadline like any call, and tracked for `close()`. */
  background<R>(operation: string, key: string, work: () => Promise<R>): Promise<R> {
    return this.track(this.bounded(Promise.resolve().then(work), operation, key));
  }

  /** Tracks `work` until it settles, so that `drain` waits for it. */
  track<R>(work: Promise<R>): Promise<R> {
    this.pending.add(work);
    const done = (): void => void this.pending.delete(work);
    work.then(done, done);
    return work;
  }

  /**
   * Waits for the tracked work (and the work it starts meanwhile) to settle,
   * at most `timeoutMs`; resolves how many tasks were still running then.
   */
  async drain(timeoutMs: number): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.pending.size > 0) {
      const left = until - Date.now();
      if (left <= 0) break;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, left)));
      await Promise.race([Promise.allSettled([...this.pending]), timeout]);
      clearTimeout(timer);
    }
    return this.pending.size;
  }

  /** Reads many keys in one round trip per server; an Error in place of each value that could not be read. */
  readMany(keys: readonly string[], operation: string): Promise<(Buffer | null | Error)[]> {
    return this.readManyBy(keys, operation, (deadline) => this.store.getMany(keys, deadline));
  }

  /** The value at `key` with its remaining TTL (GET and PTTL in one round trip: the reads behind an L1), bounded by the deadline. */
  readTimed(key: string): Promise<TimedValue | null> {
    return this.bounded((this.store.getWithTtl as (key: string) => Promise<TimedValue | null>).call(this.store, key), "GET", key);
  }

  /** `readMany`, each value with its remaining TTL (the reads behind an L1). */
  readManyTimed(keys: readonly string[], operation: string): Promise<(TimedValue | null | Error)[]> {
    const read = this.store.getManyWithTtl as (keys: readonly string[], deadline?: Deadline) => Promise<(TimedValue | null | Error)[]>;
    return this.readManyBy(keys, operation, (deadline) => read.call(this.store, keys, deadline));
  }

  private async readManyBy<R>(keys: readonly string[], operation: string, read: (deadline: Deadline | undefined) => Promise<(R | Error)[]>): Promise<(R | Error)[]> {
    try {
      const reading = read(this.deadline);
      const bound = this.batchBound(keys.length, "read");
      return await (bound === undefined ? reading : bound.bound(reading, operation, keys[0]));
    } catch (error) {
      return keys.map((k) => asStoreError(error, operation, k));
    }
  }

  /** Writes many values (one set for a single one); an Error in place of each write that failed. */
  async writeMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined): Promise<StoreWriteResult[]> {
    if (writes.length === 1) {
      const w = writes[0] as StoreWrite;
      try {
        return [await this.bounded(this.store.set(w, guard), "SET", w.key)];
      } catch (error) {
        return [error instanceof Error ? error : new Error(String(error))];
      }
    }
    try {
      const done = this.store.setMany(writes, guard, this.deadline);
      const bound = this.batchBound(writes.length, "write");
      return await (bound === undefined ? done : bound.bound(done, "SET", writes[0]?.key));
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      return writes.map(() => failure);
    }
  }

  /** The whole batch's outer bound (the store layer's arithmetic); undefined with `deadlineMs: 0`. */
  private batchBound(n: number, kind: "read" | "write"): Deadline | undefined {
    return this.deadlineMs === 0 ? undefined : batchDeadline(this.store, this.deadlineMs, n, kind);
  }
}
