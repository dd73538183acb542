import { randomBytes } from "node:crypto";
import { LoaderError, ProtocacheError } from "../errors.js";
import type { LoadPolicy } from "./loading-options.js";
import type { Outcomes } from "./outcomes.js";
import type { Looked } from "./looked.js";
import type { Interpretation } from "./read.js";
import type { StoreCalls } from "./store-calls.js";

/** The accessor's parts a lease works with (the loading cache's own parts fit). */
export interface LeaseParts<T, K> {
  readonly io: StoreCalls;
  readonly outcomes: Outcomes;
  /** The decision table on bytes read at `key`, counted. */
  read(key: string, bytes: Buffer, fields: K): Interpretation<T>;
  /** What this caller may have of a read: a miss when a tag or clear() retired its value (docs/invalidation.md). */
  check(looked: Looked<T>, key: string): Looked<T> | Promise<Looked<T>>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref?.());

/**
 * The loading cache's single-flight across instances (docs/loading.md): a
 * short lease in Redis (`SET NX PX` on the key's lease key, a random token),
 * taken by the instance that loads; the others poll the key until the
 * holder's write lands, the lease is released or expires, or their wait ends.
 */
export class Leases<T, K> {
  constructor(private readonly p: LeaseParts<T, K>) {}

  /**
   * Takes the lease of `key`, or waits for the instance holding it to write
   * the key (polling it, backing off from 5 to 100 ms) up to `waitMs`, taking
   * the lease when it is released or expires. Store failures skip the lease.
   */
  async take(key: string, leaseKey: string, fields: K, policy: LoadPolicy, stale: T | undefined): Promise<{ token?: Buffer } | { served: T | undefined }> {
    const { ttlMs, waitMs } = policy.lease as { ttlMs: number; waitMs: number };
    const token = randomBytes(12);
    const until = Date.now() + waitMs;
    let delay = 5;
    let waited = false;
    for (;;) {
      let acquired: boolean;
      try {
        acquired = await this.p.io.bounded(this.p.io.store.createIfAbsent(leaseKey, token, Date.now() + ttlMs), "SET NX", leaseKey);
      } catch (error) {
        this.p.outcomes.report(error instanceof ProtocacheError ? error : new LoaderError(key, error));
        return {};
      }
      if (acquired) {
        this.p.outcomes.counter.load("lease_acquired");
        // Another instance may have written the key and released its lease since this call's read.
        if (waited || stale === undefined) {
          const found = await this.peek(key, fields);
          if (found !== undefined) {
            this.release(leaseKey, token);
            return found;
          }
        }
        return { token };
      }
      // A refresh with a stale value to serve never waits for another instance's load: that instance refreshes.
      if (stale !== undefined) return (await this.peek(key, fields)) ?? { served: stale };
      if (Date.now() >= until) {
        this.p.outcomes.counter.load("lease_timeout");
        return {};
      }
      waited = true;
      await sleep(Math.min(delay, Math.max(1, until - Date.now())));
      delay = Math.min(delay * 2, 100);
      const found = await this.peek(key, fields);
      if (found !== undefined) {
        this.p.outcomes.counter.load("lease_wait");
        return found;
      }
    }
  }

  /** Reads `key` once: what another instance wrote (a value or an absent marker), or undefined while there is nothing usable. */
  private async peek(key: string, fields: K): Promise<{ served: T | undefined } | undefined> {
    let bytes: Buffer | null;
    try {
      bytes = await this.p.io.bounded(this.p.io.store.get(key), "GET", key);
    } catch {
      return undefined;
    }
    if (bytes === null) return undefined;
    const { seen } = await this.p.check({ seen: this.p.read(key, bytes, fields), failed: false }, key);
    if (seen === undefined) return undefined;
    if (seen.outcome === "absent") return { served: undefined };
    return seen.value === undefined ? undefined : { served: seen.value };
  }

  /** Releases a lease this instance holds (compare-and-delete on its token), in the background. */
  release(leaseKey: string, token: Buffer): void {
    void this.p.io.background("DEL lease", leaseKey, () => this.p.io.store.deleteIfEqual(leaseKey, token)).catch(() => {
      // The lease expires by itself.
    });
  }
}
