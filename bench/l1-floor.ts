// `node --import tsx bench/l1-floor.ts`: what an L1 hit costs against a
// Map.get of the same objects, how much of it a key built per call takes,
// and what the L1's clock costs (docs/l1.md "Past the floor", "The clock"):
// synchronous loops
// over 1024 held User values (MemoryStore, tracking always live), 15
// interleaved rounds of 200 ms, medians per call.
import { createEntityCache } from "../src/accessor/entity-cache.js";
import { monotonicNow } from "../src/clock.js";
import { L1 } from "../src/l1/l1.js";
import { MemoryTracking } from "../src/stores/memory/memory-tracking.js";
import { internalsOf } from "../src/accessor/internals.js";
import { MemoryStore } from "../src/stores/memory/memory-store.js";
import { compareMicro } from "./harness.js";
import { fixtures } from "./fixtures.js";

const [user] = fixtures();
if (user === undefined) throw new Error("no fixture");
const cache = createEntityCache(user.entity, new MemoryStore(), { ttlSeconds: 3600, l1: { maxEntries: 100_000, maxBytes: 256 << 20, ttlSeconds: 3600 } });
const l1 = internalsOf(cache)?.l1;
if (l1 === undefined) throw new Error("no L1");
const fields: { id: string }[] = [];
const keys: string[] = [];
const map = new Map<string, unknown>();
for (let i = 0; i < 1024; i++) {
  const f = { id: `u-${i}` };
  fields.push(f);
  await cache.set({ ...(user.value as object), id: f.id } as never);
  const held = await cache.get(f as never);
  keys.push(cache.keyOf(f as never));
  map.set(cache.keyOf(f as never), held);
}
let i = 0;
const options = { rounds: 15, timeMs: 200, batch: 100 };
const floor = (): unknown => map.get(keys[i++ & 1023] as string);
const cases: [string, () => unknown][] = [
  ["L1 read by the id string the caller holds (no key building, no promise)", () => l1.get((fields[i++ & 1023] as { id: string }).id)?.value],
  ["L1 read, id formatted and checked from the fields per call (no promise)", () => l1.get(user.entity.key(fields[i++ & 1023] as never))?.value],
];
for (const [name, run] of cases) {
  const r = compareMicro(run, floor, options);
  console.log(`${name}: ${r.subjectNs.toFixed(0)} ns vs Map.get ${r.baselineNs.toFixed(0)} ns (${(r.baselineNs / r.subjectNs).toFixed(2)}×)`);
}

const parts: [string, () => unknown][] = [
  ["key built from the fields (keyOf) alone", () => cache.keyOf(fields[i++ & 1023] as never)],
  ["Map.get by a key built per call (keyOf)", () => map.get(cache.keyOf(fields[i++ & 1023] as never))],
  ["Map.get by a key concatenated per call (base + id, unchecked)", () => map.get("user:v1:" + (fields[i++ & 1023] as { id: string }).id)],
  ["Date.now() alone (the L1's clock reading)", () => Date.now()],
];
for (const [name, run] of parts) {
  const r = compareMicro(run, floor, options);
  console.log(`${name}: ${r.subjectNs.toFixed(0)} ns vs Map.get ${r.baselineNs.toFixed(0)} ns`);
}

// The L1's clock: the same held values in two bare L1s, one on the clock it uses (Date.now made never to go back),
// one on performance.now(), read by keys built beforehand.
const clocks: [string, () => number][] = [
  ["monotonicNow (Date.now, never back)", monotonicNow],
  ["performance.now()", () => performance.now()],
];
const l1s = clocks.map(([name, now]) => {
  const bare = new L1<{ value: unknown }>("user:", { maxEntries: 100_000, maxBytes: 256 << 20, ttlMs: 3_600_000, values: "frozen", tracking: new MemoryTracking() }, () => undefined, now);
  for (const [j, key] of keys.entries()) {
    const id = (fields[j] as { id: string }).id;
    bare.end(bare.begin(id), { value: map.get(key) }, id, Infinity);
  }
  return [name, bare] as const;
});
for (const [name, bare] of l1s) {
  const r = compareMicro(() => bare.get((fields[i++ & 1023] as { id: string }).id)?.value, floor, options);
  console.log(`bare L1 read on ${name}: ${r.subjectNs.toFixed(0)} ns vs Map.get ${r.baselineNs.toFixed(0)} ns`);
}
await cache.close();
