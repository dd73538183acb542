import { internalsOf } from "../accessor/internals.js";
import { ConfigError } from "../errors.js";
import type { SchemaRegistry } from "../registry.js";
import type { DeleteRule } from "../stores/bulk.js";
import { ruleSelects } from "../stores/head-class.js";
import { keySpaceOf } from "./key-space.js";
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
  /** Every entry of the key space: a whole retired major. */
  readonly all?: boolean;
}

/** Options of {@link cleanup}. */
export interface CleanupOptions extends CleanupSelection, WalkOptions {
  /** Count what would be deleted, delete nothing. */
  readonly dryRun?: boolean;
  /**
   * Allow selecting the revision the accessor writes (its entries would
   * only be written again). Default false: refused as a likely mistake.
   */
  readonly includeCurrent?: boolean;
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
    includeCurrent: optional(boolean()),
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
 * @example
 * ```ts
 * import { cleanup } from "protocache";
 * const dry = await cleanup(userCache(store), { revisions: [1], dryRun: true });
 * console.log(`${dry.deleted} entries (${dry.bytes} bytes) of revision 1 would go`);
 * await cleanup(userCache(store), { revisions: [1], rate: 2_000 });
 * ```
 */
export async function cleanup(target: unknown, given: CleanupOptions): Promise<CleanupReport> {
  const options = cleanupOptions(given, "");
  const space = keySpaceOf(target);
  const rule = ruleOf(options, space.registry, space.message, space.entity, space.major);
  const writes = currentIds(target);
  if (!options.includeCurrent && rule.schemaIds.some((id) => writes.includes(id))) {
    throw new ConfigError("schemaIds", "selects the revision this accessor writes: its entries would only be written again (pass includeCurrent: true if you mean it, or all: true for the whole key space)");
  }
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

/** Schema IDs the target writes, when it is an accessor. */
function currentIds(target: unknown): number[] {
  const i = internalsOf<unknown>(target);
  return i === undefined ? [] : [i.entity.current.schemaId];
}
