/**
 * The segments of a TinyLfuMap (src/l1/tiny-lfu.ts): intrusive doubly
 * linked lists in LRU order, each keeping its entry and byte totals, with
 * O(1) push and unlink.
 */

/** Segment id of the admission window. */
export const WINDOW = 0;
/** Segment id of main's probation segment. */
export const PROBATION = 1;
/** Segment id of main's protected segment. */
export const PROTECTED = 2;

/** One entry, linked into the segment it is in. */
export interface Node<V> {
  readonly key: string;
  /** hashKey(key), computed once when the entry is created. */
  readonly hash: number;
  value: V;
  bytes: number;
  /** The owner's expiry of the entry, on its own clock (the map never reads it). */
  expiresAt: number;
  /** {@link WINDOW}, {@link PROBATION} or {@link PROTECTED}. */
  segment: number;
  /** Towards the least recently used end. */
  older: Node<V> | undefined;
  /** Towards the most recently used end. */
  newer: Node<V> | undefined;
}

/** An LRU-ordered doubly linked list with its entry and byte totals. */
export class Segment<V> {
  /** The least recently used entry (the next victim). */
  lru: Node<V> | undefined;
  /** The most recently used entry. */
  mru: Node<V> | undefined;
  /** Entries linked. */
  count = 0;
  /** Sum of the linked entries' bytes. */
  bytes = 0;

  /** @param id the id stamped on the nodes pushed here. */
  constructor(readonly id: number) {}

  /** Links `node` (in no segment) at the MRU end. */
  push(node: Node<V>): void {
    node.segment = this.id;
    node.older = this.mru;
    node.newer = undefined;
    if (this.mru === undefined) this.lru = node;
    else this.mru.newer = node;
    this.mru = node;
    this.count++;
    this.bytes += node.bytes;
  }

  /** Unlinks `node`, which is in this segment. */
  unlink(node: Node<V>): void {
    if (node.older === undefined) this.lru = node.newer;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.mru = node.older;
    else node.newer.older = node.older;
    node.older = node.newer = undefined;
    this.count--;
    this.bytes -= node.bytes;
  }

  /** Forgets every node (they are dropped with it). */
  clear(): void {
    this.lru = this.mru = undefined;
    this.count = this.bytes = 0;
  }
}
