import { AggregationTemporality, DataPointType, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type SumMetricData } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { ConfigError } from "../../src/errors.js";
import type { MetricRecorder, MetricScope, MetricsSink } from "../../src/metrics/sink.js";
import { openTelemetryMetrics } from "../../src/metrics/otel-sink.js";
import { cleanup } from "../../src/ops/cleanup.js";
import { migrate } from "../../src/ops/migrate.js";
import type { CacheStats } from "../../src/stats.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { envelope, newerUserEntry, userR1Entry, userRevisionId } from "../support/entries.js";

/** A sink that keeps every call, to compare with stats(). */
function recordingSink(): { sink: MetricsSink; scopes: MetricScope[]; counts: Map<string, number>; durations: string[]; operations: Map<string, number> } {
  const scopes: MetricScope[] = [];
  const counts = new Map<string, number>();
  const durations: string[] = [];
  const operations = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);
  const sink: MetricsSink = {
    bind(scope): MetricRecorder {
      scopes.push(scope);
      return {
        count: (group, outcome, schemaId) => {
          bump(counts, `${group}.${outcome}`);
          if (group === "reads" && schemaId !== undefined) bump(counts, `bySchema.0x${schemaId.toString(16).padStart(8, "0")}`);
        },
        duration: (call, ms) => {
          expect(ms).toBeGreaterThanOrEqual(0);
          durations.push(call);
        },
        operation: (operation, outcome, n) => bump(operations, `${operation}.${outcome}`, n),
      };
    },
  };
  return { sink, scopes, counts, durations, operations };
}

const user = (id: string): User => ({ id, name: id, email: "", fullName: "", verified: false, locale: "" });

/** Drives an accessor through every outcome the read table, writes and deletes have. */
async function exercise(store: MemoryStore, metrics: MetricsSink) {
  const errors: unknown[] = [];
  const users = userCache(store, { metrics, writeBack: true, deleteCorrupt: true, onError: (e) => errors.push(e) });
  const strict = userCache(store, { metrics, minRevision: 2, deleteRejected: true });
  store.setRaw("user:v1:old", userR1Entry({ id: "old", name: "o", email: "" }));
  store.setRaw("user:v1:older", userR1Entry({ id: "older", name: "o", email: "" }));
  store.setRaw("user:v1:new", newerUserEntry({ id: "new", name: "n" }));
  store.setRaw("user:v1:json", Buffer.from("{}"));
  store.setRaw("user:v1:bad", envelope(userRevisionId(2), Buffer.from([0x0a, 0xff])));
  store.setRaw("user:v1:session", envelope(0x60562492, Buffer.alloc(0)));
  await users.set(user("a"));
  await users.setMany([user("b"), user("new")]);
  await users.get({ id: "a" });
  await users.getMany([{ id: "old" }, { id: "new" }, { id: "json" }, { id: "bad" }, { id: "session" }, { id: "none" }]);
  await strict.get({ id: "older" });
  await users.delete({ id: "a" });
  await users.delete({ id: "a" });
  await new Promise((r) => setTimeout(r, 20));
  return { users, strict };
}

function flatten(stats: CacheStats): Map<string, number> {
  const out = new Map<string, number>();
  for (const [group, values] of Object.entries(stats)) {
    for (const [name, n] of Object.entries(values as Record<string, number>)) if (n > 0) out.set(`${group === "readsBySchemaId" ? "bySchema" : group}.${name}`, n);
  }
  return out;
}

describe("metrics sink", () => {
  it("receives exactly what stats() counts, every group and outcome, with the accessor's entity, major and schema ID", async () => {
    const { sink, scopes, counts, durations } = recordingSink();
    const { users, strict } = await exercise(new MemoryStore(), sink);
    const expected = flatten(users.stats());
    for (const [k, n] of flatten(strict.stats())) expected.set(k, (expected.get(k) ?? 0) + n);
    expect(counts).toEqual(expected);
    expect(expected.size).toBeGreaterThan(12);
    expect(scopes[0]).toEqual({ message: "acme.user.v1.User", entity: "user", major: 1, schemaId: userRevisionId(2), variant: undefined });
    expect(new Set(durations)).toEqual(new Set(["get", "getMany", "set", "setMany", "delete"]));
  });

  it("operations report their outcomes through the accessor's sink", async () => {
    const { sink, operations } = recordingSink();
    const store = new MemoryStore();
    for (let i = 0; i < 30; i++) store.setRaw(`user:v1:${i}`, userR1Entry({ id: String(i), name: "", email: "" }));
    const users = userCache(store, { metrics: sink });
    await migrate(users);
    await cleanup(users, { legacy: true });
    expect(operations.get("migrate.migrated")).toBe(30);
    expect(operations.get("cleanup.deleted")).toBe(0);
  });

  it("an accessor refuses a metrics option that is not a sink", () => {
    expect(() => userCache(new MemoryStore(), { metrics: {} as MetricsSink })).toThrow(ConfigError);
  });

  it("the OpenTelemetry adapter exports counters by outcome and schema ID and call durations, read by the SDK's in-memory reader", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const { users } = await exercise(new MemoryStore(), openTelemetryMetrics(provider.getMeter("test")));
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const sum = (name: string, outcome: string, schemaId?: string) =>
      (metrics.find((m) => m.descriptor.name === name) as SumMetricData | undefined)?.dataPoints
        .filter((d) => d.attributes["protocache.outcome"] === outcome && (schemaId === undefined || d.attributes["protocache.schema_id"] === schemaId))
        .reduce((n, d) => n + d.value, 0);
    const stats = users.stats();
    expect(sum("protocache.reads", "upgraded", `0x${userRevisionId(1).toString(16)}`)).toBe(stats.reads.upgraded);
    expect(sum("protocache.reads", "unknown")).toBe(stats.reads.unknown);
    expect(sum("protocache.writes", "written")).toBe(stats.writes.written);
    expect(sum("protocache.deletes", "absent")).toBe(1);
    const durations = metrics.find((m) => m.descriptor.name === "protocache.call.duration") as HistogramMetricData;
    expect(durations.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(durations.descriptor.unit).toBe("s");
    const get = durations.dataPoints.find((d) => d.attributes["protocache.call"] === "get");
    expect(get?.value.count).toBe(2); // one get on each of the two accessors: same attributes
    expect(get?.attributes).toMatchObject({ "protocache.entity": "user", "protocache.major": 1, "protocache.message": "acme.user.v1.User" });
    await provider.shutdown();
  });

  it("the OpenTelemetry adapter exports the L1 counters (protocache.l1) equal to stats().l1 and gauges of the entries and bytes it holds", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const users = userCache(new MemoryStore(), { l1: { maxEntries: 10, maxBytes: 1 << 20 }, metrics: openTelemetryMetrics(provider.getMeter("test")) });
    await users.setMany([user("1"), user("2")]);
    await users.getMany([{ id: "1" }, { id: "2" }]);
    await users.get({ id: "1" });
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const points = (name: string) => (metrics.find((m) => m.descriptor.name === name) as SumMetricData | undefined)?.dataPoints ?? [];
    const l1 = users.stats().l1;
    expect(points("protocache.l1").find((d) => d.attributes["protocache.outcome"] === "hit")?.value).toBe(l1.hit);
    expect(points("protocache.l1").find((d) => d.attributes["protocache.outcome"] === "miss")?.value).toBe(l1.miss);
    expect(points("protocache.l1.entries")[0]?.value).toBe(2);
    expect(points("protocache.l1.bytes")[0]?.value).toBe(l1.bytes);
    expect(points("protocache.l1.bytes")[0]?.attributes).toMatchObject({ "protocache.entity": "user", "protocache.major": 1 });
    await users.close();
    await provider.shutdown();
  });

  it("the OpenTelemetry adapter reports at most maxSchemaIds distinct schema IDs per accessor, the rest as other", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const store = new MemoryStore();
    const users = userCache(store, { metrics: openTelemetryMetrics(provider.getMeter("test"), { maxSchemaIds: 4 }) });
    for (let i = 0; i < 50; i++) store.setRaw(`user:v1:${i}`, envelope(0x7000_0000 + i, Buffer.alloc(0)));
    await users.getMany(Array.from({ length: 50 }, (_, i) => ({ id: String(i) })));
    await reader.forceFlush();
    const reads = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics)).find((m) => m.descriptor.name === "protocache.reads") as SumMetricData;
    const ids = new Set(reads.dataPoints.map((d) => d.attributes["protocache.schema_id"]));
    expect(ids.size).toBe(5);
    expect(reads.dataPoints.find((d) => d.attributes["protocache.schema_id"] === "other")?.value).toBe(46);
    await provider.shutdown();
  });
});
