import { monitorEventLoopDelay } from "node:perf_hooks";
import { GCProfiler, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

/** What one call cost: wall time, CPU time and the memory it needed above what was live before it. */
export interface Cost<T> {
  readonly result: T;
  readonly ms: number;
  /**
   * CPU time the process spent during the call (user and system, all its threads: the collector's helpers too), in
   * ms. Unlike `ms`, it does not grow when other processes take the CPU: the measure that the tests compare.
   */
  readonly cpuMs: number;
  /** Highest V8 heap use during the call (sampled before every collection and at the end) plus ArrayBuffer memory still held at its end, above the start. */
  readonly peakBytes: number;
}

/**
 * Runs `fn` after a full GC and reports its time and peak memory: V8's GC
 * profiler gives the heap in use before every collection during the call,
 * `process.memoryUsage()` the ArrayBuffer memory (decompressed payloads,
 * copies of unknown fields) held at its end. Garbage counts until collected.
 */
export function measure<T>(fn: () => T): Cost<T> {
  const probe = start();
  const result = fn();
  return probe.stop(result);
}

function start(): { stop<T>(result: T): Cost<T> } {
  collect();
  collect();
  const before = process.memoryUsage();
  const profiler = new GCProfiler();
  profiler.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop(result) {
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const { statistics } = profiler.stop();
      const end = process.memoryUsage();
      let heapPeak = end.heapUsed;
      for (const gc of statistics) heapPeak = Math.max(heapPeak, gc.beforeGC.heapStatistics.usedHeapSize);
      const external = Math.max(0, end.arrayBuffers - before.arrayBuffers);
      return { result, ms, cpuMs: (cpu.user + cpu.system) / 1000, peakBytes: Math.max(0, heapPeak - before.heapUsed) + external };
    },
  };
}

/** What {@link cheapestOf} measures of a call: its result and its times, not its memory. */
export type Times<T> = Omit<Cost<T>, "peakBytes">;

/**
 * Each of `calls` measured `runs` times, interleaved (a full GC, then every
 * call once; again), so that whatever else the machine does falls on all of
 * them alike; each call's cost is its cheapest run (least CPU time, and
 * least wall time: a run can only be slowed down, by a collection of what
 * another left or by the first run's compilation), with the result of its
 * last run. Only times: {@link measure} gives a call's memory.
 */
export function cheapestOf<T extends readonly (() => unknown)[]>(runs: number, ...calls: T): { [K in keyof T]: Times<ReturnType<T[K]>> } {
  const seen = calls.map(() => ({ result: undefined as unknown, ms: Infinity, cpuMs: Infinity }));
  for (let run = 0; run < runs; run++) {
    collect();
    calls.forEach((call, i) => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = call();
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const best = seen[i] as { result: unknown; ms: number; cpuMs: number };
      best.result = result;
      best.ms = Math.min(best.ms, ms);
      best.cpuMs = Math.min(best.cpuMs, (cpu.user + cpu.system) / 1000);
    });
  }
  return seen as never;
}

/** {@link measure} for a call that returns a promise (GCs during the wait count too). */
export async function measureAsync<T>(fn: () => Promise<T>): Promise<Cost<T>> {
  const probe = start();
  const result = await fn();
  return probe.stop(result);
}

/** How long `fn`'s promise took, and the longest the event loop was held while it ran. */
export interface Stall<T> {
  readonly result: T;
  readonly ms: number;
  /** The longest event-loop stall during the call, in ms: the largest gap between two turns of a 1 ms timer. */
  readonly stallMs: number;
}

/**
 * Runs `fn` after a full GC (as {@link measure}: what earlier calls left
 * is not collected during this one) with the event loop watched by two
 * 1 ms timers: `monitorEventLoopDelay` and a `setTimeout` chain that
 * notes the largest gap between its turns (the histogram alone misses a
 * stall now and then: of 60 busy loops of 12 ms right after a socket read,
 * it saw 8 as no stall at all; the chain saw every one). What every other
 * request of the process waited at
 * worst while `fn` ran: the larger of the two. Both start a few turns
 * before the call and stop a few after it, so the stall that ends the
 * call is recorded too.
 */
export async function measureStall<T>(fn: () => Promise<T>): Promise<Stall<T>> {
  collect();
  collect();
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  let watching = true;
  let last = performance.now();
  let gap = 0;
  const turn = (): void => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
    if (watching) setTimeout(turn, 1);
  };
  setTimeout(turn, 1);
  await sleep(3);
  histogram.reset();
  gap = 0;
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  await sleep(3);
  watching = false;
  histogram.disable();
  return { result, ms, stallMs: Math.max(histogram.max / 1e6, gap) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
