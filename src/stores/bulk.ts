/**
 * Bulk primitives for operations (migrate, census, cleanup): walking a key
 * space server by server and reading, rewriting or deleting many keys in
 * one round trip. Every store protocache ships implements it (`store.bulk`);
 * accessors never use it.
 */
import type { StoredValue } from "./store.js";

export type { StoredValue };

/** One server a scan walks: a standalone server or one Cluster master. */
export interface ScanNode {
  /** `host:port`: stable across reconnects, so checkpoints can name it. */
  readonly id: string;
}

/** What a scan needs to know about a server. */
export interface NodeInfo {
  /** Changes when the server restarts: SCAN cursors of the old process mean nothing to the new one. */
  readonly runId: string;
  /** Keys on the server (DBSIZE): what SCAN walks, matching or not; estimates progress. */
  readonly keys: number;
}

/** One compare-and-set: replace `expected` by `value`, keeping the key's TTL. */
export interface ReplaceItem {
  readonly key: string;
  readonly expected: Buffer;
  readonly value: Buffer;
}

/** Outcome of one compare-and-set: done, the key was gone, or it held other bytes. */
export type ReplaceResult = "replaced" | "absent" | "changed";

/** One create-if-absent with an absolute expiry (cross-major copies). */
export interface CreateItem {
  readonly key: string;
  readonly value: Buffer;
  /** Epoch milliseconds, or undefined for no expiry. */
  readonly expireAt: number | undefined;
}

/**
 * What the first bytes of a stored value say, without the payload (the
 * schema ID sits at a fixed offset). `envelope`: a version-1 envelope with
 * valid flags; `newer`: a newer envelope version; `corrupt`: an envelope
 * header that cannot be valid (too short, version 0, reserved flags);
 * `legacy`: not an envelope; `other-type`: not a string (a hash, a list…);
 * `gone`: expired or deleted since it was scanned.
 */
export type HeadClass = "envelope" | "newer" | "corrupt" | "legacy" | "other-type" | "gone";

/** Count and bytes of the keys of one class (and schema ID) in a batch. */
export interface HeadTally {
  readonly kind: HeadClass;
  /** Schema ID for `envelope` and `newer`. */
  readonly schemaId: number | undefined;
  readonly count: number;
  /** Sum of the values' sizes (STRLEN). */
  readonly bytes: number;
}

/** Which keys a cleanup deletes, decided per key on the server from its first bytes. */
export interface DeleteRule {
  /** Version-1 envelopes with one of these schema IDs. */
  readonly schemaIds: readonly number[];
  /** Non-envelope values. */
  readonly legacy: boolean;
  /** Envelope headers that cannot be valid. */
  readonly corrupt: boolean;
  /** Every string value (a whole retired major). */
  readonly all: boolean;
}

/** What one server-side cleanup batch did. */
export interface DeleteTally {
  readonly deleted: number;
  readonly bytes: number;
}

/** A scan step: the next cursor ("0" when the walk is done) and the matching keys. */
export interface ScanPage {
  readonly cursor: string;
  readonly keys: string[];
  /** Keys whose names are not valid UTF-8: skipped, since a string cannot name them exactly. */
  readonly unreadable: number;
}

/**
 * The bulk primitives. Node-scoped calls (`scan`, `read`, `tally`,
 * `replace`, `deleteWhere`) go to the server the keys were scanned on, as
 * one pipeline or one script; an Error takes the place of a key's result
 * when only that key failed, and the whole call rejects when the server
 * could not be reached.
 */
export interface BulkStore {
  /** The servers holding keys: the standalone server or every Cluster master, asked afresh each call. */
  nodes(): Promise<ScanNode[]>;
  /** Run ID and key count of a server. */
  describe(node: ScanNode): Promise<NodeInfo>;
  /** One SCAN step with MATCH and COUNT. */
  scan(node: ScanNode, cursor: string, match: string, count: number): Promise<ScanPage>;
  /** Values (and, with `withExpiry`, absolute expiries) of keys, pipelined; null for absent keys. */
  read(node: ScanNode, keys: readonly string[], withExpiry: boolean): Promise<(StoredValue | null | Error)[]>;
  /** Like `read`, for keys on any server (routed by key): for looking at a few given keys. */
  lookup(keys: readonly string[], withExpiry: boolean): Promise<(StoredValue | null | Error)[]>;
  /** Classifies keys by their first 7 bytes and sizes, aggregated on the server: a reply of a few entries per batch. */
  tally(node: ScanNode, keys: readonly string[]): Promise<HeadTally[]>;
  /**
   * One SCAN step and the census of the keys it found that start with
   * `namespace`, both on the server (a script): the reply is the cursor and
   * a few tally entries, without key names.
   */
  tallyScan(node: ScanNode, cursor: string, match: string, count: number, namespace: string): Promise<TallyPage>;
  /** Compare-and-set of each item, keeping its TTL exactly; never re-creates a deleted key. */
  replace(node: ScanNode, items: readonly ReplaceItem[]): Promise<(ReplaceResult | Error)[]>;
  /** Creates each key only if absent, with its absolute expiry; routed by key (any server). */
  create(items: readonly CreateItem[]): Promise<("created" | "exists" | Error)[]>;
  /** Deletes (UNLINK) the keys the rule selects, deciding and deleting each atomically on the server. */
  deleteWhere(node: ScanNode, keys: readonly string[], rule: DeleteRule): Promise<DeleteTally>;
}

/** One server-side census step. */
export interface TallyPage {
  readonly cursor: string;
  /** Keys of the namespace the step counted. */
  readonly keys: number;
  readonly tally: HeadTally[];
}

/** A store that offers the bulk primitives: every store protocache ships. */
export interface ScanCapable {
  readonly bulk: BulkStore;
}

/** True when `store` offers {@link BulkStore} primitives. */
export function isScanCapable(store: unknown): store is ScanCapable {
  return typeof store === "object" && store !== null && "bulk" in store && typeof (store as ScanCapable).bulk === "object";
}
