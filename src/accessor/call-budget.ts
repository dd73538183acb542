import { SLICE_WORK } from "../codec/work.js";
import { DecodeError } from "../errors.js";
import type { Interpretation } from "./read.js";

/** The two budgets a call is bounded by (see `maxReadWork` and `maxBatchWork` in AccessorOptions). */
export interface WorkLimits {
  readonly maxReadWork: number;
  readonly maxBatchWork: number;
}

/**
 * The work a batch has decoded since it last let the event loop run: once
 * it reaches {@link SLICE_WORK}, the batch yields ({@link pause}) before
 * its next decode, so no batch holds the loop for more than a slice and one
 * read, whatever its size. Shared by the budgets of one batch's parts
 * (`migrate` decodes a SCAN batch in several).
 */
export class Slice {
  private work = 0;

  /** Counts `units` of decoding done in this slice. */
  add(units: number): void {
    this.work += units;
  }

  /** True once this slice holds {@link SLICE_WORK} units: {@link pause} before decoding more. */
  get due(): boolean {
    return this.work >= SLICE_WORK;
  }

  /**
   * `fn` over `items` in order (as `Array.prototype.map`), letting the event
   * loop run between two items whenever the slice is {@link due}. Synchronous
   * until then: a batch that never fills a slice gets its array back at once,
   * without a promise or a `setImmediate` (await the result either way).
   */
  map<I, R>(items: readonly I[], fn: (item: I, i: number) => R): R[] | Promise<R[]> {
    const out = new Array<R>(items.length);
    for (let i = 0; i < items.length; i++) {
      if (this.due) return this.rest(items, fn, out, i);
      out[i] = fn(items[i] as I, i);
    }
    return out;
  }

  /** {@link map} from item `from` on, pausing whenever the slice is due. */
  private async rest<I, R>(items: readonly I[], fn: (item: I, i: number) => R, out: R[], from: number): Promise<R[]> {
    for (let i = from; i < items.length; i++) {
      if (this.due) await this.pause();
      out[i] = fn(items[i] as I, i);
    }
    return out;
  }

  /** Lets the event loop run (timers, I/O, other requests: `setImmediate`, not a microtask), then starts a new slice. */
  pause(): Promise<void> {
    this.work = 0;
    return new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * What one call that decodes many entries (a `getMany`, a batch of an
 * operation) may spend in all: `maxBatchWork` work units (src/codec/work.ts),
 * whatever the batch size. Each read gets the smaller of its own budget and
 * what is left ({@link next}) and is charged what it took ({@link charge});
 * once the call's budget is spent, the remaining entries are not decoded
 * ({@link skip}). Entries refused because of the call's budget (not their
 * own) are counted, and reported once by {@link error}. One per call.
 *
 * What it is charged also fills its {@link slice}: a caller decodes its
 * entries through `budget.slice.map`, or checks `budget.slice.due` before
 * each and, when it is, awaits `budget.slice.pause()`. A batch that does
 * less than a slice in all (the common case) never waits.
 */
export class CallBudget {
  private left: number;
  private refused = 0;

  constructor(
    private readonly limits: WorkLimits,
    /** The work since the batch last yielded (given when several budgets share one batch). */
    readonly slice: Slice = new Slice(),
  ) {
    this.left = limits.maxBatchWork;
  }

  /** True once nothing is left: the remaining entries are {@link skip}ped. */
  get spent(): boolean {
    return this.left <= 0;
  }

  /** Work units the next read may take. */
  next(): number {
    return Math.min(this.limits.maxReadWork, this.left);
  }

  /**
   * Charges a read given {@link next}'s budget. A read that ran out of
   * the call's budget rather than its own comes back without its error:
   * the call reports it with the rest, once.
   */
  charge<T>(seen: Interpretation<T>, budget: number): Interpretation<T> {
    return this.spend(seen, budget) ? { ...seen, error: undefined } : seen;
  }

  /** Charges what a read given `budget` took; true when it ran out of the call's budget rather than its own (the call is then spent). */
  spend(seen: { readonly outcome: string; readonly work?: number | undefined }, budget: number): boolean {
    const work = seen.work ?? 0;
    this.left -= work;
    this.slice.add(work);
    if (seen.outcome !== "over_budget" || budget >= this.limits.maxReadWork) return false;
    this.refused++;
    this.left = 0;
    return true;
  }

  /** An entry past the call's budget: an `over_budget` miss, not decoded, reported with the rest by {@link error}. */
  skip<T>(): Interpretation<T> {
    this.refused++;
    return { outcome: "over_budget", value: undefined, header: undefined, revision: undefined, error: undefined, work: 0 };
  }

  /** The one error to report for the entries refused because the call's budget was spent, if any (`call` names it, `entries` its size). */
  error(call: string, entries: number): DecodeError | undefined {
    if (this.refused === 0) return undefined;
    return new DecodeError(
      "over-budget",
      `${call}: the call's work budget (maxBatchWork ${this.limits.maxBatchWork}) was spent; ${this.refused} of its ${entries} entries were not decoded (over_budget misses): split the batch, or raise maxBatchWork`,
    );
  }
}
