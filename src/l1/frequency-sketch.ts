/**
 * The frequency sketch of W-TinyLFU (src/l1/tiny-lfu.ts): a count-min sketch
 * of 4-bit counters, 8 to a 32-bit word, each key counted in 4 of them
 * (conservative update: only the smallest are incremented), and halved once
 * the sketch has taken 10 samples per entry of capacity, so old popularity
 * fades. Its size follows the capacity it is asked for, up to
 * {@link MAX_COUNTERS}: memory stays bounded whatever the cache's bounds.
 */

/** Most counters a sketch allocates (2 MiB): enough for 2^18 entries at 16 counters each. */
export const MAX_COUNTERS = 1 << 22;

/** Counters per entry of capacity (Caffeine's ratio: one 64-bit word of 4-bit counters per entry). */
const COUNTERS_PER_ENTRY = 16;
/** Fewest counters a sketch allocates. */
const MIN_COUNTERS = 256;
/** Samples per entry of capacity between two halvings. */
const SAMPLES_PER_ENTRY = 10;
/** Odd multipliers deriving the 4 counter positions from one 32-bit hash. */
const M0 = 0x97cb3127;
const M1 = 0xbe98f273;
const M2 = 0x2f90404f;
const M3 = 0x84222325;

/**
 * A well-mixed 32-bit hash of a string: FNV-1a over its UTF-16 code units,
 * finished with murmur3's fmix32 so every input bit reaches every output bit.
 */
export function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  // A signed 32-bit integer (the counters' index math is Math.imul's, which reads either sign the same):
  // held in a map node, it stays a small integer, where an unsigned one above 2^31 would be a boxed number.
  return h ^ (h >>> 16);
}

/** A count-min sketch of 4-bit counters with periodic halving, keyed by {@link hashKey} hashes. */
export class FrequencySketch {
  private table = new Uint32Array(MIN_COUNTERS / 8);
  /** 32 − log2(counters): a multiplied hash shifted right by it is a counter index. */
  private shift = 32 - Math.log2(MIN_COUNTERS);
  private sampleSize = 0;
  private samples = 0;
  private capacityEntries = 0;

  /** @param entries entries to size the table for at first (see {@link ensureCapacity}). */
  constructor(entries: number) {
    this.resize(entries);
  }

  /** Entries the current table is sized for. */
  get capacity(): number {
    return this.capacityEntries;
  }

  /** Whether the table is below {@link MAX_COUNTERS}, so it can still grow. */
  get canGrow(): boolean {
    return this.table.length * 8 < MAX_COUNTERS;
  }

  /**
   * Grows the table to hold `entries` well (16 counters each, as a power of
   * two, at most {@link MAX_COUNTERS}). The estimates of the hashes in
   * `keep` (the resident keys') carry over; every other count is forgotten.
   */
  ensureCapacity(entries: number, keep: Iterable<{ readonly hash: number }>): void {
    if (entries <= this.capacityEntries || !this.canGrow) return;
    const kept: number[] = [];
    for (const { hash } of keep) kept.push(hash, this.frequency(hash));
    this.resize(entries);
    for (let i = 0; i < kept.length; i += 2) this.raise(kept[i] as number, kept[i + 1] as number);
  }

  private resize(entries: number): void {
    const counters = Math.min(MAX_COUNTERS, Math.max(MIN_COUNTERS, 2 ** Math.ceil(Math.log2(Math.max(1, entries) * COUNTERS_PER_ENTRY))));
    this.table = new Uint32Array(counters / 8);
    this.shift = 32 - Math.log2(counters);
    this.capacityEntries = counters / COUNTERS_PER_ENTRY;
    this.sampleSize = this.capacityEntries * SAMPLES_PER_ENTRY;
    this.samples = 0;
  }

  /** Raises the hash's 4 counters to at least `count`. */
  private raise(hash: number, count: number): void {
    const t = this.table;
    const s = this.shift;
    for (const m of [M0, M1, M2, M3]) {
      const i = Math.imul(hash, m) >>> s;
      const current = get(t, i);
      if (current < count) t[i >>> 3] = (t[i >>> 3] as number) + ((count - current) << ((i & 7) << 2));
    }
  }

  /** The estimated number of recent accesses of the key with this hash (0–15). */
  frequency(hash: number): number {
    const t = this.table;
    const s = this.shift;
    return Math.min(get(t, Math.imul(hash, M0) >>> s), get(t, Math.imul(hash, M1) >>> s), get(t, Math.imul(hash, M2) >>> s), get(t, Math.imul(hash, M3) >>> s));
  }

  /** Records one access of the key with this hash; halves every counter once the sample period is over. */
  increment(hash: number): void {
    const t = this.table;
    const s = this.shift;
    const i0 = Math.imul(hash, M0) >>> s;
    const i1 = Math.imul(hash, M1) >>> s;
    const i2 = Math.imul(hash, M2) >>> s;
    const i3 = Math.imul(hash, M3) >>> s;
    const least = Math.min(get(t, i0), get(t, i1), get(t, i2), get(t, i3));
    if (least === 15) return;
    // Conservative update: raising only the smallest counters keeps collisions from inflating the estimate.
    if (get(t, i0) === least) bump(t, i0);
    if (get(t, i1) === least) bump(t, i1);
    if (get(t, i2) === least) bump(t, i2);
    if (get(t, i3) === least) bump(t, i3);
    if (++this.samples >= this.sampleSize) this.halve();
  }

  private halve(): void {
    const t = this.table;
    for (let i = 0; i < t.length; i++) t[i] = ((t[i] as number) >>> 1) & 0x77777777;
    this.samples >>>= 1;
  }
}

function get(table: Uint32Array, index: number): number {
  return ((table[index >>> 3] as number) >>> ((index & 7) << 2)) & 0xf;
}

function bump(table: Uint32Array, index: number): void {
  table[index >>> 3] = (table[index >>> 3] as number) + (1 << ((index & 7) << 2));
}
