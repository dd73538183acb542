import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type HistogramMetricData, type SumMetricData } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import { ConfigError } from "../../src/errors.js";
import { AGE_BOUNDS_MS, ageBucketOf, AgeHistograms, ageQuantile, SERVED_AGE_SOURCES, type ServedAgeSource } from "../../src/metrics/age-histogram.js";
import { openTelemetryMetrics } from "../../src/metrics/otel-sink.js";
import type { MetricsSink } from "../../src/metrics/sink.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { AGE_BOUNDS_MS as exportedBounds, ageQuantile as exportedQuantile } from "../../src/index.js";
import { newerUserEntry } from "../support/entries.js";

const user = (id: string, name = `n${id}`): User => ({ id, name, email: "", fullName: "", verified: false, locale: "" });

/** An envelope of `value` written at `writtenAt` (epoch ms), or without a written-at. */
function entry(value: User, writtenAt: number | undefined): Buffer {
  return encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { writtenAt: writtenAt !== undefined, writerTag: undefined, compression: "none", compressMinBytes: 1024 }, writtenAt ?? 0);
}

describe("age histogram", () => {
  it("buckets are upper-inclusive: (bound[i-1], bound[i]], bucket 0 from 0 to 1 ms, the last above 30 days", () => {
    expect(AGE_BOUNDS_MS.length).toBe(26);
    expect(ageBucketOf(0)).toBe(0);
    expect(ageBucketOf(1)).toBe(0);
    expect(ageBucketOf(1.5)).toBe(1);
    expect(ageBucketOf(5)).toBe(1);
    expect(ageBucketOf(6)).toBe(2);
    AGE_BOUNDS_MS.forEach((bound, i) => {
      expect(ageBucketOf(bound)).toBe(i);
      expect(ageBucketOf(bound + 0.5)).toBe(i + 1);
    });
    expect(ageBucketOf(2_592_000_001)).toBe(26);
    expect(ageBucketOf(Number.MAX_SAFE_INTEGER)).toBe(26);
    // Strictly increasing bounds, with one at each usual TTL.
    for (let i = 1; i < AGE_BOUNDS_MS.length; i++) expect(AGE_BOUNDS_MS[i]).toBeGreaterThan(AGE_BOUNDS_MS[i - 1] as number);
    for (const ttl of [60_000, 300_000, 3_600_000, 86_400_000]) expect(AGE_BOUNDS_MS).toContain(ttl);
    expect(exportedBounds).toBe(AGE_BOUNDS_MS);
  });

  it("the fast bucket index agrees with a plain search over the bounds, for every integer age to 70 000 ms and around every bound", () => {
    const reference = (ms: number): number => {
      const i = AGE_BOUNDS_MS.findIndex((b) => ms <= b);
      return i === -1 ? AGE_BOUNDS_MS.length : i;
    };
    const ages = [...Array.from({ length: 70_000 }, (_, i) => i), ...AGE_BOUNDS_MS.flatMap((b) => [b - 1, b - 0.25, b, b + 0.25, b + 1]), 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 40, 0.5];
    for (const ms of ages) expect(ageBucketOf(ms), String(ms)).toBe(reference(ms));
  });

  it("records count, sum, max and buckets per series; a negative age (clock skew) is recorded as 0 and counted; no written-at is counted apart, not as 0", () => {
    const h = new AgeHistograms(2);
    h.record(1, 250);
    h.record(1, 90_000);
    h.record(1, -40);
    h.record(1, undefined);
    h.record(1, undefined);
    const s = h.snapshot(1);
    expect(s.count).toBe(3);
    expect(s.sumMs).toBe(90_250);
    expect(s.maxMs).toBe(90_000);
    expect(s.clockSkew).toBe(1);
    expect(s.noWrittenAt).toBe(2);
    expect(s.buckets.length).toBe(AGE_BOUNDS_MS.length + 1);
    expect(s.buckets[0]).toBe(1); // the skewed one, as 0
    expect(s.buckets[ageBucketOf(250)]).toBe(1);
    expect(s.buckets[ageBucketOf(90_000)]).toBe(1);
    expect(s.buckets.reduce((a, b) => a + b, 0)).toBe(3);
    expect(h.snapshot(0)).toEqual({ count: 0, sumMs: 0, maxMs: 0, buckets: new Array(27).fill(0), clockSkew: 0, noWrittenAt: 0 });
  });

  it("ageQuantile interpolates within the bucket it falls in, never above maxMs; undefined when empty", () => {
    const h = new AgeHistograms(1);
    expect(ageQuantile(h.snapshot(0), 0.5)).toBeUndefined();
    for (let i = 0; i < 100; i++) h.record(0, i < 90 ? 3_000 : 200_000);
    const s = h.snapshot(0);
    const p50 = ageQuantile(s, 0.5) as number;
    expect(p50).toBeGreaterThan(2_000);
    expect(p50).toBeLessThanOrEqual(5_000);
    const p99 = ageQuantile(s, 0.99) as number;
    expect(p99).toBeGreaterThan(120_000);
    expect(p99).toBeLessThanOrEqual(200_000);
    expect(ageQuantile(s, 1)).toBe(200_000);
    expect(ageQuantile(s, 2)).toBeUndefined();
    expect(exportedQuantile).toBe(ageQuantile);
  });
});

describe("served age of an accessor", () => {
  it("get records Redis reads by age (a MemoryStore is the 'redis' source): entries without a written-at and entries from the future are counted apart", async () => {
    const store = new MemoryStore();
    const users = userCache(store);
    store.setRaw("user:v1:old", entry(user("old"), Date.now() - 200_000));
    store.setRaw("user:v1:none", entry(user("none"), undefined));
    store.setRaw("user:v1:future", entry(user("future"), Date.now() + 60_000));
    expect(await users.get({ id: "old" })).toEqual(user("old"));
    expect(await users.getMany([{ id: "none" }, { id: "future" }, { id: "missing" }])).toEqual([user("none"), user("future"), undefined]);
    const { redis, l1, stale, fail_safe } = users.stats().servedAge;
    expect(redis.count).toBe(2);
    expect(redis.noWrittenAt).toBe(1);
    expect(redis.clockSkew).toBe(1);
    expect(redis.buckets[0]).toBe(1);
    expect(redis.buckets[ageBucketOf(200_000)]).toBe(1); // (120 s, 300 s]
    expect(redis.maxMs).toBeGreaterThanOrEqual(200_000);
    for (const h of [l1, stale, fail_safe]) expect(h.count + h.noWrittenAt).toBe(0);
  });

  it("servedAge: false records nothing; the option is validated", async () => {
    const store = new MemoryStore();
    const users = userCache(store, { servedAge: false });
    await users.set(user("a"));
    await users.get({ id: "a" });
    expect(users.stats().servedAge.redis).toMatchObject({ count: 0, noWrittenAt: 0 });
    expect(() => userCache(store, { servedAge: "yes" as unknown as boolean })).toThrow(ConfigError);
  });

  it("the audit option is validated by the one validation module", () => {
    const store = new MemoryStore();
    expect(() => userCache(store, { audit: { sampleRate: 0 } })).toThrow(/audit\.sampleRate/);
    expect(() => userCache(store, { audit: { sampleRate: 1.5 } })).toThrow(ConfigError);
    expect(() => userCache(store, { audit: { sampleRate: 0.1, maxPerSecond: 0 } })).toThrow(/audit\.maxPerSecond/);
    expect(() => userCache(store, { audit: { sampleRat: 0.1 } as never })).toThrow(/sampleRate/);
    expect(() => userCache(store, { audit: 0.1 as never })).toThrow(ConfigError);
    expect(() => userCache(store, { audit: false })).not.toThrow();
    expect(() => userCache(store, { audit: { sampleRate: 0.5 } })).not.toThrow();
  });

  it("the metrics sink receives every served age (raw: negative for clock skew, undefined without a written-at) and stats() agrees", async () => {
    const got: [ServedAgeSource, number | undefined][] = [];
    const sink: MetricsSink = { bind: () => ({ count: () => {}, operation: () => {}, servedAge: (source, ms) => void got.push([source, ms]) }) };
    const store = new MemoryStore();
    const users = userCache(store, { metrics: sink, l1: { maxEntries: 10, maxBytes: 1 << 20 } });
    store.setRaw("user:v1:a", entry(user("a"), Date.now() - 3_000));
    store.setRaw("user:v1:none", entry(user("none"), undefined));
    store.setRaw("user:v1:future", entry(user("future"), Date.now() + 60_000));
    await users.get({ id: "a" });
    await users.get({ id: "a" });
    await users.getMany([{ id: "a" }, { id: "none" }, { id: "future" }]);
    expect(got.map(([s]) => s)).toEqual(["redis", "l1", "l1", "redis", "redis"]);
    expect(got[3]?.[1]).toBeUndefined();
    expect(got[4]?.[1]).toBeLessThan(0);
    const stats = users.stats().servedAge;
    for (const source of SERVED_AGE_SOURCES) expect(stats[source].count + stats[source].noWrittenAt).toBe(got.filter(([s]) => s === source).length);
    expect(stats.l1.count).toBe(2);
    expect(stats.l1.buckets[ageBucketOf(3_000)]).toBe(2);
    await users.close();
  });

  it("the OpenTelemetry adapter exports protocache.served.age (seconds, the stats() buckets, by source) and counts entries without a written-at and from the future", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const store = new MemoryStore();
    const users = userCache(store, { metrics: openTelemetryMetrics(provider.getMeter("test")), l1: { maxEntries: 10, maxBytes: 1 << 20 } });
    store.setRaw("user:v1:a", entry(user("a"), Date.now() - 200_000));
    store.setRaw("user:v1:none", entry(user("none"), undefined));
    store.setRaw("user:v1:future", entry(user("future"), Date.now() + 60_000));
    await users.get({ id: "a" });
    await users.get({ id: "a" });
    await users.get({ id: "a" });
    await users.getMany([{ id: "none" }, { id: "future" }]);
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const ages = metrics.find((m) => m.descriptor.name === "protocache.served.age") as HistogramMetricData;
    expect(ages.descriptor.unit).toBe("s");
    const l1 = ages.dataPoints.find((d) => d.attributes["protocache.source"] === "l1");
    const redis = ages.dataPoints.find((d) => d.attributes["protocache.source"] === "redis");
    expect(l1?.attributes).toMatchObject({ "protocache.entity": "user", "protocache.major": 1 });
    expect(l1?.value.count).toBe(2);
    expect(redis?.value.count).toBe(2); // "a" once, "future" as 0
    expect(l1?.value.buckets.boundaries).toEqual(AGE_BOUNDS_MS.map((ms) => ms / 1000));
    // The same bucket counts as stats(): (120 s, 300 s] holds both L1 hits.
    const stats = users.stats().servedAge;
    expect(l1?.value.buckets.counts).toEqual(stats.l1.buckets);
    expect(redis?.value.buckets.counts).toEqual(stats.redis.buckets);
    expect(l1?.value.buckets.counts[ageBucketOf(200_000)]).toBe(2);
    const sum = (name: string) => ((metrics.find((m) => m.descriptor.name === name) as SumMetricData | undefined)?.dataPoints ?? []).reduce((n, d) => n + d.value, 0);
    expect(sum("protocache.served.no_written_at")).toBe(1);
    expect(sum("protocache.served.clock_skew")).toBe(1);
    await users.close();
    await provider.shutdown();
  });

  it("the OpenTelemetry adapter exports the audit's counters (protocache.audit, equal to stats().audit) and the ages of divergent entries (protocache.audit.divergent.age, by source)", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const store = new MemoryStore();
    const users = userCache(store, { metrics: openTelemetryMetrics(provider.getMeter("test")), audit: { sampleRate: 1 } });
    store.setRaw("user:v1:a", entry(user("a", "cached"), Date.now() - 200_000));
    store.setRaw("user:v1:b", entry(user("b"), Date.now() - 200_000));
    const source = (id: string): User => user(id, id === "a" ? "changed" : `n${id}`);
    expect(await users.getOrSet({ id: "a" }, ({ id }) => source(id))).toEqual(user("a", "cached"));
    expect(await users.getOrSet({ id: "b" }, ({ id }) => source(id))).toEqual(user("b"));
    await users.close(); // waits for the audits
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    const audit = users.stats().audit;
    expect(audit).toMatchObject({ sampled: 2, loader_call: 2, audited: 2, divergent: 1 });
    const points = (metrics.find((m) => m.descriptor.name === "protocache.audit") as SumMetricData).dataPoints;
    for (const outcome of ["sampled", "loader_call", "audited", "divergent"] as const) {
      expect(points.find((d) => d.attributes["protocache.outcome"] === outcome)?.value, outcome).toBe(audit[outcome]);
    }
    const ages = (metrics.find((m) => m.descriptor.name === "protocache.audit.divergent.age") as HistogramMetricData).dataPoints;
    expect(ages.length).toBe(1);
    expect(ages[0]?.attributes["protocache.source"]).toBe("redis");
    expect(ages[0]?.value.count).toBe(1);
    expect(ages[0]?.value.buckets.counts).toEqual(audit.divergentAge.buckets);
    expect(audit.divergentAge.buckets[ageBucketOf(200_000)]).toBe(1);
    await provider.shutdown();
  });

  it("the audit compares the fields this code knows: a newer revision's entry (with a field this code does not know) equal to the source on those is not divergent; one that differs is", async () => {
    const store = new MemoryStore();
    const users = userCache(store, { audit: { sampleRate: 1 } });
    const newer = { id: "n", name: "ada", email: "a@example.com", fullName: "Ada", verified: true, locale: "en-GB", nickname: "countess" };
    store.setRaw("user:v1:n", newerUserEntry(newer));
    store.setRaw("user:v1:m", newerUserEntry({ ...newer, id: "m" }));
    const source = (id: string): User => ({ id, name: "ada", email: "a@example.com", fullName: id === "m" ? "Ada Lovelace" : "Ada", verified: true, locale: "en-GB" });
    expect((await users.getOrSet({ id: "n" }, ({ id }) => source(id)))?.fullName).toBe("Ada");
    expect((await users.getOrSet({ id: "m" }, ({ id }) => source(id)))?.fullName).toBe("Ada");
    await users.close();
    expect(users.stats().reads.unknown).toBe(2);
    expect(users.stats().audit).toMatchObject({ sampled: 2, audited: 2, divergent: 1 });
  });

  it("openTelemetryMetrics(meter, { servedAge: false }) records no ages (stats() still does); its options are validated", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const store = new MemoryStore();
    const users = userCache(store, { metrics: openTelemetryMetrics(provider.getMeter("test"), { servedAge: false }) });
    await users.set(user("a"));
    await users.get({ id: "a" });
    await reader.forceFlush();
    const metrics = exporter.getMetrics().flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics));
    expect((metrics.find((m) => m.descriptor.name === "protocache.served.age") as HistogramMetricData | undefined)?.dataPoints ?? []).toEqual([]);
    expect(users.stats().servedAge.redis.count).toBe(1);
    expect(() => openTelemetryMetrics(provider.getMeter("test"), { servedAge: "no" as never })).toThrow(/servedAge/);
    expect(() => openTelemetryMetrics(provider.getMeter("test"), { maxSchemaId: 4 } as never)).toThrow(/maxSchemaIds/);
    expect(() => openTelemetryMetrics(provider.getMeter("test"), { prefix: "" })).toThrow(ConfigError);
    await provider.shutdown();
  });
});
