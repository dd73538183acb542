import { create, type DescField } from "@bufbuild/protobuf";
import type { LockedEntity, ProjectSchemas } from "../../codegen/index.js";
import { migrate, type CacheStore, type MigrateReport } from "../../src/index.js";
import { createEntityCache } from "../../src/runtime/index.js";
import { dynamicEntity, type DynamicValue } from "./dynamic-entity.js";

/** Where the entries of a previous major stand against the major that migrates from it. */
export interface MovedEntries {
  /** Entries of the previous major whose key is already present in the next major (copied by migrate or read-through, or written there). */
  readonly moved: number;
  /** Entries that have no key in the next major yet. */
  readonly notMoved: number;
  /** The dry run's full report (skipped and failed entries with reasons). */
  readonly report: MigrateReport;
}

/**
 * Counts, without writing anything, how many entries of `previous`'s key
 * space already have their key in `next`'s: a dry run of the move between
 * majors in which the conversion only carries the key fields over (so no
 * service code is needed). Possible when both majors have the same key
 * fields (name and type), as the generator derives the previous key then;
 * undefined otherwise.
 */
export async function movedEntries(
  schemas: ProjectSchemas,
  previous: LockedEntity,
  next: LockedEntity,
  store: CacheStore,
  keySpace: { readonly prefix?: string; readonly variant?: string },
): Promise<MovedEntries | undefined> {
  const same = (a: DescField, b: DescField): boolean => a.name === b.name && a.fieldKind === b.fieldKind && (a.fieldKind !== "scalar" || a.scalar === (b as typeof a).scalar);
  const pk = previous.model.keyFields;
  const nk = next.model.keyFields;
  if (pk.length !== nk.length || !nk.every((k) => pk.some((p) => same(k, p)))) return undefined;
  const options = { ...keySpace, deadlineMs: 0 };
  const target = createEntityCache(dynamicEntity(next, schemas.defaults, schemas.lock), store, options);
  const source = createEntityCache(dynamicEntity(previous, schemas.defaults, schemas.lock), store, options);
  const message = next.model.message;
  const report = await migrate(target, {
    dryRun: true,
    from: { accessor: source, convert: (old: DynamicValue) => create(message, Object.fromEntries(nk.map((k) => [k.localName, old[k.localName]]))) as DynamicValue },
  });
  return { moved: report.counts.current, notMoved: report.counts.migrated, report };
}
