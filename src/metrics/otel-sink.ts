import type { Attributes, Counter, Histogram, Meter, ObservableResult } from "@opentelemetry/api";
import { AGE_BOUNDS_MS, SERVED_AGE_SOURCES, type ServedAgeSource } from "./age-histogram.js";
import type { MetricRecorder, MetricsSink, TimedCall } from "./sink.js";
import { boolean, integer, options as optionsOf, text, withDefault, type ShapeOf } from "../validation/index.js";

/** Options of {@link openTelemetryMetrics}. */
export interface OpenTelemetryMetricsOptions {
  /** Prefix of every instrument name. Default `"protocache"`. */
  readonly prefix?: string;
  /**
   * Distinct schema IDs reported per accessor before the rest are reported
   * as `"other"`: a hostile or damaged cache cannot explode the metric's
   * cardinality with made-up IDs. Default 32.
   */
  readonly maxSchemaIds?: number;
  /**
   * Record every served value's age in the histogram
   * `protocache.served.age` (docs/served-age.md). Each is one
   * `Histogram.record` per hit, L1 hits included: in the OpenTelemetry SDK
   * about as costly as the hit's own counter (docs/served-age.md, "What it
   * costs"). `false` leaves them out (`stats().servedAge` still has them).
   * Default true.
   */
  readonly servedAge?: boolean;
}

const otelOptions = optionsOf(
  {
    prefix: withDefault(text({ nonEmpty: true }), "protocache"),
    maxSchemaIds: withDefault(integer(0, 1_000_000), 32),
    servedAge: withDefault(boolean(), true),
  } satisfies ShapeOf<OpenTelemetryMetricsOptions>,
  { name: "OpenTelemetry metrics options" },
);

const calls: readonly TimedCall[] = ["get", "getMany", "set", "setMany", "delete"];
/** Seconds: from a local round trip to a slow failover. */
const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Seconds: the age histograms' bounds (AGE_BOUNDS_MS), the same buckets as `stats().servedAge`. */
const ageBuckets = AGE_BOUNDS_MS.map((ms) => ms / 1000);

const hex = (id: number): string => `0x${id.toString(16).padStart(8, "0")}`;

/**
 * A {@link MetricsSink} on an OpenTelemetry `Meter` you made
 * (`metrics.getMeter("my-service")`): counters `protocache.reads`,
 * `protocache.writes`, `protocache.deletes` (and one per counter group
 * added later) with attributes `protocache.entity`, `protocache.major`,
 * `protocache.message`, `protocache.outcome` and `protocache.schema_id`;
 * `protocache.operation.keys` for migrate/census/cleanup; the gauges
 * `protocache.l1.entries` and `protocache.l1.bytes` (what each accessor's
 * L1 holds, read at collection; the L1 counters are `protocache.l1`); and the histogram
 * `protocache.call.duration` (seconds, attribute `protocache.call`); the
 * histogram `protocache.served.age` (seconds since the envelope's
 * written-at of each value served, attribute `protocache.source`: `l1`,
 * `redis`, `stale`, `fail_safe`; the buckets of `stats().servedAge`) with
 * the counters `protocache.served.no_written_at` (values without a
 * written-at, not in the histogram) and `protocache.served.clock_skew`
 * (negative ages, recorded as 0); and for the staleness audit the counter
 * `protocache.audit` (by outcome) and the histogram
 * `protocache.audit.divergent.age` (docs/served-age.md). This
 * module imports nothing from `@opentelemetry/api` at run time: it only
 * calls the meter it is given.
 *
 * @example
 * ```ts
 * import { metrics } from "@opentelemetry/api";
 * import { openTelemetryMetrics } from "protocache/otel";
 * const sink = openTelemetryMetrics(metrics.getMeter("accounts"));
 * const users = userCache(store, { metrics: sink });
 * ```
 */
export function openTelemetryMetrics(meter: Meter, options: OpenTelemetryMetricsOptions = {}): MetricsSink {
  const { prefix, maxSchemaIds: maxIds, servedAge } = otelOptions(options, "");
  const counters = new Map<string, Counter>();
  const counterOf = (group: string): Counter => {
    let counter = counters.get(group);
    if (counter === undefined) {
      counter = meter.createCounter(`${prefix}.${group}`, { description: `protocache ${group} by outcome and schema ID` });
      counters.set(group, counter);
    }
    return counter;
  };
  const operations = meter.createCounter(`${prefix}.operation.keys`, { description: "keys handled by protocache operations (migrate, census, cleanup) by outcome" });
  const durations: Histogram = meter.createHistogram(`${prefix}.call.duration`, {
    description: "duration of protocache accessor calls",
    unit: "s",
    advice: { explicitBucketBoundaries: buckets },
  });
  const ages: Histogram = meter.createHistogram(`${prefix}.served.age`, {
    description: "age of the values protocache served (now less the envelope's written-at), by source",
    unit: "s",
    advice: { explicitBucketBoundaries: ageBuckets },
  });
  const divergentAges: Histogram = meter.createHistogram(`${prefix}.audit.divergent.age`, {
    description: "age, when served, of the values the staleness audit found different from the source, by source",
    unit: "s",
    advice: { explicitBucketBoundaries: ageBuckets },
  });
  const unaged = meter.createCounter(`${prefix}.served.no_written_at`, { description: "values protocache served whose envelope has no written-at (no age), by source" });
  const skewed = meter.createCounter(`${prefix}.served.clock_skew`, { description: "values protocache served written in this process's future (a writer's clock ahead), recorded as age 0, by source" });
  /** Every open L1 with its attributes: what the two gauges observe at collection. */
  const l1s = new Set<{ readonly attributes: Attributes; readonly read: () => { readonly entries: number; readonly bytes: number } }>();
  let gauges = false;
  const observeL1 = (): void => {
    if (gauges) return;
    gauges = true;
    const observe = (field: "entries" | "bytes") => (result: ObservableResult) => {
      for (const l1 of l1s) result.observe(l1.read()[field], l1.attributes);
    };
    meter.createObservableGauge(`${prefix}.l1.entries`, { description: "entries an accessor's L1 holds" }).addCallback(observe("entries"));
    meter.createObservableGauge(`${prefix}.l1.bytes`, { description: "estimated heap bytes an accessor's L1 holds", unit: "By" }).addCallback(observe("bytes"));
  };
  return {
    bind(scope): MetricRecorder {
      const base: Attributes = {
        "protocache.entity": scope.entity,
        "protocache.major": scope.major,
        "protocache.message": scope.message,
        ...(scope.variant === undefined ? {} : { "protocache.variant": scope.variant }),
      };
      const ids = new Set<number>();
      const cache = new Map<string, Attributes>();
      const attributes = (kind: string, name: string, outcome: string, schemaId: number | undefined): Attributes => {
        const key = `${kind}\u0000${name}\u0000${outcome}\u0000${schemaId ?? ""}`;
        let found = cache.get(key);
        if (found === undefined) {
          let id: string | undefined;
          if (schemaId !== undefined) {
            if (ids.size < maxIds) ids.add(schemaId);
            id = ids.has(schemaId) ? hex(schemaId) : "other";
          }
          found = { ...base, [kind]: name, "protocache.outcome": outcome, ...(id === undefined ? {} : { "protocache.schema_id": id }) };
          if (id !== "other") cache.set(key, found);
        }
        return found;
      };
      const callAttributes = new Map(calls.map((c) => [c, { ...base, "protocache.call": c } as Attributes]));
      const sourceAttributes = new Map(SERVED_AGE_SOURCES.map((s) => [s, { ...base, "protocache.source": s } as Attributes]));
      /** An age into `histogram`; `served` ages also count those without a written-at and those in the future. */
      const age = (histogram: Histogram, source: ServedAgeSource, ms: number | undefined, served: boolean): void => {
        const attributes = sourceAttributes.get(source);
        if (ms === undefined) return void (served && unaged.add(1, attributes));
        if (ms < 0 && served) skewed.add(1, attributes);
        histogram.record(ms < 0 ? 0 : ms / 1000, attributes);
      };
      return {
        count: (group, outcome, schemaId) => counterOf(group).add(1, attributes("protocache.group", group, outcome, schemaId)),
        duration: (call, ms) => durations.record(ms / 1000, callAttributes.get(call)),
        ...(servedAge ? { servedAge: (source: ServedAgeSource, ms: number | undefined) => age(ages, source, ms, true) } : {}),
        auditDivergence: (source, ms) => age(divergentAges, source, ms, false),
        operation: (operation, outcome, n, schemaId) => operations.add(n, attributes("protocache.operation", operation, outcome, schemaId)),
        held: (read) => {
          observeL1();
          const entry = { attributes: base, read };
          l1s.add(entry);
          return () => void l1s.delete(entry);
        },
      };
    },
  };
}
