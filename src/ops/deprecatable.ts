import { ReadCountsError } from "../errors.js";
import { arrayOf, boolean, integer, optional, options, satisfies, schemaId, text, type ShapeOf } from "../validation/index.js";
import type { CensusReport } from "./census.js";

/** Reads per schema ID over a window, as counted by the accessors' `readsBySchemaId` or their metrics. */
export type ReadCounts = ReadonlyMap<number, number>;

/** What to judge: one revision, or a whole major. */
export interface DeprecationTarget {
  /** Human name, e.g. `acme.user.v1.User r1` or `acme.user.v1 (major 1)`. */
  readonly name: string;
  /** Schema IDs whose upgrade code would go. */
  readonly schemaIds: readonly number[];
  /** True when a selected ID is one the current code writes: never removable, and nothing to migrate. */
  readonly current: boolean;
  /**
   * What moves (or removes) the entries that remain, as one clause the
   * verdict quotes, e.g. `move them into major 2 (protocache migrate user
   * --from-major 1 --module …)`. Default: `migrate them or let them expire`.
   * Not used for a current target (its entries are not old).
   */
  readonly remedy?: string;
  /**
   * For a previous major: how many of its entries are already in the next
   * major (a dry-run move counts them; the CLI does). They hold nothing
   * back: the next major no longer needs to read them through.
   */
  readonly moved?: number;
}

/** The verdict of {@link deprecatable}. */
export interface DeprecationVerdict {
  readonly target: string;
  readonly removable: boolean;
  /** Entries of the target left in the cache (a census; estimated when sampled). */
  readonly entries: number;
  /** Reads of the target's entries in the window given, or undefined when no counts were given. */
  readonly reads: number | undefined;
  /** One sentence per reason, the deciding one first. */
  readonly reasons: readonly string[];
}

/** The spec of {@link DeprecationTarget}. */
const targetCheck = options(
  { name: text({ nonEmpty: true }), schemaIds: arrayOf(schemaId()), current: boolean(), remedy: optional(text({ nonEmpty: true })), moved: optional(integer(0)) } satisfies ShapeOf<DeprecationTarget>,
  { expected: "a DeprecationTarget like { name, schemaIds: [0x…], current: false }", optional: false },
);

const censusCheck = satisfies<CensusReport>(
  (v) => typeof v === "object" && v !== null && Array.isArray((v as CensusReport).groups) && typeof (v as CensusReport).namespace === "string",
  "a CensusReport (what census() returns)",
);

const readsCheck = satisfies<ReadCounts>((v) => v === undefined || v instanceof Map, "read counts as a Map of schema ID to reads (parseReadCounts makes one), or undefined");

/**
 * Whether the upgrade code of a revision (its declared-default fill, its
 * hooks) or of a whole previous major (its accessor and `fromPrevious`)
 * can be removed: only when no entry of it is left in the cache (census)
 * and no read hit one during the window the read counts cover (so no
 * instance still writes it). Without read counts the answer is no: an
 * empty census alone does not show that no old instance is still writing.
 *
 * @example
 * ```ts
 * import { census, deprecatable } from "protocache";
 * const report = await census(userCache(store));
 * const verdict = deprecatable(report, { name: "User r1", schemaIds: [0xbacae05f], current: false }, new Map([[0xbacae05f, 0]]));
 * console.log(verdict.removable, verdict.reasons.join(" "));
 * ```
 */
export function deprecatable(census: CensusReport, given: DeprecationTarget, reads: ReadCounts | undefined): DeprecationVerdict {
  censusCheck(census, "census");
  const target = targetCheck(given, "target");
  readsCheck(reads, "reads");
  const ids = new Set(target.schemaIds);
  const found = census.groups.filter((g) => g.schemaId !== undefined && ids.has(g.schemaId)).reduce((n, g) => n + (g.estimatedCount ?? g.count), 0);
  const moved = Math.min(found, target.moved ?? 0);
  const entries = found - moved;
  const readCount = reads === undefined ? undefined : target.schemaIds.reduce((n, id) => n + (reads.get(id) ?? 0), 0);
  const reasons: string[] = [];
  const estimated = census.sampled ? " (estimated)" : "";
  if (target.current) reasons.push(`${target.name} is what the current code writes: its entries are current, not upgraded.`);
  if (moved > 0) reasons.push(`${moved}${estimated} entr${moved === 1 ? "y" : "ies"} of ${target.name} among the keys ${census.namespace}* ${moved === 1 ? "is" : "are"} already in the next major: nothing reads ${moved === 1 ? "it" : "them"} through any more.`);
  if (entries > 0) {
    const what = `${entries}${estimated} entr${entries === 1 ? "y" : "ies"} of ${target.name} remain${entries === 1 ? "s" : ""} among the keys ${census.namespace}*${moved > 0 ? ", not in the next major yet" : ""}`;
    reasons.push(target.current ? `${what}: current entries, nothing to migrate.` : `${what}; ${target.remedy ?? "migrate them or let them expire"} first.`);
  } else if (moved === 0) {
    reasons.push(`no entry of ${target.name} remains among the keys ${census.namespace}*${census.sampled ? " (in a sample: run a full census to be sure)" : ""}.`);
  }
  if (readCount === undefined) reasons.push("no read counts were given: an empty census does not show that no instance still writes it (pass the readsBySchemaId of every instance, or your metrics' reads by schema ID, over a window longer than the TTL).");
  else if (readCount > 0) reasons.push(`${readCount} read(s) hit ${target.name} in the window given: some instance still writes it, or entries were read before they were migrated.`);
  else reasons.push(`no read hit ${target.name} in the window given.`);
  const removable = !target.current && entries === 0 && !census.sampled && readCount === 0;
  if (removable) reasons.unshift(`${target.name} can be removed: nothing is left to upgrade and nothing reads it.`);
  else reasons.unshift(`${target.name} cannot be removed yet.`);
  return { target: target.name, removable, entries, reads: readCount, reasons };
}

/**
 * Read counts from what services export: a `stats()` snapshot (its
 * `readsBySchemaId`), a list of them (one per instance), a plain
 * `{ "0x…": n }` map, or a Prometheus instant-query result over
 * `protocache_reads_total` with a `protocache_schema_id` label. Throws a
 * {@link ReadCountsError} (naming where) for anything else.
 */
export function parseReadCounts(data: unknown): Map<number, number> {
  const counts = new Map<number, number>();
  const add = (at: string, id: string, n: unknown): void => {
    const parsed = /^(0x)?[0-9a-f]{1,8}$/i.test(id) ? Number.parseInt(id.replace(/^0x/i, ""), 16) : Number.NaN;
    const value = typeof n === "string" ? Number(n) : n;
    if (!Number.isFinite(parsed)) throw new ReadCountsError(at, `${JSON.stringify(id)} is not a schema ID (0x and up to 8 hex digits)`);
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new ReadCountsError(at, `expected a count >= 0 for ${id}, got ${JSON.stringify(n) ?? String(n)}`);
    counts.set(parsed, (counts.get(parsed) ?? 0) + value);
  };
  const sub = (at: string, key: string): string => (at === "" ? key : `${at}.${key}`);
  const visit = (node: unknown, at: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => visit(n, `${at}[${i}]`));
    if (typeof node !== "object" || node === null) throw new ReadCountsError(at, `expected an object or an array, got ${node === null ? "null" : typeof node}`);
    const o = node as Record<string, unknown>;
    if (typeof o["readsBySchemaId"] === "object" && o["readsBySchemaId"] !== null) return visit(o["readsBySchemaId"], sub(at, "readsBySchemaId"));
    const data = o["data"] as { result?: unknown } | undefined;
    if (typeof data === "object" && data !== null && Array.isArray(data.result)) {
      (data.result as { metric?: Record<string, string>; value?: [number, string] }[]).forEach((r, i) => {
        const id = r.metric?.["protocache_schema_id"];
        if (id !== undefined) add(`${sub(at, "data.result")}[${i}]`, id, r.value?.[1]);
      });
      return;
    }
    for (const [id, n] of Object.entries(o)) add(sub(at, id), id, n);
  };
  visit(data, "");
  return counts;
}
