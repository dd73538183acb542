import { DecodeError } from "../errors.js";
import type { Interpretation } from "./read.js";

/** The two budgets a call is bounded by (see `maxReadWork` and `maxBatchWork` in AccessorOptions). */
export interface WorkLimits {
  readonly maxReadWork: number;
  readonly maxBatchWork: number;
}

/**
 * What one call that decodes many entries (a `getMany`, a batch of an
 * operation) may spend in all: `maxBatchWork` work units (src/codec/work.ts),
 * whatever the batch size. Each read gets the smaller of its own budget and
 * what is left ({@link next}) and is charged what it took ({@link charge});
 * once the call's budget is spent, the remaining entries are not decoded
 * ({@link skip}). Entries refused because of the call's budget (not their
 * own) are counted, and reported once by {@link error}. One per call.
 */
export class CallBudget {
  private left: number;
  private refused = 0;

  constructor(private readonly limits: WorkLimits) {
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
    this.left -= seen.work ?? 0;
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
