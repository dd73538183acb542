/**
 * Where an accessor's and an operation's outcomes go besides `stats()`:
 * a small interface any metrics system can implement (protocache ships an
 * OpenTelemetry adapter, `protocache/otel`). Accessors call it on the hot
 * path, so implementations must be cheap and must not throw.
 */
import type { ServedAgeSource } from "./age-histogram.js";

/** The fixed attributes of one accessor or operation. */
export interface MetricScope {
  /** Full message name, e.g. `acme.user.v1.User`. */
  readonly message: string;
  /** Entity name from the key template, e.g. `user`. */
  readonly entity: string;
  readonly major: number;
  /** Schema ID of the revision this code writes. */
  readonly schemaId: number;
  readonly variant: string | undefined;
}

/** Calls timed on an accessor. */
export type TimedCall = "get" | "getMany" | "set" | "setMany" | "delete" | "invalidateTags" | "clear";

/** Receives the outcomes of one scope. */
export interface MetricRecorder {
  /**
   * One outcome of a counter group of `stats()` (`reads`, `writes`,
   * `deletes`, and any group added later), with the schema ID it concerns
   * when there is one. Every increment of `stats()` arrives here.
   */
  count(group: string, outcome: string, schemaId: number | undefined): void;
  /**
   * How long one accessor call took, in milliseconds. Optional: without it
   * the accessor reads no clock (two clock reads per call cost about as
   * much as everything else a no-op sink costs).
   */
  duration?(call: TimedCall, ms: number): void;
  /**
   * What an accessor's L1 holds, read when the metrics system collects
   * (gauges): called once when an accessor with `l1` is made; the function
   * it returns is called when the accessor closes. Optional.
   */
  held?(read: () => { readonly entries: number; readonly bytes: number }): () => void;
  /**
   * The age of one value served (docs/served-age.md): `ms` since its
   * envelope's written-at, negative when the writer's clock was ahead of
   * this process's (`stats()` records those as 0 and counts them as
   * `clockSkew`), undefined for an entry without a written-at. Called on
   * every hit, L1 hits included, while the accessor's `servedAge` is on
   * (the default): it must cost next to nothing. Optional.
   */
  servedAge?(source: ServedAgeSource, ms: number | undefined): void;
  /**
   * The staleness audit found a served value different from the source's
   * (docs/served-age.md): where it was served from and its age then (as in
   * `servedAge`). The audit's counters arrive through `count("audit", …)`.
   * Optional.
   */
  auditDivergence?(source: ServedAgeSource, ms: number | undefined): void;
  /** `n` keys of a bulk operation (`migrate`, `census`, `cleanup`) had this outcome. */
  operation(operation: string, outcome: string, n: number, schemaId: number | undefined): void;
}

/**
 * A metrics backend: binds once per accessor (or operation) to its fixed
 * attributes and returns the recorder that is then called per outcome.
 *
 * @example
 * ```ts
 * const counts = new Map<string, number>();
 * const sink: MetricsSink = {
 *   bind: (scope) => ({
 *     count: (group, outcome) => counts.set(`${scope.entity}.${group}.${outcome}`, (counts.get(`${scope.entity}.${group}.${outcome}`) ?? 0) + 1),
 *     duration: () => {},
 *     operation: () => {},
 *   }),
 * };
 * const users = userCache(store, { metrics: sink });
 * ```
 */
export interface MetricsSink {
  bind(scope: MetricScope): MetricRecorder;
}

const noop = (): void => {};
const noopRecorder: MetricRecorder = { count: noop, operation: noop };

/** A sink that drops every count and asks for no durations: the cost of the metrics hooks alone (benchmarks, tests). */
export const noopMetrics: MetricsSink = { bind: () => noopRecorder };
