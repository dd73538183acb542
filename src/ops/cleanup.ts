import { internalsOf } from "../accessor/internals.js";
import { ConfigError, LiveDataError } from "../errors.js";
import type { SchemaEntry, SchemaRegistry } from "../registry.js";
import type { DeleteRule } from "../stores/bulk.js";
import { ruleSelects } from "../stores/head-class.js";
import { keySpaceOf, type KeySpace } from "./key-space.js";
import { arrayOf, boolean, func, integer, optional, options as optionsOf, schemaId, type ShapeOf } from "../validation/index.js";
import { walk, walkOptionChecks, type WalkOptions, type WalkProgress, type WalkTotals } from "./walk.js";

/** What to delete. At least one selector is required. */
export interface CleanupSelection {
  /** Entries written by these schema IDs. */
  readonly schemaIds?: readonly number[];
  /** Entries of these revisions of the key space's message (resolved through the lock). */
  readonly revisions?: readonly number[];
  /** Values that are not envelopes (written before protocache). */
  readonly legacy?: boolean;
  /** Envelopes whose header cannot be valid. */
  readonly corrupt?: boolean;
  /** Every entry of the key space: a whole retired major (refused on a live key space without `includeLive`). */
  readonly all?: boolean;
}

/** Options of {@link cleanup}. */
export interface CleanupOptions extends CleanupSelection, WalkOptions {
  /** Count what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /**
   * Allow deleting live entries: everything in a live key space (`all`),
   * the revision it is written with now (`schemaIds`, `revisions`), or
   * legacy values the accessor's `legacy` reader reads at its own keys. A
   * key space is live when it is an accessor's, or named without
   * `retired: true`. Default false: such a selection (dry run included) is
   * refused with a {@link LiveDataError} before any key is read.
   */
  readonly includeLive?: boolean;
  readonly onProgress?: (progress: WalkProgress & { readonly deleted: number }) => void;
}

/** The checks of {@link CleanupSelection}. */
const selectionChecks = {
  schemaIds: optional(arrayOf(schemaId())),
  revisions: optional(arrayOf(integer(1))),
  legacy: optional(boolean()),
  corrupt: optional(boolean()),
  all: optional(boolean()),
} as const satisfies ShapeOf<CleanupSelection>;

/** The spec of {@link CleanupOptions}: a misspelt `dryRun` (or any other name) is refused before anything is deleted. */
const cleanupOptions = optionsOf(
  {
    ...selectionChecks,
    ...walkOptionChecks,
    dryRun: optional(boolean()),
    includeLive: optional(boolean()),
    onProgress: optional(func<(progress: WalkProgress & { readonly deleted: number }) => void>()),
  } satisfies ShapeOf<CleanupOptions>,
  { name: "cleanup options", optional: false },
);

/** The result of {@link cleanup}. */
export interface CleanupReport extends WalkTotals {
  readonly namespace: string;
  readonly dryRun: boolean;
  /** Keys deleted (or, with `dryRun`, that would be). */
  readonly deleted: number;
  readonly bytes: number;
  readonly rule: DeleteRule;
  readonly elapsedMs: number;
}

/**
 * Deletes the entries of given schema IDs, revisions, legacy or corrupt
 * values, or a whole retired major, in one entity's key space and nowhere
 * else: SCAN matches only that namespace (glob characters escaped, and
 * key parts can hold none), and every returned key is checked to start
 * with it. Each batch runs one script on the server that holds it, which
 * reads each key's header and UNLINKs it in the same atomic step, so an
 * entry rewritten meanwhile in another revision is never deleted.
 *
 * Live data is never deleted by default: on an accessor's key space, or
 * one named without `retired: true`, `all`, the revision written now and
 * (for an accessor with a `legacy` reader at its own keys) `legacy` are
 * refused with a {@link LiveDataError}, dry runs too, unless
 * `includeLive: true`.
 *
 * @example
 * ```ts
 * import { cleanup } from "protocache";
 * const dry = await cleanup(userCache(store), { revisions: [1], dryRun: true });
 * console.log(`${dry.deleted} entries (${dry.bytes} bytes) of revision 1 would go`);
 * await cleanup(userCache(store), { revisions: [1], rate: 2_000 });
 * // A retired major, named from the lock:
 * await cleanup({ store, entity: "user", major: 1, message: "acme.user.v1.User", registry: schemaRegistry, retired: true }, { all: true });
 * ```
 */
export async function cleanup(target: unknown, given: CleanupOptions): Promise<CleanupReport> {
  const options = cleanupOptions(given, "");
  const space = keySpaceOf(target);
  const rule = ruleOf(options, space.registry, space.message, space.entity, space.major);
  if (options.includeLive !== true) refuseLive(rule, space, liveness(target, space));
  const dryRun = options.dryRun ?? false;
  const stats = { deleted: 0, bytes: 0, scanned: 0, rescans: 0, retries: 0, unreadableKeys: 0 };
  const started = performance.now();
  await walk({
    bulk: space.store.bulk,
    operation: dryRun ? "cleanup-dry-run" : "cleanup",
    match: space.match,
    namespace: space.namespace,
    options,
    stats,
    batch: async (node, keys) => {
      let deleted = 0;
      let bytes = 0;
      if (dryRun) {
        for (const t of await space.store.bulk.tally(node, keys)) {
          if (!ruleSelects(rule, t.kind, t.schemaId)) continue;
          deleted += t.count;
          bytes += t.bytes;
        }
      } else {
        ({ deleted, bytes } = await space.store.bulk.deleteWhere(node, keys, rule));
      }
      return (into) => {
        into.deleted += deleted;
        into.bytes += bytes;
        space.recorder?.operation("cleanup", dryRun ? "would_delete" : "deleted", deleted, undefined);
      };
    },
    onProgress: options.onProgress === undefined ? undefined : (p) => options.onProgress?.({ ...p, deleted: stats.deleted }),
  });
  return { namespace: space.namespace, dryRun, rule, ...stats, elapsedMs: performance.now() - started };
}

/** Turns a selection into a delete rule, checking it. */
function ruleOf(selection: CleanupSelection, registry: SchemaRegistry, message: string | undefined, entity: string, major: number): DeleteRule {
  const ids = [...(selection.schemaIds ?? [])];
  if ((selection.revisions ?? []).length > 0) {
    if (message === undefined) throw new ConfigError("revisions", `the message of ${entity} v${major} is not known here: name schema IDs instead`);
    for (const revision of selection.revisions ?? []) {
      const found = registry.revisionsOf(message).filter((e) => e.revision === revision);
      if (found.length !== 1) throw new ConfigError("revisions", `${message} has no revision ${revision} in the lock`);
      ids.push((found[0] as { id: number }).id);
    }
  }
  const rule: DeleteRule = { schemaIds: ids, legacy: selection.legacy === true, corrupt: selection.corrupt === true, all: selection.all === true };
  if (!rule.all && !rule.legacy && !rule.corrupt && rule.schemaIds.length === 0) {
    throw new ConfigError("selection", "select what to delete: schemaIds, revisions, legacy, corrupt or all");
  }
  return rule;
}

/** Why a key space is live and what it is written with now; undefined for a retired one. */
interface Liveness {
  /** The schema IDs written there now. */
  readonly ids: readonly number[];
  readonly reason: string;
  /** An accessor's `legacy` reader reads legacy values at its own keys. */
  readonly readsLegacy: boolean;
}

/** An accessor's key space is live; a named one unless `retired: true` (its newest locked revision is the one written now). */
function liveness(target: unknown, space: KeySpace): Liveness | undefined {
  const i = internalsOf<unknown>(target);
  if (i !== undefined) {
    return { ids: [i.entity.current.schemaId], reason: "the accessor given reads and writes it", readsLegacy: i.options.legacy !== undefined && i.options.legacy.key === undefined };
  }
  if (space.retired) return undefined;
  // Without the message, the newest revision of every message of this major counts as written now.
  const messages = space.message === undefined ? new Set(space.registry.entries.filter((e) => e.major === space.major).map((e) => e.message)) : [space.message];
  const ids = [...messages].flatMap((m) => {
    const newest = space.registry.revisionsOf(m).reduce<SchemaEntry | undefined>((a, e) => (a === undefined || e.revision > a.revision ? e : a), undefined);
    return newest === undefined ? [] : [newest.id];
  });
  return { ids, reason: "its key space was named without retired: true", readsLegacy: false };
}

/** Throws {@link LiveDataError} when the rule would delete live entries. */
function refuseLive(rule: DeleteRule, space: KeySpace, live: Liveness | undefined): void {
  if (live === undefined) return;
  if (rule.all) throw new LiveDataError(space.namespace, space.message, "all", live.ids, live.reason);
  const selected = rule.schemaIds.filter((id) => live.ids.includes(id));
  if (selected.length > 0) throw new LiveDataError(space.namespace, space.message, "schemaIds", selected, live.reason);
  if (rule.legacy && live.readsLegacy) throw new LiveDataError(space.namespace, space.message, "legacy", live.ids, live.reason);
}
