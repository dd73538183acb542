import type { ServedAgeSource } from "../metrics/age-histogram.js";
import type { StatsCounter } from "../stats.js";
import { Audit, type AuditSettled } from "./audit.js";
import type { Entity } from "./entity.js";
import type { LoadPolicy } from "./loading-options.js";
import type { BatchLoader, LoadHits, Loader, Looked } from "./loading.js";
import type { ResolvedOptions } from "./options.js";
import type { Interpretation } from "./read.js";
import type { StoreCalls } from "./store-calls.js";

/** The series of source `l1` in the served-age histograms (the order of SERVED_AGE_SOURCES). */
export const FROM_L1 = 0;
/** The series of source `redis`. */
export const FROM_REDIS = 1;
/** The series of sources `stale` and `fail_safe`. */
const STALE = 2;
const FAIL_SAFE = 3;

/** An accessor's {@link ServedAge}, with its audit when `options.audit` is set; `inFlight` gives the loading cache's load of a key. */
export function servedAgeOf<T, K>(entity: Entity<T, K>, options: ResolvedOptions<T>, counter: StatsCounter, io: StoreCalls, inFlight: (key: string) => Promise<AuditSettled<T>> | undefined): ServedAge<T, K> {
  const audit = options.audit === undefined ? undefined : new Audit<T, K>(options.audit, { counter, encode: entity.encode, track: (work) => io.track(work), inFlight });
  return new ServedAge<T, K>(counter, options.servedAge, audit);
}

/**
 * The age of every value an accessor serves (docs/served-age.md): now less
 * the envelope's written-at, recorded by source (`l1`, `redis`, `stale`,
 * `fail_safe`) into `stats().servedAge` and the metrics sink, and the
 * staleness audit's sampling of `getOrSet` hits. The facade and the loading
 * cache call it where a value is served; with `servedAge: false` it records
 * nothing (the audit still samples).
 */
export class ServedAge<T, K> implements LoadHits<T, K> {
  /** Values kept to fall back on (fail-safe), with their written-at. */
  private readonly fallbacks = new WeakMap<object, number | undefined>();

  constructor(
    private readonly counter: StatsCounter,
    private readonly on: boolean,
    private readonly audit: Audit<T, K> | undefined,
  ) {}

  /** True when `getOrSet` hits are sampled by the staleness audit (`hit` needs their keys). */
  get audited(): boolean {
    return this.audit !== undefined;
  }

  /** `seen`'s value, served from series `source` (FROM_L1, FROM_REDIS): its age recorded when it is a value; `now` is the clock when the caller read it already. */
  value(source: number, seen: Interpretation<T> | undefined, now?: number): T | undefined {
    const value = seen?.value;
    if (value !== undefined && this.on) this.record(source, (seen as Interpretation<T>).header?.writtenAt, now ?? Date.now());
    return value;
  }

  /** The values of `looked` (a getMany's), each recorded by where it came from, on one clock read. */
  values(looked: readonly Looked<T>[]): (T | undefined)[] {
    const now = this.on ? Date.now() : 0;
    return looked.map((l) => this.value(l.l1 === true ? FROM_L1 : FROM_REDIS, l.seen, now));
  }

  /** A getOrSet/getManyOrSet hit: recorded, and sampled by the audit; returns its value. `now`: the clock when the caller read it already. */
  hit(source: ServedAgeSource, seen: Interpretation<T>, key: string, fields: K, loader: Loader<T, K> | BatchLoader<T, K>, batch: boolean, policy: LoadPolicy, now?: number): T | undefined {
    const value = seen.value;
    if (value === undefined) return undefined;
    const series = source === "l1" ? FROM_L1 : source === "redis" ? FROM_REDIS : STALE;
    if (this.on) this.record(series, seen.header?.writtenAt, now ?? Date.now());
    this.audit?.sample(series, seen, key, fields, loader, batch, policy);
    return value;
  }

  fallback(seen: Interpretation<T>): T | undefined {
    const value = seen.value;
    if (this.on && typeof value === "object" && value !== null) this.fallbacks.set(value, seen.header?.writtenAt);
    return value;
  }

  failSafe(stale: T): void {
    if (!this.on || typeof stale !== "object" || stale === null || !this.fallbacks.has(stale)) return;
    this.record(FAIL_SAFE, this.fallbacks.get(stale), Date.now());
  }

  private record(series: number, writtenAt: number | undefined, now: number): void {
    this.counter.servedAge(series, writtenAt === undefined ? undefined : now - writtenAt);
  }
}
