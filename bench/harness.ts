import { Bench } from "tinybench";

/** How a ratio is judged against its target. */
export type Goal =
  /** subject time / baseline time, at most `target` (e.g. 1.10). */
  | { readonly kind: "time-at-most"; readonly target: number }
  /** baseline time / subject time (speed-up), at least `target`. */
  | { readonly kind: "speedup-at-least"; readonly target: number }
  /** subject throughput / baseline throughput, at least `target`. */
  | { readonly kind: "throughput-at-least"; readonly target: number }
  /** subject amount / baseline amount, neither a time nor a throughput (e.g. hit rates), at least `target`. */
  | { readonly kind: "ratio-at-least"; readonly target: number }
  /** subject bytes / baseline bytes, at most `target`. */
  | { readonly kind: "size-at-most"; readonly target: number }
  /** baseline amount / subject amount (how many times fewer, e.g. bytes read), at least `target`. */
  | { readonly kind: "fewer-at-least"; readonly target: number }
  /** absolute seconds, at most `target` (no baseline). */
  | { readonly kind: "seconds-at-most"; readonly target: number }
  /** absolute milliseconds (e.g. a latency percentile), at most `target` (no baseline). */
  | { readonly kind: "ms-at-most"; readonly target: number }
  /** an absolute count (e.g. loader calls), at most `target` (no baseline). */
  | { readonly kind: "count-at-most"; readonly target: number }
  /** a fraction of events (e.g. reads served stale), at least `target`. */
  | { readonly kind: "fraction-at-least"; readonly target: number }
  /** no target: a ratio (or, with `unit`, an absolute amount: bytes, milliseconds) reported to read beside the others. */
  | { readonly kind: "reported"; readonly unit?: "B" | "ms" };

/** One row of the results. */
export interface BenchRow {
  readonly case: string;
  readonly entity: string;
  readonly subject: string;
  readonly baseline: string;
  readonly goal: Goal;
  /** The median ratio over rounds (or the absolute value for `seconds-at-most`). */
  readonly ratio: number;
  readonly pass: boolean;
  /** Human-readable measurements behind the ratio (medians). */
  readonly detail: string;
  /** The suite that measured it (set by bench/main.ts). */
  readonly suite?: string;
}

/** Checks a ratio against its goal. */
export function passes(goal: Goal, ratio: number): boolean {
  if (goal.kind === "reported") return true;
  if (goal.kind === "fraction-at-least") return ratio >= goal.target;
  return goal.kind === "speedup-at-least" || goal.kind === "throughput-at-least" || goal.kind === "ratio-at-least" || goal.kind === "fewer-at-least" ? ratio >= goal.target : ratio <= goal.target;
}

/** Renders a goal like `≤ 1.10×`. */
export function goalText(goal: Goal): string {
  switch (goal.kind) {
    case "time-at-most":
      return `time ≤ ${goal.target.toFixed(2)}×`;
    case "speedup-at-least":
      return `≥ ${goal.target.toFixed(2)}× faster`;
    case "throughput-at-least":
      return `throughput ≥ ${goal.target.toFixed(2)}×`;
    case "ratio-at-least":
      return `ratio ≥ ${goal.target.toFixed(2)}×`;
    case "size-at-most":
      return `bytes ≤ ${goal.target.toFixed(2)}×`;
    case "fewer-at-least":
      return `≥ ${goal.target.toFixed(0)}× fewer`;
    case "seconds-at-most":
      return `< ${goal.target} s`;
    case "ms-at-most":
      return `≤ ${goal.target} ms`;
    case "count-at-most":
      return `≤ ${goal.target}`;
    case "fraction-at-least":
      return `≥ ${(goal.target * 100).toFixed(0)}%`;
    case "reported":
      return "reported";
  }
}

/** The median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Options of the micro-benchmark comparison. */
export interface MicroOptions {
  readonly rounds: number;
  /** Milliseconds each side runs per round (after warm-up). */
  readonly timeMs: number;
  /** Calls per timed sample, so the timer's own cost is amortised. */
  readonly batch: number;
}

/** Warm-up per task: up to 100 ms before the first round (the JIT), 20 ms before the others (caches, after the other tasks ran). */
function warmupMs(round: number, timeMs: number): number {
  return Math.min(round === 0 ? 100 : 20, timeMs);
}

/**
 * Times `subject` and `baseline` side by side: each round runs both (order
 * alternating) with tinybench, warm-up included; the result is the median
 * over rounds of the per-call times.
 */
export function compareMicro(subject: () => unknown, baseline: () => unknown, options: MicroOptions): { subjectNs: number; baselineNs: number; ratios: number[] } {
  const subjectNs: number[] = [];
  const baselineNs: number[] = [];
  const ratios: number[] = [];
  const loop = (fn: () => unknown) => () => {
    for (let i = 0; i < options.batch; i++) fn();
  };
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({ time: options.timeMs, warmup: true, warmupTime: warmupMs(round, options.timeMs) });
    const order = round % 2 === 0 ? (["subject", "baseline"] as const) : (["baseline", "subject"] as const);
    for (const name of order) bench.add(name, loop(name === "subject" ? subject : baseline));
    bench.runSync();
    const ns = (name: string): number => {
      const task = bench.getTask(name);
      const result = task?.result;
      if (result === undefined || !("latency" in result)) throw new Error(`benchmark task ${name} did not complete`);
      // The mean, not the median: garbage collection is part of a codec's cost.
      return (result.latency.mean * 1e6) / options.batch;
    };
    subjectNs.push(ns("subject"));
    baselineNs.push(ns("baseline"));
    ratios.push(ns("subject") / ns("baseline"));
  }
  return { subjectNs: median(subjectNs), baselineNs: median(baselineNs), ratios };
}

/**
 * Times several contenders side by side: each round runs all of them (in
 * rotating order) in one tinybench run, warm-up included. Returns, per
 * contender, the mean ns per call of each round, so that a ratio can be
 * taken per round (two numbers measured moments apart) and its median
 * reported. One subject compared with several baselines this way is timed
 * once per round, not once per baseline.
 */
export function compareMicroMany(contenders: Readonly<Record<string, () => unknown>>, options: MicroOptions): Map<string, number[]> {
  const names = Object.keys(contenders);
  const perRound = new Map<string, number[]>(names.map((n) => [n, []]));
  const loop = (fn: () => unknown) => () => {
    for (let i = 0; i < options.batch; i++) fn();
  };
  for (let round = 0; round < options.rounds; round++) {
    const bench = new Bench({ time: options.timeMs, warmup: true, warmupTime: warmupMs(round, options.timeMs) });
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as string;
      bench.add(name, loop(contenders[name] as () => unknown));
    }
    bench.runSync();
    for (const name of names) {
      const result = bench.getTask(name)?.result;
      if (result === undefined || !("latency" in result)) throw new Error(`benchmark task ${name} did not complete`);
      // The mean, not the median: garbage collection is part of a codec's cost.
      perRound.get(name)?.push((result.latency.mean * 1e6) / options.batch);
    }
  }
  return perRound;
}

/**
 * Throughput of several async operations driven by `concurrency` callers,
 * measured side by side: every round runs each contender for `timeMs`, in
 * rotating order. Returns ops/s medians per contender and per-round values.
 * `yieldBetween`: let the event loop turn (timers, sockets) before each
 * contender runs, for contenders that never leave the microtask queue (an
 * in-memory hit), so that back to back they do not starve timers, such as a
 * tracking heartbeat, for longer than one of them runs.
 */
export async function compareThroughput(
  contenders: Readonly<Record<string, (caller: number, i: number) => Promise<unknown>>>,
  options: { readonly rounds: number; readonly timeMs: number; readonly concurrency: number; readonly warmupMs: number; readonly yieldBetween?: boolean },
): Promise<Map<string, number[]>> {
  const names = Object.keys(contenders);
  const perRound = new Map<string, number[]>(names.map((n) => [n, []]));
  const turn = async (): Promise<void> => {
    if (options.yieldBetween === true) await new Promise((resolve) => setImmediate(resolve));
  };
  for (const name of names) {
    await turn();
    await drive(contenders[name] as (c: number, i: number) => Promise<unknown>, options.concurrency, options.warmupMs);
  }
  for (let round = 0; round < options.rounds; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length] as string);
    for (const name of order) {
      await turn();
      perRound.get(name)?.push(await drive(contenders[name] as (c: number, i: number) => Promise<unknown>, options.concurrency, options.timeMs));
    }
  }
  return perRound;
}

async function drive(op: (caller: number, i: number) => Promise<unknown>, concurrency: number, timeMs: number): Promise<number> {
  let count = 0;
  const start = performance.now();
  const deadline = start + timeMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      let i = 0;
      while (performance.now() < deadline) {
        await op(caller, i++);
        count++;
      }
    }),
  );
  return count / ((performance.now() - start) / 1000);
}
