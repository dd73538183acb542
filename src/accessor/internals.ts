import type { CacheStore } from "../stores/store.js";
import type { MetricRecorder } from "../metrics/sink.js";
import type { Entity } from "./entity.js";
import type { ResolvedOptions } from "./options.js";
import type { Interpretation } from "./read.js";

/** Key under which an accessor exposes {@link AccessorInternals} to protocache's own operations. */
export const accessorInternals: unique symbol = Symbol.for("protocache.accessor.internals");

/**
 * What operations (migrate, census, cleanup) need of an accessor: its
 * entity, store, key space and, above all, its read path. `interpret` is
 * the very function `get` runs (decision table, declared defaults and
 * whatever the accessor adds to it), so a migration upgrades exactly as a
 * read would; it counts nothing, since an operation's reads are not
 * traffic. Internal: not part of the public API.
 */
export interface AccessorInternals<T> {
  readonly entity: Entity<T, never>;
  readonly store: CacheStore;
  readonly options: ResolvedOptions<T>;
  /** `{prefix}{entity}:v{major}[:{variant}]:` */
  readonly keyBase: string;
  /** The read path of `get`, without counting. */
  interpret(bytes: Buffer): Interpretation<T>;
  /** The bytes `set` would store for `value` (current revision, this accessor's envelope options). */
  encode(value: T, key: string): Buffer;
  /** The accessor's metrics recorder, when a sink is configured. */
  readonly recorder: MetricRecorder | undefined;
  /**
   * For the accessor of a `migrates_from` entity: the previous major's
   * accessor internals and the typed conversion, so `migrate` can move the
   * previous major's key space into this one. Absent otherwise.
   */
  readonly previous?: PreviousMajor<unknown, T> | undefined;
}

/** The previous major of an entity and how its values become this major's. */
export interface PreviousMajor<P, T> {
  readonly internals: AccessorInternals<P>;
  readonly fromPrevious: (old: P) => T;
}

/** An accessor carrying {@link AccessorInternals}. */
export interface WithInternals<T> {
  [accessorInternals](): AccessorInternals<T>;
}

/** The internals of an accessor made by protocache; undefined for anything else. */
export function internalsOf<T>(accessor: unknown): AccessorInternals<T> | undefined {
  if (typeof accessor !== "object" || accessor === null || !(accessorInternals in accessor)) return undefined;
  return (accessor as WithInternals<T>)[accessorInternals]();
}
