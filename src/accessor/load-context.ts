import { ConfigError, LoadContextError, type ProtocacheError } from "../errors.js";
import { integer, ttlSeconds } from "../validation/index.js";

/**
 * What a loader may decide about the entry it loads (adaptive caching,
 * docs/loading.md "The loader decides"): its fresh TTL, its grace, or not
 * to cache it at all. Each call replaces the previous one of its kind; all
 * must be made before the loader returns (later calls do nothing and are
 * reported as a LoadContextError). A bad value throws a ConfigError from
 * the call, which fails the load like any error the loader throws.
 */
export interface LoadEntryControl {
  /**
   * This entry's fresh TTL in whole seconds, from 0 (no expiry) to
   * `MAX_TTL_SECONDS`, instead of the call's (or the accessor's): its Redis
   * TTL is this TTL less jitter plus grace. Readers judge freshness by their
   * own TTL from the written-at, so a TTL shorter than theirs has no grace
   * unless `setGrace` gives it one (the entry is fresh until Redis drops it,
   * then loaded again), and a longer one keeps the entry longer (stale, and
   * as a fail-safe) without making it fresh longer (docs/loading.md, "How
   * readers see the loader's TTL"). For an undefined result, the absent
   * marker's lifetime.
   */
  setTtl(seconds: number): void;
  /**
   * This entry's grace in whole seconds (0: none), instead of the call's or
   * the accessor's: how long Redis keeps it past its fresh TTL. Readers serve
   * it stale at once within their own grace, and as a fail-safe (when the
   * loader fails) as long as Redis keeps it. Above 0 needs the accessor's
   * `writtenAt` (the default).
   */
  setGrace(seconds: number): void;
  /** Return the value to the callers but write nothing (not even an absent marker for undefined): the next call loads again. */
  skip(): void;
}

/** One entry's choices, as the loading cache applies them. */
export interface EntryChoice {
  readonly ttlSeconds?: number | undefined;
  readonly graceSeconds?: number | undefined;
  readonly skip?: boolean | undefined;
}

interface Choice {
  ttlSeconds?: number;
  graceSeconds?: number;
  skip?: boolean;
}

const freshTtl = ttlSeconds("no expiry");
const grace = ttlSeconds("no grace");

/**
 * The choices of one load (one key, or a batch of `size` keys), made
 * through the controls it hands the loader: batch-wide, and per entry
 * (`entry(i)`), an entry's own choice over the batch's. Closed once the
 * loader settled: later calls are reported through `report` and ignored.
 */
export class LoadChoices {
  private open = true;
  private readonly all: Choice = {};
  private each: Map<number, Choice> | undefined;

  constructor(
    /** The key named in errors (a batch's first). */
    private readonly key: string,
    private readonly size: number,
    private readonly writtenAt: boolean,
    private readonly report: (error: ProtocacheError) => void,
  ) {}

  /** The controls that set `choice` (batch-wide, or one entry's). */
  control(choice: Choice = this.all, name = ""): LoadEntryControl {
    return {
      setTtl: (seconds: number): void => {
        if (this.late("setTtl")) return;
        choice.ttlSeconds = freshTtl(seconds, `${name}setTtl(seconds)`);
      },
      setGrace: (seconds: number): void => {
        if (this.late("setGrace")) return;
        const checked = grace(seconds, `${name}setGrace(seconds)`);
        if (checked > 0 && !this.writtenAt) throw new ConfigError(`${name}setGrace(seconds)`, "needs the accessor's writtenAt: true (freshness is read from the envelope's written-at)");
        choice.graceSeconds = checked;
      },
      skip: (): void => {
        if (this.late("skip")) return;
        choice.skip = true;
      },
    };
  }

  /** The controls of entry `index` of a batch (checked: a whole number below the batch's size). */
  entry(index: number): LoadEntryControl {
    if (this.late("entry")) return this.control({});
    const i = integer(0, this.size - 1, `a whole number from 0 to ${this.size - 1} (the index of a key given to the loader)`)(index, "entry(index)");
    this.each ??= new Map();
    let choice = this.each.get(i);
    if (choice === undefined) this.each.set(i, (choice = {}));
    return this.control(choice, `entry(${i}).`);
  }

  /** Ends the choosing: the loader settled. */
  close(): void {
    this.open = false;
  }

  /** What applies to entry `index`: its own choices over the batch's; undefined when none was made (the hot path). */
  of(index: number): EntryChoice | undefined {
    const own = this.each?.get(index);
    if (own === undefined) return this.all.ttlSeconds === undefined && this.all.graceSeconds === undefined && this.all.skip === undefined ? undefined : this.all;
    return { ttlSeconds: own.ttlSeconds ?? this.all.ttlSeconds, graceSeconds: own.graceSeconds ?? this.all.graceSeconds, skip: own.skip ?? this.all.skip };
  }

  private late(call: string): boolean {
    if (this.open) return false;
    this.report(new LoadContextError(this.key, call));
    return true;
  }
}
