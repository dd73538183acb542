import type { Interpretation } from "./read.js";

/** What a lookup of one key found: the settled read (undefined for none), and whether the store failed. */
export interface Looked<T> {
  readonly seen: Interpretation<T> | undefined;
  readonly failed: boolean;
  /**
   * The key's remaining TTL in Redis when it was read, in milliseconds
   * (Infinity: no expiry), when the read asked for it (the reads behind an
   * L1): an L1 holds the value no longer. Absent otherwise, and then an L1
   * does not hold the value.
   */
  readonly ttlMs?: number | undefined;
  /** True when `seen` is an L1 hit (held in the process), not a read from Redis. */
  readonly l1?: boolean;
}
