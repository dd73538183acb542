import { AgeHistograms, SERVED_AGE_SOURCES, type AgeHistogram, type ServedAgeSource } from "./metrics/age-histogram.js";
import type { MetricRecorder } from "./metrics/sink.js";

/** What happened to one read. */
/** Counters of an accessor's L1 (`stats().l1`; docs/l1.md "Metrics"). */
export type L1Counter =
  /** A read served from L1. */
  | "hit"
  /** A read L1 could not serve (not held, expired, or tracking not live). */
  | "miss"
  /** An entry removed to make room. */
  | "eviction"
  /** An entry dropped because its key changed (an invalidation from Redis, or this process's own write or delete). */
  | "invalidation"
  /** A reply kept out of L1 because its key was invalidated (or L1 flushed) while the read was in flight. */
  | "race_skipped"
  /** A reply not kept because tracking was not live (connecting, reconnecting): such reads go to Redis. */
  | "not_live"
  /** Everything dropped: a tracking connection closed or failed. */
  | "flush_disconnected"
  /** Everything dropped: a tracking connection missed its heartbeat. */
  | "flush_heartbeat"
  /** Everything dropped: the servers changed (a failover). */
  | "flush_topology"
  /** Everything dropped: the server said everything changed (FLUSHALL, FLUSHDB). */
  | "flush_server";

/** `stats().l1`: the L1 counters, and what it holds now. */
export type L1Stats = Readonly<Record<L1Counter, number>> & {
  /** Entries held now. */
  readonly entries: number;
  /** Estimated heap bytes held now. */
  readonly bytes: number;
};

export type ReadOutcome =
  /** Entry of the current revision. */
  | "hit"
  /** No entry at the key. */
  | "miss"
  /** An absent marker (docs/loading.md): the loader said the entity does not exist; `get` returns undefined, `getOrSet` does not call the loader. */
  | "absent"
  /** Entry of an older revision, upgraded with declared defaults (and the revision's upgrade hook, if any). */
  | "upgraded"
  /** Entry of an older revision (or of the previous major) whose upgrade hook or `fromPrevious` threw: a miss, reported. */
  | "upgrade_failed"
  /** Miss in this major, found in the previous major's key space and converted with `fromPrevious` (read-through). */
  | "read_through"
  /** Entry of a revision this code does not know (a newer deploy wrote it), decoded with the current codec. */
  | "unknown"
  /** Entry of another message: a miss, never decoded as this type. */
  | "wrong_type"
  /**
   * Entry whose value's key fields make another key than the one read (bytes
   * copied between keys, or an upgrade hook or `fromPrevious` that changed
   * key fields): a miss, reported (`KeyMismatchError`), never returned,
   * written back or copied; the next write of the key replaces it.
   */
  | "key_mismatch"
  /** Malformed entry (truncated, bad flags, bad compression, protobuf error): a miss. */
  | "corrupt"
  /**
   * Entry whose decoding needs more work than the read's budget
   * (`maxReadWork`), or a `getMany` entry past the call's (`maxBatchWork`): a
   * miss, reported, never deleted (a reader with a larger budget may read it).
   */
  | "over_budget"
  /** Entry older than the tolerated revision window, or older while `onOlderRevision` is `miss`: a miss. */
  | "rejected"
  /** Non-envelope value converted by the configured legacy reader. */
  | "legacy"
  /** Legacy value whose reader threw, or whose converted value does not fit the current type: a miss, reported. */
  | "legacy_rejected"
  /** Non-envelope value and no legacy reader (or it declined): a miss. */
  | "foreign"
  /** The store failed: a miss when failing open. */
  | "error";

/** What happened to one write. */
export type WriteOutcome =
  /** Stored. */
  | "written"
  /** Refused by the never-downgrade guard: the key holds an entry this code does not know (deleted with it under `onGuarded: "delete"`, counted as `deletes.guard_deleted`). */
  | "guarded"
  /** The store failed (reported, not thrown, unless configured to throw). */
  | "error";

/**
 * Write-side counters: write outcomes plus the background compare-and-set
 * rewrites (write-back of upgraded entries, rewrite of legacy ones): done,
 * skipped because the entry changed meanwhile, or failed.
 */
export type WriteCounter =
  | WriteOutcome
  | "written_back"
  | "write_back_skipped"
  | "write_back_error"
  /** A read-through wrote this major's entry from the previous major's, with its expiry. */
  | "migrated"
  /** The read-through write found this major's entry already there, or the previous one changed or gone. */
  | "migrate_skipped"
  | "migrate_error"
  /** A legacy entry at an old key was written as an envelope at this key, with its expiry. */
  | "adopted"
  /** The adoption found the new key already written, or the legacy entry changed or gone. */
  | "adopt_skipped"
  | "adopt_error"
  /** Dual-write: the previous major's entry written beside this major's (`previousMajor: "dual-write"`). */
  | "dual_written"
  /** Dual-write refused by the previous major's never-downgrade guard. */
  | "dual_write_guarded"
  | "dual_write_error";

/**
 * Delete counters: `delete()` calls (`deleted`, `absent`, `error`) and the
 * background compare-and-deletes of corrupt or rejected entries (`cleaned`,
 * `clean_skipped` when the entry changed meanwhile, `clean_error`).
 */
export type DeleteCounter =
  | "deleted"
  | "absent"
  | "error"
  | "cleaned"
  | "clean_skipped"
  | "clean_error"
  /** A legacy entry deleted after its adoption (`legacy.deleteOld`), only while unchanged. */
  | "legacy_deleted"
  /** A newer deploy's entry deleted by a write the guard refused (`onGuarded: "delete"`), in this major or, dual-writing, the previous one. */
  | "guard_deleted";

/**
 * Loading-cache counters (`getOrSet`, `getManyOrSet`; docs/loading.md).
 */
export type LoadCounter =
  /** The loader returned a value (or undefined) and this call wrote it. */
  | "loaded"
  /** The loader threw or rejected (never cached). */
  | "load_error"
  /** A caller joined a load already in flight in this process instead of calling the loader. */
  | "coalesced"
  /** This process took the cross-instance lease and loaded. */
  | "lease_acquired"
  /** Another instance held the lease; this call waited and got what it wrote. */
  | "lease_wait"
  /** Another instance held the lease past `lease.waitMs`: this call loaded itself. */
  | "lease_timeout"
  /** A stale entry (past its fresh TTL, within grace) was returned at once and refreshed in the background. */
  | "stale_grace"
  /** A stale entry was returned because the loader failed or passed its soft timeout (fail-safe). */
  | "stale_fail_safe"
  /** A load passed `softTimeoutMs` while a stale entry was there to return (the load goes on in the background). */
  | "soft_timeout"
  /** A load passed `hardTimeoutMs`: its signal was aborted and callers got a LoadTimeoutError (or a stale entry). */
  | "hard_timeout"
  /** The loader returned undefined and an absent marker was written. */
  | "absent_written"
  /** A fresh entry past `eagerRefresh` of its fresh TTL was refreshed in the background. */
  | "eager_refresh"
  /** A background refresh (grace, eager, after a soft timeout) failed; the entry was left as it was. */
  | "refresh_error"
  /** The loader's value has other key fields than the ones asked for: returned, not cached, reported. */
  | "key_mismatch";

/**
 * Counters of the staleness audit (the `audit` option; docs/served-age.md):
 * a sample of `getOrSet`/`getManyOrSet` hits compared with what the loader
 * returns now.
 */
export type AuditCounter =
  /** Hits picked by `sampleRate`. */
  | "sampled"
  /** Sampled hits compared with a load of the key already in flight in this process (a refresh, a miss's load, another audit): no loader call of their own. */
  | "joined"
  /** Loader calls the audit made (at most `maxPerSecond` a second). */
  | "loader_call"
  /** Sampled hits not audited because the audit had made `maxPerSecond` loader calls (its rate limit). */
  | "rate_limited"
  /** Comparisons made: the served value against the loaded one (`divergent` of them differed). */
  | "audited"
  /** Audited hits whose loaded value differs from the served one (its encoded payload bytes differ, or the loader said it does not exist). */
  | "divergent"
  /** Audit loads that failed (the loader threw, passed `hardTimeoutMs`, or returned something that is not a value); nothing compared. */
  | "loader_error";

/** `stats().audit`: the audit's counters and the ages of the divergent entries when they were served. */
export type AuditStats = Readonly<Record<AuditCounter, number>> & {
  /** Ages (when served) of the entries found divergent: how stale a stale value was. */
  readonly divergentAge: AgeHistogram;
};
/** Invalidation counters (tags and `clear()`; docs/invalidation.md). */
export type InvalidationCounter =
  /** A value read (from Redis or the L1) that a tag or a `clear()` invalidated after it was written: refused, a miss. Such reads are also counted in `reads` as what decoding found. */
  | "invalidated"
  /** A tag's or key space's state could not be read (the store failed) or was not a number: the entries it covers were misses. */
  | "state_error"
  /** Tags this accessor invalidated (`invalidateTags`), each counted. */
  | "tags_invalidated"
  /** `clear()` calls that set the key space's state. */
  | "cleared";

/** Counters of one accessor since it was created. */
export interface CacheStats {
  readonly reads: Readonly<Record<ReadOutcome, number>>;
  readonly writes: Readonly<Record<WriteCounter, number>>;
  readonly deletes: Readonly<Record<DeleteCounter, number>>;
  /** Loading-cache counters (`getOrSet`, `getManyOrSet`). */
  readonly loads: Readonly<Record<LoadCounter, number>>;
  /** L1 counters (all 0 without the `l1` option): a hit here is not counted in `reads`, which counts values read from Redis. */
  readonly l1: L1Stats;
  /** Invalidation counters (all 0 without the `invalidation` option and tagged entries). */
  readonly invalidation: Readonly<Record<InvalidationCounter, number>>;
  /** Entries read per schema ID (hex), whatever the outcome: which revisions are still live. */
  readonly readsBySchemaId: Readonly<Record<string, number>>;
  /**
   * Ages of the values served (now less the envelope's written-at), by where
   * they came from (docs/served-age.md). All 0 with `servedAge: false`.
   */
  readonly servedAge: Readonly<Record<ServedAgeSource, AgeHistogram>>;
  /** The staleness audit (all 0 without the `audit` option). */
  readonly audit: AuditStats;
}

/**
 * Mutable counters behind {@link CacheStats}. Every increment also goes to
 * the metrics recorder, when there is one, as `count(group, outcome,
 * schemaId)` with the group's name in {@link CacheStats}: a counter added
 * here must do the same, so metrics always report what `stats()` counts.
 */
export class StatsCounter {
  private readonly reads: Record<ReadOutcome, number> = {
    hit: 0, miss: 0, absent: 0, upgraded: 0, upgrade_failed: 0, read_through: 0, unknown: 0, wrong_type: 0, key_mismatch: 0, corrupt: 0, over_budget: 0, rejected: 0,
    legacy: 0, legacy_rejected: 0, foreign: 0, error: 0,
  };
  private readonly writes: Record<WriteCounter, number> = {
    written: 0, guarded: 0, error: 0, written_back: 0, write_back_skipped: 0, write_back_error: 0, migrated: 0, migrate_skipped: 0,
    migrate_error: 0, adopted: 0, adopt_skipped: 0, adopt_error: 0, dual_written: 0, dual_write_guarded: 0, dual_write_error: 0,
  };
  private readonly deletes: Record<DeleteCounter, number> = {
    deleted: 0, absent: 0, error: 0, cleaned: 0, clean_skipped: 0, clean_error: 0, legacy_deleted: 0, guard_deleted: 0,
  };
  private readonly loads: Record<LoadCounter, number> = {
    loaded: 0, load_error: 0, coalesced: 0, lease_acquired: 0, lease_wait: 0, lease_timeout: 0, stale_grace: 0, stale_fail_safe: 0,
    soft_timeout: 0, hard_timeout: 0, absent_written: 0, eager_refresh: 0, refresh_error: 0, key_mismatch: 0,
  };
  private readonly l1s: Record<L1Counter, number> = {
    hit: 0, miss: 0, eviction: 0, invalidation: 0, race_skipped: 0, not_live: 0, flush_disconnected: 0, flush_heartbeat: 0, flush_topology: 0, flush_server: 0,
  };
  private readonly invalidations: Record<InvalidationCounter, number> = { invalidated: 0, state_error: 0, tags_invalidated: 0, cleared: 0 };
  private readonly bySchema = new Map<number, number>();
  private readonly audits: Record<AuditCounter, number> = { sampled: 0, joined: 0, loader_call: 0, rate_limited: 0, audited: 0, divergent: 0, loader_error: 0 };
  /** Served ages, one series per source (index into SERVED_AGE_SOURCES). */
  private readonly ages = new AgeHistograms(SERVED_AGE_SOURCES.length);
  /** Ages of divergent entries (one series). */
  private readonly divergentAges = new AgeHistograms(1);

  /**
   * @param recorder receives every increment (see the class comment)
   * @param writtenSchemaId the schema ID this accessor writes: the ID reported with write counters
   */
  constructor(
    private readonly recorder?: MetricRecorder,
    private readonly writtenSchemaId?: number,
  ) {}

  read(outcome: ReadOutcome, schemaId: number | undefined): void {
    this.reads[outcome]++;
    if (schemaId !== undefined) this.bySchema.set(schemaId, (this.bySchema.get(schemaId) ?? 0) + 1);
    this.recorder?.count("reads", outcome, schemaId);
  }

  write(outcome: WriteCounter): void {
    this.writes[outcome]++;
    this.recorder?.count("writes", outcome, this.writtenSchemaId);
  }

  delete(outcome: DeleteCounter): void {
    this.deletes[outcome]++;
    this.recorder?.count("deletes", outcome, undefined);
  }

  load(outcome: LoadCounter, n = 1): void {
    this.loads[outcome] += n;
    for (let i = 0; i < n; i++) this.recorder?.count("loads", outcome, this.writtenSchemaId);
  }

  l1(outcome: L1Counter): void {
    this.l1s[outcome]++;
    this.recorder?.count("l1", outcome, undefined);
  }

  /**
   * One value served from source `source` (an index into
   * SERVED_AGE_SOURCES), `ms` after its written-at (undefined: it has none).
   */
  servedAge(source: number, ms: number | undefined): void {
    this.ages.record(source, ms);
    this.recorder?.servedAge?.(SERVED_AGE_SOURCES[source] as ServedAgeSource, ms);
  }

  audit(outcome: AuditCounter): void {
    this.audits[outcome]++;
    this.recorder?.count("audit", outcome, this.writtenSchemaId);
  }

  /** An audited entry served from `source` (index) found divergent, `ms` after its written-at (undefined: none): counted `divergent`, its age recorded. */
  divergent(source: number, ms: number | undefined): void {
    this.audit("divergent");
    this.divergentAges.record(0, ms);
    this.recorder?.auditDivergence?.(SERVED_AGE_SOURCES[source] as ServedAgeSource, ms);
  }

  invalidation(outcome: InvalidationCounter, n = 1): void {
    this.invalidations[outcome] += n;
    for (let i = 0; i < n; i++) this.recorder?.count("invalidation", outcome, undefined);
  }

  /** @param held what the L1 holds now (none without one) */
  snapshot(held: { readonly entries: number; readonly bytes: number } = { entries: 0, bytes: 0 }): CacheStats {
    const readsBySchemaId: Record<string, number> = {};
    for (const [id, n] of this.bySchema) readsBySchemaId[`0x${id.toString(16).padStart(8, "0")}`] = n;
    const servedAge = Object.fromEntries(SERVED_AGE_SOURCES.map((source, i) => [source, this.ages.snapshot(i)])) as Record<ServedAgeSource, AgeHistogram>;
    const audit = { ...this.audits, divergentAge: this.divergentAges.snapshot(0) };
    return { reads: { ...this.reads }, writes: { ...this.writes }, deletes: { ...this.deletes }, loads: { ...this.loads }, l1: { ...this.l1s, entries: held.entries, bytes: held.bytes }, invalidation: { ...this.invalidations }, readsBySchemaId, servedAge, audit };
  }
}
