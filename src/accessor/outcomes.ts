import { ProtocacheError, StoreError } from "../errors.js";
import type { MetricRecorder } from "../metrics/sink.js";
import { StatsCounter, type WriteOutcome } from "../stats.js";
import type { StoreWriteResult } from "../stores/store.js";
import type { ResolvedOptions } from "./options.js";
import type { Interpretation } from "./read.js";

/**
 * What an accessor tells about its calls: the outcome counters (and the
 * metrics sink behind them) and the `onError` hook. Every part of the
 * accessor counts and reports through it; a throwing hook never turns a
 * fail-open read into a crash.
 */
export class Outcomes {
  readonly counter: StatsCounter;

  constructor(
    recorder: MetricRecorder | undefined,
    schemaId: number,
    private readonly options: Pick<ResolvedOptions<unknown>, "onError" | "onStoreError">,
  ) {
    this.counter = new StatsCounter(recorder, schemaId);
  }

  /** Hands an error to `onError`. */
  report(error: ProtocacheError): void {
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing error hook must not turn a fail-open read into a crash.
    }
  }

  /** A counted miss, as an interpretation. */
  miss<T>(): Interpretation<T> {
    this.counter.read("miss", undefined);
    return { outcome: "miss", value: undefined, header: undefined, revision: undefined, error: undefined };
  }

  /** Records a failed read (reported unless in `reported`); rethrows it when configured to, else returns it. */
  readFailed(error: unknown, key: string | undefined, reported?: Set<unknown>): StoreError {
    const failure = asStoreError(error, "GET", key);
    this.counter.read("error", undefined);
    if (reported?.has(error) !== true) {
      reported?.add(error);
      this.report(failure);
    }
    if (this.options.onStoreError === "throw") throw failure;
    return failure;
  }

  /** Counts a write's outcome; an error is reported unless it is in `reported` (a batch's chunk already reported it). */
  written(result: StoreWriteResult, key: string, reported?: Set<Error>): WriteOutcome {
    if (result instanceof Error) {
      this.counter.write("error");
      const failure = asStoreError(result, "SET", key);
      if (reported?.has(result) !== true) {
        reported?.add(result);
        this.report(failure);
      }
      if (this.options.onStoreError === "throw") throw failure;
      return "error";
    }
    if (result === "invalidated") {
      this.counter.write("guarded");
      this.counter.delete("guard_deleted");
      return "guarded";
    }
    this.counter.write(result);
    return result;
  }

  /** A failed delete: counted, reported, thrown when configured to. */
  deleteFailed(error: unknown, key: string): false {
    const failure = asStoreError(error, "DEL", key);
    this.counter.delete("error");
    this.report(failure);
    if (this.options.onStoreError === "throw") throw failure;
    return false;
  }
}

/** `error` as a StoreError naming `operation` and `key` (kept as it is when it already is one). */
export function asStoreError(error: unknown, operation: string, key: string | undefined): StoreError {
  return error instanceof StoreError ? error : new StoreError(operation, key, { cause: error });
}
