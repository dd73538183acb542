import type { HeadClass } from "../stores/bulk.js";
import { keySpaceOf, type KeySpace } from "./key-space.js";
import { func, optional, options as optionsOf, type ShapeOf } from "../validation/index.js";
import { walk, walkOptionChecks, type WalkOptions, type WalkProgress, type WalkTotals } from "./walk.js";

/** One line of a census: the entries of one kind (and schema ID). */
export interface CensusGroup {
  readonly kind: HeadClass;
  readonly schemaId: number | undefined;
  /** From the lock, when the ID is known. */
  readonly message: string | undefined;
  readonly major: number | undefined;
  readonly revision: number | undefined;
  /** Known ID of another message than this key space's (its entries are `wrong_type` misses). */
  readonly foreign: boolean;
  readonly count: number;
  readonly bytes: number;
  /** With a sample: `count` scaled to the whole key space. */
  readonly estimatedCount: number | undefined;
}

/** The result of {@link census}. */
export interface CensusReport extends WalkTotals {
  readonly namespace: string;
  readonly entity: string;
  readonly major: number;
  readonly groups: readonly CensusGroup[];
  readonly bytes: number;
  /** Share of the key space examined: 1 for a full census; less with `sample` (counts are then estimates). */
  readonly fraction: number;
  readonly sampled: boolean;
  readonly elapsedMs: number;
}

/** Options of {@link census}. */
export interface CensusOptions extends Omit<WalkOptions, "checkpoint" | "limit"> {
  /** Stop after this many keys of the key space and estimate the rest. */
  readonly sample?: number;
  readonly onProgress?: (progress: WalkProgress) => void;
}

const { checkpoint: _checkpoint, limit: _limit, ...censusWalkChecks } = walkOptionChecks;

/** The spec of {@link CensusOptions}. */
const censusOptions = optionsOf(
  {
    ...censusWalkChecks,
    sample: walkOptionChecks.limit,
    onProgress: optional(func<(progress: WalkProgress) => void>()),
  } satisfies ShapeOf<CensusOptions>,
  { name: "census options" },
);

interface CensusStats extends WalkTotals {
  groups: Map<string, { kind: HeadClass; schemaId: number | undefined; count: number; bytes: number }>;
}

/**
 * Counts the entries of one entity and major per schema ID (hence per
 * revision), with their bytes, reading only headers: each SCAN step runs
 * inside a small script on the server that holds the keys, which reads
 * each key's first 7 bytes and size and replies with the cursor and a few
 * tally entries: no key name or value crosses the network (the bench
 * compares it with SCAN + GETRANGE and with SCAN + full GET). Legacy values, impossible
 * headers, newer envelope versions and non-string keys are counted apart.
 * A damaged payload behind a valid header is only found by reading it
 * (`migrate --dry-run` or `inspect`).
 *
 * @example
 * ```ts
 * import { census } from "protocache";
 * const report = await census(userCache(store));
 * for (const g of report.groups) console.log(g.kind, g.revision, g.count, g.bytes);
 * ```
 */
export async function census(target: unknown, options: CensusOptions = {}): Promise<CensusReport> {
  const { sample, onProgress, ...walkOptions } = censusOptions(options, "");
  const space: KeySpace = keySpaceOf(target);
  const stats: CensusStats & WalkTotals = { groups: new Map(), scanned: 0, rescans: 0, retries: 0, unreadableKeys: 0 };
  const started = performance.now();
  let fraction = 0;
  await walk({
    bulk: space.store.bulk,
    operation: "census",
    match: space.match,
    namespace: space.namespace,
    options: { ...walkOptions, ...(sample === undefined ? {} : { limit: sample }) },
    stats,
    step: async (node, cursor, count) => {
      const page = await space.store.bulk.tallyScan(node, cursor, space.match, count, space.namespace);
      const merge = (into: CensusStats & WalkTotals): void => {
        for (const t of page.tally) {
          const id = `${t.kind}:${t.schemaId ?? ""}`;
          const g = into.groups.get(id) ?? { kind: t.kind, schemaId: t.schemaId, count: 0, bytes: 0 };
          g.count += t.count;
          g.bytes += t.bytes;
          into.groups.set(id, g);
          space.recorder?.operation("census", t.kind, t.count, t.schemaId);
        }
      };
      return { cursor: page.cursor, keys: page.keys, merge };
    },
    onProgress: (p) => {
      fraction = p.fraction;
      onProgress?.(p);
    },
  });
  const sampled = fraction < 1;
  const groups = [...stats.groups.values()]
    .map((g): CensusGroup => {
      const entry = g.schemaId === undefined ? undefined : space.registry.get(g.schemaId);
      return {
        ...g,
        message: entry?.message,
        major: entry?.major,
        revision: entry?.revision,
        foreign: entry !== undefined && entry.major !== space.major,
        estimatedCount: sampled && fraction > 0 ? Math.round(g.count / fraction) : undefined,
      };
    })
    .sort((a, b) => b.count - a.count);
  return {
    namespace: space.namespace,
    entity: space.entity,
    major: space.major,
    groups,
    bytes: groups.reduce((n, g) => n + g.bytes, 0),
    fraction,
    sampled,
    scanned: stats.scanned,
    rescans: stats.rescans,
    retries: stats.retries,
    unreadableKeys: stats.unreadableKeys,
    elapsedMs: performance.now() - started,
  };
}
