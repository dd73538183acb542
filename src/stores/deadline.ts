import { StoreTimeoutError } from "../errors.js";
import { MAX_KEYS_PER_ROUND_TRIP, MAX_WRITES_PER_ROUND_TRIP } from "./redis/chunks.js";
import type { Deadline } from "./store.js";

/** One outstanding store call: a node of its queue's list, unlinked the moment it settles. */
class Call {
  prev: Call | undefined = undefined;
  next: Call | undefined = undefined;
  resolve!: (value: unknown) => void;
  reject!: (error: unknown) => void;
  /**
   * The first sweep's clock after the call started (-1 until a sweep saw
   * it): never earlier than the start, so a call never expires early, and
   * no clock is read per call (a clock read costs about what the rest of
   * the bookkeeping does).
   */
  seenAt = -1;

  constructor(
    readonly operation: string,
    readonly key: string | undefined,
  ) {}
}

/**
 * Outstanding calls of one deadline length on one store, oldest first:
 * since every call waits the same time, the calls to expire are always at
 * the head, and a settled call leaves the list at once (no per-call timer,
 * signal or listener; nothing is retained after a call settles).
 */
class DeadlineQueue implements Deadline {
  private head: Call | undefined = undefined;
  private tail: Call | undefined = undefined;
  size = 0;

  constructor(
    /** How long a call may wait. */
    readonly ms: number,
    /** The deadline its timeout errors name: the accessor's, also for a batch's slightly later outer bound. */
    readonly reportedMs: number,
    private readonly sweeper: Sweeper,
  ) {}

  bound<T>(work: Promise<T>, operation: string, key: string | undefined): Promise<T> {
    const call = new Call(operation, key);
    const bounded = new Promise<T>((resolve, reject) => {
      call.resolve = resolve as (value: unknown) => void;
      call.reject = reject;
    });
    this.append(call);
    work.then(
      (value) => {
        if (this.unlink(call)) call.resolve(value);
      },
      (error: unknown) => {
        if (this.unlink(call)) call.reject(error);
      },
    );
    return bounded;
  }

  /** Stamps the calls no sweep has seen yet (the newest, at the tail) with this sweep's clock. */
  stamp(now: number): void {
    for (let call = this.tail; call !== undefined && call.seenAt < 0; call = call.prev) call.seenAt = now;
  }

  /**
   * Rejects every call seen by a sweep at or before `now - ms`; late
   * replies then find them unlinked and are dropped. Returns whether any
   * call expired.
   */
  expire(now: number): boolean {
    const cutoff = now - this.ms;
    let call = this.head;
    let expired = false;
    while (call !== undefined && call.seenAt >= 0 && call.seenAt <= cutoff) {
      const next = call.next;
      this.unlink(call);
      call.reject(new StoreTimeoutError(call.operation, call.key, this.reportedMs));
      expired = true;
      call = next;
    }
    return expired;
  }

  private append(call: Call): void {
    if (this.tail === undefined) this.head = call;
    else {
      this.tail.next = call;
      call.prev = this.tail;
    }
    this.tail = call;
    this.size++;
    if (this.size === 1) this.sweeper.arm();
  }

  /** Removes a call from the list; false when it was already removed (expired, or settled). */
  private unlink(call: Call): boolean {
    if (call.prev === undefined && this.head !== call) return false;
    if (call.prev === undefined) this.head = call.next;
    else call.prev.next = call.next;
    if (call.next === undefined) this.tail = call.prev;
    else call.next.prev = call.prev;
    call.prev = call.next = undefined;
    this.size--;
    return true;
  }
}

/**
 * One timer per store, running only while calls are outstanding: every
 * tick (an eighth of the shortest deadline, 1-25 ms) it stamps new calls
 * and expires those whose deadline passed since they were first stamped,
 * so a call fails no earlier than its deadline and, unless the event loop
 * runs the timer late, within two ticks after it.
 */
class Sweeper {
  private readonly queues: DeadlineQueue[] = [];
  private timer: ReturnType<typeof setInterval> | undefined = undefined;
  private tickMs = 25;

  queue(ms: number, reportedMs: number): DeadlineQueue {
    let queue = this.queues.find((q) => q.ms === ms && q.reportedMs === reportedMs);
    if (queue === undefined) {
      queue = new DeadlineQueue(ms, reportedMs, this);
      this.queues.push(queue);
      this.queues.sort((a, b) => a.ms - b.ms);
      this.tickMs = Math.max(1, Math.min(25, Math.floor(Math.min(...this.queues.map((q) => q.ms)) / 8)));
      if (this.timer !== undefined) {
        this.stop();
        this.arm();
      }
    }
    return queue;
  }

  arm(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.tickMs);
    // A cache's bookkeeping must never keep a process alive.
    this.timer.unref();
  }

  /** Calls outstanding and whether the timer runs; for tests (nothing may be left behind). */
  state(): { outstanding: number; timer: boolean } {
    return { outstanding: this.queues.reduce((n, q) => n + q.size, 0), timer: this.timer !== undefined };
  }

  /**
   * Expires overdue calls, shortest deadline first. Once a queue expired
   * something, longer queues wait for the next tick: a batch's per-server
   * timeouts then settle the batch (in microtasks) before its own, later
   * outer bound is checked, even when the event loop was blocked past both.
   */
  private sweep(): void {
    const now = performance.now();
    let outstanding = 0;
    let expired = false;
    for (const q of this.queues) {
      q.stamp(now);
      if (!expired) expired = q.expire(now);
      outstanding += q.size;
    }
    if (outstanding === 0) this.stop();
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

const sweepers = new WeakMap<object, Sweeper>();

function sweeperOf(store: object): Sweeper {
  let sweeper = sweepers.get(store);
  if (sweeper === undefined) sweepers.set(store, (sweeper = new Sweeper()));
  return sweeper;
}

/** The deadline of `ms` milliseconds on `store`'s shared sweeper; its errors name `reportedMs` (default `ms`). */
export function deadlineOn(store: object, ms: number, reportedMs = ms): Deadline {
  return sweeperOf(store).queue(ms, reportedMs);
}

/** Outstanding calls and timer state of a store's sweeper (tests assert nothing leaks). */
export function deadlineState(store: object): { outstanding: number; timer: boolean } {
  return sweepers.get(store)?.state() ?? { outstanding: 0, timer: false };
}

/**
 * The outer bound of a whole batch of `n` keys, a little after the
 * per-round-trip deadline `ms` that a Redis store applies to each chunk it
 * sends (chunks of 1000 reads or 250 writes, one server's in turn): a
 * deadline-aware store answers first with what its live servers returned;
 * any other store is still cut off. It grows with the chunks one server
 * may have to take in turn (rounded up to a power of two, so a few bounds
 * serve every batch size), so a large batch is never cut off for its size
 * alone. Its timeout errors name `ms`.
 */
export function batchDeadline(store: object, ms: number, n: number, kind: "read" | "write"): Deadline {
  const perRoundTrip = kind === "read" ? MAX_KEYS_PER_ROUND_TRIP : MAX_WRITES_PER_ROUND_TRIP;
  const rounds = 2 ** Math.ceil(Math.log2(Math.max(1, Math.ceil(n / perRoundTrip))));
  return deadlineOn(store, rounds * (ms + Math.max(5, Math.ceil(ms / 4))), ms);
}
