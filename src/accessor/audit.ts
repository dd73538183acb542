import type { LoadEntryControl } from "./load-context.js";
import { Writer } from "../codec/writer.js";
import { LoadTimeoutError } from "../errors.js";
import type { StatsCounter } from "../stats.js";
import type { ResolvedAudit } from "./audit-options.js";
import type { BatchLoader, Loader } from "./loading.js";
import type { LoadPolicy } from "./loading-options.js";
import type { Interpretation } from "./read.js";

/** How a load ended, as the audit compares it (the loading cache's flights settle the same way). */
export type AuditSettled<T> = { readonly ok: true; readonly value: T | undefined } | { readonly ok: false };

/** The accessor's parts the audit works with (built by the facade). */
export interface AuditParts<T> {
  readonly counter: StatsCounter;
  /** The entity's payload encoder (no envelope: no written-at to differ). */
  readonly encode: (w: Writer, value: T) => void;
  /** Tracks background work for `close()`. */
  track<R>(work: Promise<R>): Promise<R>;
  /** The loading cache's load of `key` in flight in this process, if any: compared with instead of calling the loader. */
  inFlight(key: string): Promise<AuditSettled<T>> | undefined;
}

/**
 * Writes a value's known fields only: the unknown fields a reader kept on
 * it (an entry of a newer revision, or of an older one with fields this one
 * removed) are not what the source returns, and would make every such
 * entry look divergent.
 */
class KnownFieldsWriter extends Writer {
  override leave(): void {
    this.depth--;
  }
}

const writer = new KnownFieldsWriter();

/**
 * One accessor's audit: samples hits (`sampleRate`), joins a load of the key
 * in flight (the loading cache's, or its own: single-flight per key) or
 * calls the loader itself within its rate limit (`maxPerSecond`), and
 * compares the payload bytes of the loaded value with the served one's.
 */
export class Audit<T, K> {
  /** The audit's own loads in flight, by key. */
  private readonly flights = new Map<string, Promise<AuditSettled<T>>>();
  private readonly capacity: number;
  private tokens: number;
  private refilledAt = Date.now();

  constructor(
    private readonly settings: ResolvedAudit,
    private readonly p: AuditParts<T>,
  ) {
    this.capacity = Math.max(1, settings.maxPerSecond);
    this.tokens = this.capacity;
  }

  /**
   * A hit whose value `seen` a getOrSet (`batch`: getManyOrSet, `loader` a
   * BatchLoader) serves from `source` (index into SERVED_AGE_SOURCES): when
   * sampled, its payload is encoded now (the caller may change the value it
   * got) and compared once a load of the key settles.
   */
  sample(source: number, seen: Interpretation<T>, key: string, fields: K, loader: Loader<T, K> | BatchLoader<T, K>, batch: boolean, policy: LoadPolicy): void {
    if (Math.random() >= this.settings.sampleRate) return;
    const value = seen.value;
    if (value === undefined) return;
    const counter = this.p.counter;
    counter.audit("sampled");
    let served: Buffer;
    try {
      served = this.payload(value);
    } catch {
      return;
    }
    const writtenAt = seen.header?.writtenAt;
    const ms = writtenAt === undefined ? undefined : Date.now() - writtenAt;
    let pending = this.p.inFlight(key) ?? this.flights.get(key);
    if (pending !== undefined) counter.audit("joined");
    else if (!this.take()) return counter.audit("rate_limited");
    else {
      counter.audit("loader_call");
      pending = this.load(key, fields, loader, batch, policy.hardTimeoutMs);
    }
    void this.p.track(pending.then((settled) => this.compare(settled, served, source, ms)));
  }

  private compare(settled: AuditSettled<T>, served: Buffer, source: number, ms: number | undefined): void {
    const counter = this.p.counter;
    let loaded: Buffer | undefined;
    try {
      if (!settled.ok) throw new Error("the load failed");
      loaded = settled.value === undefined ? undefined : this.payload(settled.value);
    } catch {
      return counter.audit("loader_error");
    }
    counter.audit("audited");
    if (loaded === undefined || !loaded.equals(served)) counter.divergent(source, ms);
  }

  /** The payload bytes of `value` as the entity encodes it, its known fields only. */
  private payload(value: T): Buffer {
    writer.reset();
    this.p.encode(writer, value);
    return writer.copy();
  }

  /** Takes one loader call from the token bucket; false when none is left. */
  private take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + (Math.max(0, now - this.refilledAt) * this.settings.maxPerSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** The audit's own load of `key` (never written anywhere), given up after `hardTimeoutMs` when set; never rejects. */
  private load(key: string, fields: K, loader: Loader<T, K> | BatchLoader<T, K>, batch: boolean, hardTimeoutMs: number | undefined): Promise<AuditSettled<T>> {
    const controller = new AbortController();
    const signal = controller.signal;
    // The audit writes nothing: what a loader chooses for its entry (tags, TTL, grace, skip) has nowhere to go.
    const ignore = (): void => {};
    const entry: LoadEntryControl = { setTtl: ignore, setGrace: ignore, skip: ignore };
    const setTags = ignore;
    const work = (async (): Promise<AuditSettled<T>> => {
      let value: unknown;
      if (batch) {
        const got: unknown = await (loader as BatchLoader<T, K>)([fields], { signal, setTags, ...entry, entry: () => entry });
        if (!Array.isArray(got) || got.length !== 1) return { ok: false };
        value = got[0];
      } else value = await (loader as Loader<T, K>)(fields, { signal, stale: undefined, setTags, ...entry });
      return value === undefined || (typeof value === "object" && value !== null) ? { ok: true, value: value as T | undefined } : { ok: false };
    })().catch((): AuditSettled<T> => ({ ok: false }));
    let timer: NodeJS.Timeout | undefined;
    const settled =
      hardTimeoutMs === undefined ? work : (
        Promise.race([
          work,
          new Promise<AuditSettled<T>>((resolve) => {
            timer = setTimeout(() => {
              controller.abort(new LoadTimeoutError(key, hardTimeoutMs));
              resolve({ ok: false });
            }, hardTimeoutMs);
          }),
        ]).finally(() => clearTimeout(timer))
      );
    const flight = settled.finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight;
  }
}
