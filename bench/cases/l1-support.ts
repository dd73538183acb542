// Shared by the l1 suite's cases (bench/cases/l1.ts, bench/cases/l1-heap.ts): accessors made ready, keys
// written and their invalidations heard before anything is measured.
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import { internalsOf } from "../../src/accessor/internals.js";
import type { InvalidationSource, InvalidationWatch } from "../../src/l1/invalidation-source.js";
import type { Goal } from "../harness.js";

export const keysPerCaller = 16;
export type Op = (caller: number, i: number) => Promise<unknown>;
export type AnyCache = EntityCache<unknown, never>;

/** No target, a ratio. */
export const reported: Goal = { kind: "reported" };

/** Invalidated keys of `prefix` as `source` delivers them (what the suite waits for before it measures L1 hits). */
export function listen(source: InvalidationSource, prefix: string): { readonly keys: Set<string>; flushes: number; readonly watch: InvalidationWatch } {
  const heard = {
    keys: new Set<string>(),
    flushes: 0,
    watch: undefined as unknown as InvalidationWatch,
  };
  heard.watch = source.watch(prefix, {
    invalidate: (keys) => {
      for (const k of keys) heard.keys.add(k);
    },
    flush: () => void (heard.flushes += 1),
  });
  return heard;
}

/** Polls `done` every few milliseconds; throws after `timeoutMs`. */
export async function until(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`l1 bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits until the accessor's L1 tracking is live. */
export async function l1Ready(cache: AnyCache): Promise<void> {
  const l1 = internalsOf<unknown, never>(cache)?.l1;
  if (l1 === undefined || !(await l1.ready(10_000))) throw new Error("l1 bench: the L1's tracking did not become live within 10 s");
}

/** Writes `values` through `writer` (an accessor without L1) and waits until Redis's invalidations of every one of them reached `source`. */
export async function writeAndHear(writer: AnyCache, source: InvalidationSource, prefix: string, values: readonly unknown[]): Promise<void> {
  const heard = listen(source, prefix);
  try {
    if (!(await heard.watch.ready(10_000))) throw new Error("l1 bench: tracking of the listener did not become live");
    for (let i = 0; i < values.length; i += 500) await writer.setMany(values.slice(i, i + 500));
    const keys = values.map((v) => writer.keyOf(v as never));
    await until(() => keys.every((k) => heard.keys.has(k)), `the invalidations of ${keys.length} writes`);
  } finally {
    heard.watch.close();
  }
}
