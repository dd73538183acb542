import { guardAllows } from "../../envelope/guard.js";
import type { BulkStore, ScanCapable, StoredValue } from "../bulk.js";
import { memoryStoreOptionsOf } from "../../validation/store-options.js";
import { MemoryBulk } from "./memory-bulk.js";
import type { CacheStore, SetOutcome, StoreWrite, StoreWriteResult, TimedValue, WriteGuard } from "../store.js";
import { MemoryTracking, TrackedSlots } from "./memory-tracking.js";

interface Slot {
  readonly value: Buffer;
  /** Epoch milliseconds after which the value is gone; Infinity for no expiry. */
  readonly expiresAt: number;
}

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Clock in epoch milliseconds; tests pass a fake one to move time forward. */
  readonly now?: () => number;
}

/**
 * An in-process store with Redis's TTL and guard semantics, for users' unit
 * tests and demos. Values are copied in and out, as over a network.
 */
export class MemoryStore implements CacheStore, ScanCapable {
  private readonly tracker = new MemoryTracking();
  private readonly slots: Map<string, Slot> = new TrackedSlots<Slot>(this.tracker);
  private readonly now: () => number;
  /** Bulk primitives for operations (migrate, census, cleanup), with Redis's semantics. */
  readonly bulk: BulkStore = new MemoryBulk({
    keys: () => this.keys(),
    entry: (key) => this.live(key),
    put: (key, value, expiresAt) => void this.slots.set(key, { value, expiresAt }),
    remove: (key) => void this.slots.delete(key),
  });

  constructor(options: MemoryStoreOptions = {}) {
    this.now = memoryStoreOptionsOf(options).now;
  }

  /** Invalidations for accessors' L1 (the `l1` option): every change of a key, at once. */
  tracking(): MemoryTracking {
    return this.tracker;
  }

  /** Number of live keys (expired ones are dropped first). */
  get size(): number {
    this.sweep();
    return this.slots.size;
  }

  /** Remaining TTL in milliseconds, -1 without expiry, -2 when absent (like Redis PTTL). */
  pttl(key: string): number {
    const slot = this.live(key);
    if (slot === undefined) return -2;
    return slot.expiresAt === Infinity ? -1 : slot.expiresAt - this.now();
  }

  /** Stores raw bytes, bypassing accessors: how tests plant legacy or hostile values. */
  setRaw(key: string, value: Uint8Array, ttlSeconds = 0): void {
    this.slots.set(key, { value: Buffer.from(value), expiresAt: this.expiry(ttlSeconds) });
  }

  async get(key: string): Promise<Buffer | null> {
    const slot = this.live(key);
    return slot === undefined ? null : Buffer.from(slot.value);
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | null)[]> {
    return keys.map((k) => {
      const slot = this.live(k);
      return slot === undefined ? null : Buffer.from(slot.value);
    });
  }

  async getWithTtl(key: string): Promise<TimedValue | null> {
    return this.timed(key);
  }

  async getManyWithTtl(keys: readonly string[]): Promise<(TimedValue | null)[]> {
    return keys.map((k) => this.timed(k));
  }

  async set(w: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome> {
    return this.setNow(w, guard);
  }

  async setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined): Promise<StoreWriteResult[]> {
    return writes.map((w) => this.setNow(w, guard));
  }

  private setNow(w: StoreWrite, guard: WriteGuard | undefined): SetOutcome {
    if (guard !== undefined && !guardAllows(this.live(w.key)?.value, guard.knownIds)) {
      if (guard.invalidate !== true) return "guarded";
      this.slots.delete(w.key);
      return "invalidated";
    }
    this.slots.set(w.key, { value: Buffer.from(w.value), expiresAt: this.expiry(w.ttlSeconds) });
    return "written";
  }

  async delete(keys: readonly string[]): Promise<number> {
    let n = 0;
    for (const k of keys) if (this.live(k) !== undefined && this.slots.delete(k)) n++;
    return n;
  }

  async replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    const slot = this.live(key);
    if (slot === undefined || !slot.value.equals(expected)) return false;
    this.slots.set(key, { value: Buffer.from(value), expiresAt: slot.expiresAt });
    return true;
  }

  async deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    const slot = this.live(key);
    if (slot === undefined || !slot.value.equals(expected)) return false;
    return this.slots.delete(key);
  }

  async getWithExpiry(key: string): Promise<StoredValue | null> {
    const slot = this.live(key);
    return slot === undefined ? null : { value: Buffer.from(slot.value), expireAt: slot.expiresAt === Infinity ? undefined : slot.expiresAt };
  }

  async createIfAbsent(key: string, value: Buffer, expireAt: number | undefined): Promise<boolean> {
    if (this.live(key) !== undefined) return false;
    // Like Redis: an expiry already past stores nothing that can be read.
    if (expireAt === undefined || expireAt > this.now()) this.slots.set(key, { value: Buffer.from(value), expiresAt: expireAt ?? Infinity });
    return true;
  }

  /** Every live key, for tools and tests. */
  keys(): string[] {
    this.sweep();
    return [...this.slots.keys()];
  }

  /** The value at `key` and its remaining TTL, like GET and PTTL. */
  private timed(key: string): TimedValue | null {
    const slot = this.live(key);
    if (slot === undefined) return null;
    return { value: Buffer.from(slot.value), ttlMs: slot.expiresAt === Infinity ? undefined : slot.expiresAt - this.now() };
  }

  private expiry(ttlSeconds: number): number {
    return ttlSeconds > 0 ? this.now() + ttlSeconds * 1000 : Infinity;
  }

  private live(key: string): Slot | undefined {
    const slot = this.slots.get(key);
    if (slot !== undefined && slot.expiresAt <= this.now()) {
      this.slots.delete(key);
      return undefined;
    }
    return slot;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, slot] of this.slots) if (slot.expiresAt <= now) this.slots.delete(k);
  }
}
