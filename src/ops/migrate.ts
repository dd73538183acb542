import type { EntityCache } from "../accessor/entity-cache.js";
import { internalsOf, type AccessorInternals, type PreviousMajor } from "../accessor/internals.js";
import type { Interpretation } from "../accessor/read.js";
import { ConfigError, DecodeError, RetryableBatchError } from "../errors.js";
import { isTransientReply } from "../stores/redis/replies.js";
import type { CreateItem, ReplaceItem, ScanNode, StoredValue } from "../stores/bulk.js";
import { globEscape, scanCapable } from "./key-space.js";
import { CallBudget, Slice, type WorkLimits } from "../accessor/call-budget.js";
import { BatchTally, type OutcomeCounts } from "./tally.js";
import { boolean, func, optional, options as optionsOf, satisfies, type ShapeOf } from "../validation/index.js";
import { walk, walkOptionChecks, type WalkOptions, type WalkProgress, type WalkTotals } from "./walk.js";

/** What happened to one key. */
export type MigrateOutcome =
  /** Rewritten in the current revision (or copied into the new major); with `dryRun`, would be. */
  | "migrated"
  /** Already in the current revision (or already present in the new major). */
  | "current"
  /** Left alone on purpose: a newer revision, another message, a value changed meanwhile… (see reasons). */
  | "skipped"
  /** Could not be migrated: corrupt, not encodable, a store error (see reasons). */
  | "failed"
  /** Expired or deleted between SCAN and the write: not re-created. */
  | "gone";

/** Counters of a migration: every key visited has exactly one outcome (`scanned` = the sum of `counts`). */
export interface MigrateStats extends OutcomeCounts<MigrateOutcome>, WalkTotals {
  /** Migrated keys per schema ID they were written in. */
  readonly bySchemaId: Record<string, number>;
}

/** The result of {@link migrate}. */
export interface MigrateReport extends MigrateStats {
  readonly dryRun: boolean;
  /** `"revision"` within a major, `"major"` from the previous major's key space. */
  readonly mode: "revision" | "major";
  /** The SCAN pattern walked. */
  readonly match: string;
  readonly elapsedMs: number;
}

/** Progress of a migration, after each batch. */
export interface MigrateProgress extends WalkProgress {
  readonly stats: MigrateStats;
}

/** Options of {@link migrate}. */
export interface MigrateOptions<T, P = never> extends WalkOptions {
  /** Count what would be migrated, write nothing. */
  readonly dryRun?: boolean;
  /** Called after each batch. */
  readonly onProgress?: (progress: MigrateProgress) => void;
  /**
   * Move the previous major's key space into this accessor's: the previous
   * major's accessor (its read path upgrades old revisions first) and the
   * conversion. Defaults to what the accessor of a `migrates_from` entity
   * carries, when it does. (Its key type is the previous major's own, hence
   * `any`: migrate walks its key space and never passes it keys.)
   */
  readonly from?: { readonly accessor: EntityCache<P, any>; readonly convert: (old: P) => T };
}

const isAccessor = (value: unknown): boolean => internalsOf(value) !== undefined;

/** The spec of {@link MigrateOptions}. */
const migrateOptions = optionsOf(
  {
    ...walkOptionChecks,
    dryRun: optional(boolean()),
    onProgress: optional(func<(progress: MigrateProgress) => void>()),
    from: optional(
      optionsOf(
        {
          accessor: satisfies<EntityCache<unknown, any>>(isAccessor, "the previous major's accessor (made by protocache, e.g. userV1Cache(store))"),
          convert: func<(old: unknown) => unknown>("a function converting the previous major's values: (old) => current"),
        },
        { expected: "{ accessor: <the previous major's accessor>, convert: (old) => current }", optional: false },
      ),
    ),
  } satisfies ShapeOf<MigrateOptions<unknown, unknown>>,
  { name: "migrate options" },
);

const outcomes: readonly MigrateOutcome[] = ["migrated", "current", "skipped", "failed", "gone"];

function emptyStats(): MigrateStats {
  return {
    counts: Object.fromEntries(outcomes.map((o) => [o, 0])) as Record<MigrateOutcome, number>,
    reasons: {},
    examples: {},
    bySchemaId: {},
    scanned: 0,
    rescans: 0,
    retries: 0,
    unreadableKeys: 0,
  };
}

/**
 * Moves every entry of an accessor's entity and major to the current
 * revision, ahead of traffic, through the accessor's own read path (the
 * decision table, declared defaults and upgrade hooks, exactly as `get`
 * applies them). SCAN on every master; pipelined reads; compare-and-set
 * writes that keep each key's TTL exactly and never re-create a key
 * deleted meanwhile; idempotent, so SCAN's duplicates and re-runs are
 * harmless. With `from`, copies the previous major's entries into this
 * major's key space instead, each with its remaining TTL (PEXPIRETIME).
 * Survives server restarts (the batch is sent again once the server
 * answers; a restarted server is walked again) and resumes from
 * `checkpoint`.
 *
 * @example
 * ```ts
 * import { migrate } from "protocache";
 * const report = await migrate(userCache(store), {
 *   rate: 5_000,
 *   checkpoint: "/var/tmp/users.migrate.json",
 *   onProgress: (p) => console.log(`${p.stats.scanned} keys, ${Math.round(p.fraction * 100)}%`),
 * });
 * console.log(report.counts); // { migrated, current, skipped, failed, gone }
 * ```
 */
export async function migrate<T, K, P = never>(accessor: EntityCache<T, K>, options: MigrateOptions<T, P> = {}): Promise<MigrateReport> {
  const target = internalsOf<T>(accessor);
  if (target === undefined) throw new ConfigError("accessor", "expected an accessor made by protocache (e.g. userCache(store))");
  const checked = migrateOptions(options, "");
  const from = checked.from;
  if (from !== undefined && internalsOf(from.accessor)?.store !== target.store) {
    throw new ConfigError("from.accessor", "the previous major's accessor must use the same store as this one");
  }
  const previous: PreviousMajor<T> | undefined = from === undefined ? target.previous : explicitPrevious(from.accessor, from.convert as (old: P) => T);
  const store = scanCapable(target.store);
  const sourceBase = previous?.keyBase ?? target.keyBase;
  const dryRun = checked.dryRun ?? false;
  const stats = emptyStats();
  const match = `${globEscape(sourceBase)}*`;
  const started = performance.now();
  const batch = previous === undefined ? revisionBatch(target, dryRun) : majorBatch(target, previous, dryRun);
  await walk({
    bulk: store.bulk,
    operation: previous === undefined ? "migrate" : "migrate-major",
    match,
    namespace: sourceBase,
    options: checked,
    stats,
    batch: async (node, keys) => {
      const tally = await batch(node, keys);
      return (into) => {
        tally.mergeInto(into);
        for (const [outcome, n] of tally.entries()) target.recorder?.operation("migrate", outcome, n, undefined);
      };
    },
    onProgress: checked.onProgress === undefined ? undefined : (p) => checked.onProgress?.({ ...p, stats }),
  });
  return { ...stats, dryRun, mode: previous === undefined ? "revision" : "major", match, elapsedMs: performance.now() - started };
}

type Batch = (node: ScanNode, keys: string[]) => Promise<BatchTally<MigrateOutcome>>;

/** Sorts a read: a value to carry forward, or the outcome and reason when there is none. */
function judge<T>(seen: Interpretation<T>, crossMajor: boolean): { value: T } | { outcome: MigrateOutcome; reason: string | undefined } {
  switch (seen.outcome) {
    case "hit":
      return crossMajor && seen.value !== undefined ? { value: seen.value } : { outcome: "current", reason: undefined };
    case "upgraded":
    case "legacy":
      return seen.value === undefined ? { outcome: "skipped", reason: "declined by the read path" } : { value: seen.value };
    case "unknown":
      return { outcome: "skipped", reason: seen.header === undefined ? "newer envelope version" : "newer revision (schema ID unknown to this code)" };
    case "wrong_type":
      return { outcome: "skipped", reason: "entry of another message" };
    case "rejected":
      return { outcome: "skipped", reason: "older than the accessor accepts (minRevision / onOlderRevision)" };
    case "foreign":
      return seen.error === undefined
        ? { outcome: "skipped", reason: "not an envelope (no legacy reader, or it declined)" }
        : { outcome: "failed", reason: `legacy reader: ${seen.error.message}` };
    case "corrupt":
      return { outcome: "failed", reason: `corrupt (${seen.error instanceof DecodeError ? seen.error.reason : "unreadable"})` };
    case "over_budget":
      return { outcome: "failed", reason: "over the read work budget (maxReadWork): raise it on the accessor given to migrate" };
    case "absent":
      // A loader's "does not exist": nothing to carry, and it expires by itself (absentTtlSeconds).
      return { outcome: "skipped", reason: "absent marker (expires by itself)" };
    default:
      // Outcomes the read path may add (e.g. a throwing upgrade hook): failed, named.
      return { outcome: "failed", reason: `read outcome ${seen.outcome}${seen.error === undefined ? "" : `: ${seen.error.message.slice(0, 120)}`}` };
  }
}

/** The previous major from `from`: its accessor's read path, then the conversion. */
function explicitPrevious<T, P>(accessor: unknown, convert: (old: P) => T): PreviousMajor<T> {
  const source = internalsOf<P>(accessor) as AccessorInternals<P>;
  return {
    keyBase: source.keyBase,
    convert: (bytes, key, budget) => {
      const seen = source.interpret(bytes, key, budget);
      const work = seen.work ?? 0;
      if (seen.value === undefined) return { outcome: seen.outcome, value: undefined, header: seen.header, error: seen.error, work };
      try {
        return { outcome: "read_through", value: convert(seen.value), header: seen.header, error: undefined, work };
      } catch (error) {
        return { outcome: "upgrade_failed", value: undefined, header: seen.header, error: error instanceof Error ? error : new Error(String(error)), work };
      }
    },
  };
}

/** A per-key store error: retried with the batch when transient, else a failure. */
function storeFailure(error: Error, tally: BatchTally<MigrateOutcome>, key: string): void {
  if (isTransientReply(error)) throw new RetryableBatchError(error.message, { cause: error });
  tally.add("failed", `store: ${error.message.split("\n")[0]?.slice(0, 120)}`, key);
}

function revisionBatch<T>(target: AccessorInternals<T>, dryRun: boolean): Batch {
  const bulk = scanCapable(target.store).bulk;
  return async (node, keys) => {
    const tally = new BatchTally<MigrateOutcome>();
    let pending = keys;
    // A key rewritten between our read and our write is read once more (it is usually current by then).
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      const read = await bulk.read(node, pending, false);
      const again: string[] = [];
      await inParts(read.length, target.options, (i, decode) => {
        const r = read[i];
        const key = pending[i] as string;
        if (r === null || r === undefined) return tally.add("gone");
        if (r instanceof Error) return storeFailure(r, tally, key);
        const seen = decode((budget) => target.interpret(r.value, key, budget));
        if (seen === undefined) return false;
        const verdict = judge(seen, false);
        if (!("value" in verdict)) return tally.add(verdict.outcome, verdict.reason, key);
        try {
          return { key, expected: r.value, value: target.encode(verdict.value, key, seen.header), schemaId: seen.header?.schemaId };
        } catch (error) {
          return tally.add("failed", `cannot encode the upgraded value: ${(error as Error).message.slice(0, 120)}`, key);
        }
      }, async (items: (ReplaceItem & { schemaId: number | undefined })[]) => {
        if (dryRun) {
          for (const item of items) countMigrated(tally, item.schemaId);
          return;
        }
        const results = await bulk.replace(node, items);
        results.forEach((result, i) => {
          const item = items[i] as ReplaceItem & { schemaId: number | undefined };
          if (result === "replaced") countMigrated(tally, item.schemaId);
          else if (result === "absent") tally.add("gone");
          else if (result === "changed") {
            if (attempt === 0) again.push(item.key);
            else tally.add("skipped", "changed concurrently", item.key);
          } else storeFailure(result, tally, item.key);
        });
      });
      if (dryRun) break;
      pending = again;
    }
    return tally;
  };
}

/**
 * Handles the `n` values a batch read in parts that each decode at most
 * `maxBatchWork` work units (src/accessor/call-budget.ts), handing each
 * part's items to `flush` (the writes) before the next part is decoded: a
 * batch of any size and any values holds at most one part's items at a
 * time, and every key is still handled. `step(i, decode)` handles value `i`:
 * it calls `decode` with the read, which returns undefined when the value
 * ran out of the part's budget (it then starts the next part with a full
 * one); `step` returns an item to write, or `false` for such a value, or
 * nothing once the value is counted. Decoding yields to the event loop
 * between slices of work, across parts too (src/accessor/call-budget.ts).
 */
async function inParts<I>(
  n: number,
  limits: WorkLimits,
  step: (i: number, decode: <T>(read: (budget: number) => T & { readonly outcome: string; readonly work?: number }) => T | undefined) => I | false | void,
  flush: (items: I[]) => Promise<void>,
): Promise<void> {
  let i = 0;
  const slice = new Slice();
  while (i < n) {
    const budget = new CallBudget(limits, slice);
    const items: I[] = [];
    const decode = <T>(read: (budget: number) => T & { readonly outcome: string; readonly work?: number }): T | undefined => {
      const limit = budget.next();
      const seen = read(limit);
      // Out of the part's budget rather than its own: read again at the start of the next part.
      return budget.spend(seen, limit) ? undefined : seen;
    };
    for (; i < n && !budget.spent; i++) {
      if (slice.due) await slice.pause();
      const item = step(i, decode);
      if (item === false) break;
      if (item !== undefined) items.push(item);
    }
    await flush(items);
  }
}

function countMigrated(tally: BatchTally<MigrateOutcome>, schemaId: number | undefined): void {
  tally.add("migrated");
  if (schemaId !== undefined) tally.schema(schemaId);
}

/** Copies the previous major's entries into the target's key space (create-if-absent with the old entry's expiry). */
function majorBatch<T>(target: AccessorInternals<T>, previous: PreviousMajor<T>, dryRun: boolean): Batch {
  const bulk = scanCapable(target.store).bulk;
  const targetBulk = bulk;
  return async (node, keys) => {
    const tally = new BatchTally<MigrateOutcome>();
    const read = await bulk.read(node, keys, true);
    const now = Date.now();
    type Copy = { create: CreateItem; key: string; seen: StoredValue; schemaId: number | undefined };
    await inParts(read.length, target.options, (i, decode): Copy | false | void => {
      const r = read[i];
      const key = keys[i] as string;
      if (r === null || r === undefined) return tally.add("gone");
      if (r instanceof Error) return storeFailure(r, tally, key);
      const seen = decode((budget) => previous.convert(r.value, key, budget));
      if (seen === undefined) return false;
      if (seen.outcome === "upgrade_failed") return tally.add("failed", `conversion to the new major: ${seen.error?.message.slice(0, 120)}`, key);
      if (seen.outcome !== "read_through" || seen.value === undefined) {
        const verdict = judge({ ...seen, revision: undefined } as Interpretation<T>, false);
        return "value" in verdict ? tally.add("skipped", "declined by the read path", key) : tally.add(verdict.outcome === "current" ? "skipped" : verdict.outcome, verdict.reason ?? "declined by the read path", key);
      }
      if (r.expireAt !== undefined && r.expireAt <= now) return tally.add("gone");
      let newKey: string;
      let bytes: Buffer;
      try {
        newKey = target.keyBase + target.entity.key(seen.value as never);
        bytes = target.encode(seen.value, newKey, seen.header);
      } catch (error) {
        return tally.add("failed", `conversion to the new major: ${(error as Error).message.slice(0, 120)}`, key);
      }
      return { create: { key: newKey, value: bytes, expireAt: r.expireAt }, key, seen: r, schemaId: seen.header?.schemaId };
    }, async (copies) => {
      if (dryRun) {
        // What the copies would find: a key already present in the new major is left alone (create-if-absent).
        const present = copies.length === 0 ? [] : await targetBulk.lookup(copies.map((c) => c.create.key), false);
        present.forEach((found, i) => {
          const copy = copies[i] as Copy;
          if (found instanceof Error) storeFailure(found, tally, copy.create.key);
          else if (found !== null && found !== undefined) tally.add("current", "already in the new major");
          else countMigrated(tally, copy.schemaId);
        });
        return;
      }
      const results = await targetBulk.create(copies.map((c) => c.create));
      const created: Copy[] = [];
      results.forEach((result, i) => {
        const copy = copies[i] as Copy;
        if (result === "created") created.push(copy);
        else if (result === "exists") tally.add("current", "already in the new major");
        else storeFailure(result, tally, copy.create.key);
      });
      // The old entry may have been deleted or rewritten while we copied it: then the copy must not stay.
      const reread = await bulk.read(node, created.map((c) => c.key), false);
      for (const [j, origin] of created.entries()) {
        const current = reread[j];
        if (current instanceof Error) {
          storeFailure(current, tally, origin.key);
          continue;
        }
        if (current !== null && current !== undefined && current.value.equals(origin.seen.value)) {
          countMigrated(tally, origin.schemaId);
          continue;
        }
        await target.store.deleteIfEqual(origin.create.key, origin.create.value);
        if (current === null) tally.add("gone");
        else tally.add("skipped", "changed concurrently", origin.key);
      }
    });
    return tally;
  };
}
