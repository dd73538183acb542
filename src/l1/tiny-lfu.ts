import { FrequencySketch, hashKey } from "./frequency-sketch.js";
import { PROBATION, PROTECTED, Segment, WINDOW, type Node } from "./lru-segment.js";

/**
 * A bounded in-process map with W-TinyLFU eviction (Caffeine's design): new
 * entries enter a small LRU admission window (1% of the bounds); the
 * window's LRU victim then competes with the main space's LRU victim by
 * estimated frequency (src/l1/frequency-sketch.ts) and the loser is dropped.
 * The main space is a segmented LRU: probation (20%) and protected (80%, for
 * entries read again while in probation). Bounded in entries and in bytes at
 * once: each segment's share applies to both, and eviction runs while either
 * total is over its bound. Every operation is O(1): three doubly linked lists
 * over one Map.
 */

/** What `entry` returns: the value and the expiry it was stored with. */
export interface HeldEntry<V> {
  readonly value: V;
  readonly expiresAt: number;
}

/** Bounds of a TinyLfuMap. */
export interface TinyLfuBounds {
  /** Most entries held (a whole number ≥ 1). */
  readonly maxEntries: number;
  /** Most bytes held, as the sum of the sizes given to `set` (a whole number ≥ 1). */
  readonly maxBytes: number;
}

/** Entries the frequency sketch is sized for at first (it grows with the map, up to maxEntries). */
const INITIAL_SKETCH_ENTRIES = 256;
/** Share of the bounds given to the admission window. */
const WINDOW_SHARE = 0.01;
/** Share of the main space given to its protected segment. */
const PROTECTED_SHARE = 0.8;
/**
 * A candidate at least this warm that loses to the victim is still admitted
 * once in 128 times (Caffeine's defence against an attacker inflating a
 * victim's frequency with colliding keys).
 */
const WARM_CANDIDATE = 6;

/**
 * A string-keyed map bounded in entries and bytes, evicting by W-TinyLFU.
 * Reads (`get` hits) and writes (`set`) count as accesses; `peek`, misses
 * and `delete` do not.
 */
export class TinyLfuMap<V> {
  private readonly map = new Map<string, Node<V>>();
  private readonly sketch: FrequencySketch;
  private readonly window = new Segment<V>(WINDOW);
  private readonly probation = new Segment<V>(PROBATION);
  private readonly protectedSegment = new Segment<V>(PROTECTED);
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly windowEntries: number;
  private readonly windowBytes: number;
  private readonly protectedEntries: number;
  private readonly protectedBytes: number;
  private totalBytes = 0;
  private evicted = 0;
  /** xorshift32 state for the warm-candidate coin (deterministic on purpose). */
  private random = 0x2545f491;
  /** The node `set` is storing: never reported to onEvict by its own call. */
  private storing: Node<V> | undefined;
  /** Nodes removed to make room during the current `set`, reported once the map is consistent again. */
  private pending: Node<V>[] = [];

  /**
   * @param bounds most entries and most bytes held.
   * @param onEvict called, after the `set` that made room, for each entry removed to make room (not for delete, clear or replace).
   */
  constructor(bounds: TinyLfuBounds, private readonly onEvict?: (key: string, value: V, bytes: number) => void) {
    const { maxEntries, maxBytes } = bounds;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError(`TinyLfuMap maxEntries must be a whole number ≥ 1, got ${String(maxEntries)}`);
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError(`TinyLfuMap maxBytes must be a whole number ≥ 1, got ${String(maxBytes)}`);
    this.maxEntries = maxEntries;
    this.sketch = new FrequencySketch(Math.min(maxEntries, INITIAL_SKETCH_ENTRIES));
    this.maxBytes = maxBytes;
    this.windowEntries = Math.max(1, Math.floor(maxEntries * WINDOW_SHARE));
    this.windowBytes = maxBytes * WINDOW_SHARE;
    this.protectedEntries = Math.floor((maxEntries - this.windowEntries) * PROTECTED_SHARE);
    this.protectedBytes = (maxBytes - this.windowBytes) * PROTECTED_SHARE;
  }

  /** Entries held. */
  get size(): number {
    return this.map.size;
  }

  /** Sum of the sizes of the entries held. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Entries removed to make room since creation (those reported to onEvict). */
  get evictions(): number {
    return this.evicted;
  }

  /** The value, recording the access (frequency sketch + recency). */
  get(key: string): V | undefined {
    return this.entry(key)?.value;
  }

  /** The entry (its value and the expiry given to `set`), recording the access (frequency sketch + recency). */
  entry(key: string): HeldEntry<V> | undefined {
    const node = this.map.get(key);
    if (node === undefined) return undefined;
    this.sketch.increment(node.hash);
    this.touch(node);
    return node;
  }

  /** The value, without recording an access. */
  peek(key: string): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Whether the key is held (not an access). */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /**
   * Stores (or replaces) `key` costing `bytes`, with an expiry of the
   * caller's (returned by `entry`; the map never reads it); returns false when the entry
   * is not kept: `bytes` > maxBytes (a previous value of the key is removed
   * too), or admission rejected it / it was evicted right away. Evicts as
   * needed so that size ≤ maxEntries and bytes ≤ maxBytes hold after every
   * call; onEvict is called for the entries removed to make room.
   */
  set(key: string, value: V, bytes: number, expiresAt = 0): boolean {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`TinyLfuMap entry size must be a whole number of bytes ≥ 0, got ${String(bytes)}`);
    let node = this.map.get(key);
    if (bytes > this.maxBytes) {
      if (node !== undefined) this.remove(node, this.segmentOf(node));
      return false;
    }
    if (node === undefined) {
      node = { key, hash: hashKey(key), value, bytes, expiresAt, segment: WINDOW, older: undefined, newer: undefined };
      this.map.set(key, node);
      this.totalBytes += bytes;
      this.window.push(node);
      if (this.map.size > this.sketch.capacity && this.sketch.capacity < this.maxEntries && this.sketch.canGrow) this.growSketch();
    } else {
      const segment = this.segmentOf(node);
      segment.bytes += bytes - node.bytes;
      this.totalBytes += bytes - node.bytes;
      node.value = value;
      node.bytes = bytes;
      node.expiresAt = expiresAt;
      this.touch(node);
    }
    this.sketch.increment(node.hash);
    this.storing = node;
    this.evictFromWindow();
    this.evictFromMain();
    this.storing = undefined;
    this.report();
    return this.map.get(key) === node;
  }

  /** Removes the key (not reported to onEvict); whether it was held. */
  delete(key: string): boolean {
    const node = this.map.get(key);
    if (node === undefined) return false;
    this.remove(node, this.segmentOf(node));
    return true;
  }

  /** Removes every entry (not reported to onEvict); the frequency history is kept. */
  clear(): void {
    this.map.clear();
    this.window.clear();
    this.probation.clear();
    this.protectedSegment.clear();
    this.totalBytes = 0;
  }

  /** Sizes the sketch for twice the entries held (a byte-bounded map may hold far fewer than maxEntries), keeping the residents' counts. */
  private growSketch(): void {
    this.sketch.ensureCapacity(Math.min(this.maxEntries, this.map.size * 2), this.map.values());
  }

  private segmentOf(node: Node<V>): Segment<V> {
    return node.segment === WINDOW ? this.window : node.segment === PROBATION ? this.probation : this.protectedSegment;
  }

  /** Recency on access: to its segment's MRU end, or from probation to protected (demoting protected's LRU entries past its share). */
  private touch(node: Node<V>): void {
    const segment = this.segmentOf(node);
    segment.unlink(node);
    if (segment !== this.probation) {
      segment.push(node);
      if (segment === this.window) return;
    } else {
      this.protectedSegment.push(node);
    }
    const p = this.protectedSegment;
    while (p.lru !== undefined && (p.count > this.protectedEntries || p.bytes > this.protectedBytes)) {
      const demoted = p.lru;
      p.unlink(demoted);
      this.probation.push(demoted);
    }
  }

  /**
   * Moves the window's LRU entries past its share into main, each admitted
   * only if main has room or it is more frequent than main's victims. The
   * window keeps its newest entry even when that alone is over its share of
   * bytes, so a large new entry is not judged before it could be read again.
   */
  private evictFromWindow(): void {
    const w = this.window;
    while (w.lru !== undefined && (w.count > this.windowEntries || (w.bytes > this.windowBytes && w.count > 1))) {
      const candidate = w.lru;
      w.unlink(candidate);
      this.admit(candidate);
    }
  }

  private admit(candidate: Node<V>): void {
    // The candidate is out of every list but still in the totals.
    while (this.map.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      const victim = this.probation.lru ?? this.protectedSegment.lru;
      if (victim === undefined) break;
      if (!this.wins(candidate, victim)) {
        this.evict(candidate, undefined);
        return;
      }
      this.evict(victim, this.segmentOf(victim));
    }
    this.probation.push(candidate);
  }

  private wins(candidate: Node<V>, victim: Node<V>): boolean {
    const c = this.sketch.frequency(candidate.hash);
    if (c > this.sketch.frequency(victim.hash)) return true;
    if (c < WARM_CANDIDATE) return false;
    let x = this.random;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.random = x;
    return (x & 127) === 0;
  }

  /** While a total is over its bound with no window candidate left: main's LRU victims first, then the window's. */
  private evictFromMain(): void {
    while (this.map.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      const segment = this.probation.lru !== undefined ? this.probation : this.protectedSegment.lru !== undefined ? this.protectedSegment : this.window;
      this.evict(segment.lru as Node<V>, segment);
    }
  }

  /** Removes a node to make room (`segment`: the one it is linked in, if any). */
  private evict(node: Node<V>, segment: Segment<V> | undefined): void {
    this.remove(node, segment);
    if (node === this.storing) return;
    this.evicted++;
    if (this.onEvict !== undefined) this.pending.push(node);
  }

  private remove(node: Node<V>, segment: Segment<V> | undefined): void {
    segment?.unlink(node);
    this.map.delete(node.key);
    this.totalBytes -= node.bytes;
  }

  private report(): void {
    if (this.pending.length === 0 || this.onEvict === undefined) return;
    const nodes = this.pending;
    this.pending = [];
    for (const node of nodes) this.onEvict(node.key, node.value, node.bytes);
  }
}
