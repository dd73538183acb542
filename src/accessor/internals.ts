import type { CacheStore } from "../stores/store.js";
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
export interface AccessorInternals<T> {
  readonly entity: Entity<T, never>;
  readonly store: CacheStore;
  readonly options: ResolvedOptions<T>;
  /** `{prefix}{entity}:v{major}[:{variant}]:` */
  readonly keyBase: string;
  /** The read path of `get`, without counting (`key`: the key the bytes were read at, for messages). */
  interpret(bytes: Buffer, key?: string): Interpretation<T>;
  /** The bytes `set` would store for `value` (current revision, this accessor's envelope options). */
  encode(value: T, key?: string): Buffer;
  /** The accessor's metrics recorder, when a sink is configured. */
  readonly recorder: MetricRecorder | undefined;
  /**
   * For the accessor of a `migrates_from` entity: the previous major's key
   * space and its read path followed by the typed `fromPrevious`, so
   * `migrate` can move that key space into this one. Absent otherwise.
   */
  readonly previous?: PreviousMajor<T> | undefined;
}

/**
 * The previous major as `migrate` needs it (the subset of what the
 * migrations runtime exposes for a `migrates_from` entity).
 */
export interface PreviousMajor<T> {
  /** `{prefix}{entity}:v{previous major}[:{variant}]:`. */
  readonly keyBase: string;
  /**
   * Bytes at a previous-major key → this major's value: the previous
   * major's read path, then `fromPrevious`. Outcome `read_through` with the
   * value, `upgrade_failed` when the conversion threw, or the previous
   * entry's own outcome when it has no value.
   */
  convert(bytes: Buffer, key?: string): Interpretation<T> | { readonly outcome: string; readonly value: T | undefined; readonly header: Interpretation<T>["header"]; readonly error: Error | undefined };
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
