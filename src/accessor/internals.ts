import type { Stamp } from "../envelope/encode.js";
import type { CacheStore } from "../stores/store.js";
import type { L1 } from "../l1/l1.js";
import type { MetricRecorder } from "../metrics/sink.js";
import type { Entity } from "./entity.js";
import type { ResolvedOptions } from "./options.js";
import type { Interpretation } from "./read.js";

/** Key under which an accessor exposes {@link AccessorInternals} to protocache's own operations. */
export const accessorInternals: unique symbol = Symbol.for("protocache.accessorInternals");

/**
 * What operations (migrate, census, cleanup) need of an accessor: its
 * entity, store, key space and, above all, its read path. `interpret` is
 * the very function `get` runs (decision table, declared defaults and
 * whatever the accessor adds to it), so a migration upgrades exactly as a
 * read would; it counts nothing, since an operation's reads are not
 * traffic. Internal: not part of the public API.
 */
export interface AccessorInternals<T, K = never> {
  readonly entity: Entity<T, K>;
  readonly store: CacheStore;
  readonly options: ResolvedOptions<T>;
  /** `{prefix}{entity}:v{major}[:{variant}]:` */
  readonly keyBase: string;
  /** The key of these key fields (or of a value: its own key fields). */
  keyOf(fields: K): string;
  /** The read path of `get`, without counting (`key`: the key the bytes were read at, for messages; `budget`: work units it may take, at most `maxReadWork`). */
  interpret(bytes: Buffer, key?: string, budget?: number): Interpretation<T>;
  /** The bytes `set` would store for `value` (current revision, this accessor's envelope options). */
  /** The envelope of `value`; `stamp` keeps an entry's own written-at and tags when it is rewritten. */
  /** Resolves true once the tag states' tracking is live (false without the `invalidation` option or tracking). */
  invalidationReady(timeoutMs: number): Promise<boolean>;
  encode(value: T, key?: string, stamp?: Stamp): Buffer;
  /** The accessor's metrics recorder, when a sink is configured. */
  readonly recorder: MetricRecorder | undefined;
  /** The accessor's L1 (the `l1` option), for tools and tests: `ready(ms)` waits until tracking is live. */
  readonly l1: L1<Interpretation<T>> | undefined;
  /**
   * For the accessor of a `migrates_from` entity: the previous major's key
   * space and its read path followed by the typed `fromPrevious`, so
   * `migrate` can move that key space into this one. Absent otherwise.
   */
  readonly previous?: PreviousMajor<T, K> | undefined;
}

/**
 * The previous major as `migrate` needs it (`keyBase`, `convert`), plus
 * what the accessor of a `migrates_from` entity also knows (set there,
 * absent in a shape a tool builds itself).
 */
export interface PreviousMajor<T, K = never> {
  /** `{prefix}{entity}:v{previous major}[:{variant}]:`. */
  readonly keyBase: string;
  /**
   * Bytes at a previous-major key → this major's value: the previous
   * major's read path, then `fromPrevious`. Outcome `read_through` with the
   * value, `upgrade_failed` when the conversion threw, or the previous
   * entry's own outcome when it has no value.
   */
  convert(
    bytes: Buffer,
    key?: string,
    budget?: number,
  ): Interpretation<T> | { readonly outcome: string; readonly value: T | undefined; readonly header: Interpretation<T>["header"]; readonly error: Error | undefined; readonly work?: number };
  /** The previous major's entity (its revisions, key template and codec). */
  readonly entity?: Entity<unknown, unknown>;
  /** The previous major's key for this major's key fields. */
  readonly keyOf?: (fields: K) => string;
  /** The service's `toPrevious` (dual-write), when defined. */
  readonly toPrevious?: ((value: T) => unknown) | undefined;
}

/** An accessor carrying {@link AccessorInternals}. */
export interface WithInternals<T, K = never> {
  [accessorInternals](): AccessorInternals<T, K>;
}

/** The internals of an accessor made by protocache; undefined for anything else. */
export function internalsOf<T, K = never>(accessor: unknown): AccessorInternals<T, K> | undefined {
  if (typeof accessor !== "object" || accessor === null || !(accessorInternals in accessor)) return undefined;
  return (accessor as WithInternals<T, K>)[accessorInternals]();
}
