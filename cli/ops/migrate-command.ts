import { resolve } from "node:path";
import { migrate, type EntityCache, type MigrateReport } from "../../src/index.js";
import { createEntityCache } from "../../src/runtime/index.js";
import { internalsOf } from "../../src/tools/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { findEntity, projectSchemas, reportFailure, UsageError, type KeySpaceArgs } from "./context.js";
import { dynamicEntity } from "./dynamic-entity.js";
import { progressDisplay } from "./progress.js";
import { successorOf, type Successor } from "./successor.js";
import { loadServiceFactory } from "./service-module.js";
import type { LockedEntity, ProjectSchemas } from "../../codegen/index.js";

/** Options of `protocache migrate`. */
export interface MigrateCommandOptions extends KeySpaceArgs, ConnectionOptions {
  readonly rate: number | undefined;
  readonly count: number | undefined;
  readonly checkpoint: string | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly progress: boolean;
  /** Move this previous major's entries into the major in proto/ that `migrates_from` it (needs `module`). */
  readonly fromMajor?: number | undefined;
  /** The service's compiled module exporting the entity's accessor factory (its typed migrations). */
  readonly module?: string | undefined;
  /** Where a relative `module` path starts (the directory the command runs in). */
  readonly cwd?: string | undefined;
}

/**
 * `protocache migrate <entity>`: every entry of the entity's major to the
 * current revision, from the schema lock and proto/ (declared defaults);
 * with `--module`, through the service's own compiled accessor factory
 * (its typed upgrade hooks); with `--from-major n --module`, every entry of
 * major n moved into the major that `migrates_from` it, by the service's
 * typed `fromPrevious`. Exit 1 when an entry failed, 2 for usage problems
 * (a module that is not built, does not export the factory, or was
 * compiled from other schemas among them).
 */
export async function migrateCommand(o: MigrateCommandOptions): Promise<number> {
  let close = (): void => {};
  try {
    const schemas = await projectSchemas(o.root);
    const target = targetOf(schemas, o);
    const modulePath = o.module === undefined ? undefined : resolve(o.cwd ?? process.cwd(), o.module);
    const loaded = modulePath === undefined ? undefined : await loadServiceFactory(modulePath, {
      message: target.locked.current.message,
      major: target.locked.model.major,
      currentId: target.locked.current.id,
      currentRevision: target.locked.current.revision,
      define: `define${target.locked.model.message.name}Cache`,
      gen: schemas.config.commands.gen,
    });
    const connection = await connect(o);
    close = connection.close;
    const options = {
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      ...(o.variant === undefined ? {} : { variant: o.variant }),
      deadlineMs: 0,
    };
    const accessor: EntityCache<unknown, unknown> = loaded !== undefined
      ? loaded.factory(connection.store, options)
      : createEntityCache(dynamicEntity(target.locked, schemas.defaults, schemas.lock), connection.store, options);
    if (target.from !== undefined && internalsOf(accessor)?.previous === undefined) {
      throw new UsageError(`--module: the accessors ${loaded?.name ?? "its factory"} makes carry no previous major to move from: install the protocache runtime of protocache-gen's version in the service and rebuild it`);
    }
    const label = target.from === undefined
      ? `migrate ${o.prefix ?? ""}${target.locked.entity}:v${target.locked.model.major}`
      : `migrate ${o.prefix ?? ""}${target.from.entity}:v${target.from.major} → v${target.locked.model.major}`;
    const display = o.progress ? progressDisplay(label) : undefined;
    const report = await migrate(accessor, {
      dryRun: o.dryRun,
      ...(o.rate === undefined ? {} : { rate: o.rate }),
      ...(o.count === undefined ? {} : { count: o.count }),
      ...(o.checkpoint === undefined ? {} : { checkpoint: o.checkpoint }),
      onProgress: (p) => display?.update(p, `${o.dryRun ? "would migrate" : "migrated"} ${p.stats.counts.migrated}, ${o.dryRun ? "would fail" : "failed"} ${p.stats.counts.failed}`),
    });
    display?.stop();
    const to = `${target.locked.current.message} r${target.locked.current.revision}`;
    if (o.json) {
      const from = target.from === undefined ? {} : { from: { major: target.from.major, message: target.from.message } };
      console.log(JSON.stringify({ ok: report.counts.failed === 0, entity: target.locked.entity, major: target.locked.model.major, to: target.locked.current.revision, ...from, module: loaded?.name ?? null, ...report }, null, 2));
    } else {
      printMigrate(report, to, loaded?.name);
      const previous = target.from === undefined ? previousOf(schemas, target.locked) : undefined;
      if (previous !== undefined) {
        console.log(`  entries of ${previous.message} (${o.prefix ?? ""}${previous.entity}:v${previous.major}:*) are not moved by this: protocache migrate ${target.locked.entity} --from-major ${previous.major} --module <the service's compiled module>`);
      }
    }
    return report.counts.failed === 0 ? ExitCode.ok : ExitCode.findings;
  } catch (error) {
    return reportFailure("migrate", error, o.json);
  } finally {
    close();
  }
}

/** The entity to migrate into, and the previous major to move from (with `--from-major`). */
function targetOf(schemas: ProjectSchemas, o: MigrateCommandOptions): { locked: LockedEntity; from: Successor["from"] | undefined } {
  if (o.fromMajor === undefined) {
    const locked = findEntity(schemas, o.entity, o.major);
    if (locked === undefined) throw new UsageError(`no entity "${o.entity}"${o.major === undefined ? "" : ` of major ${o.major}`} in proto/: migrate moves entries to the revision proto/ holds now`);
    const previous = previousOf(schemas, locked);
    if (o.module !== undefined && previous !== undefined) {
      throw new UsageError(`${locked.current.message} migrates from ${previous.message}: with --module, migrate moves major ${previous.major}'s entries into it; pass --from-major ${previous.major} (revisions within major ${locked.model.major} are migrated without --module)`);
    }
    return { locked, from: undefined };
  }
  const successor = successorOf(schemas, o.entity, o.fromMajor);
  if (successor === undefined || (o.major !== undefined && successor.locked.model.major !== o.major)) {
    const lines = schemas.entities.flatMap((e) => {
      const p = previousOf(schemas, e);
      return p === undefined ? [] : [`${e.entity} v${e.model.major} migrates from ${p.message} (major ${p.major})`];
    });
    throw new UsageError(`no entity in proto/ migrates from major ${o.fromMajor} of "${o.entity}"${o.major === undefined ? "" : ` into major ${o.major}`} (${lines.join("; ") || "no entity has migrates_from"})`);
  }
  if (o.module === undefined) {
    throw new UsageError(
      `moving ${successor.from.message} entries into ${successor.locked.current.message} runs the service's typed fromPrevious: pass --module <the service's compiled JavaScript module that exports the factory define${successor.locked.model.message.name}Cache returns> (build the service first, e.g. npx tsc -p tsconfig.json)`,
    );
  }
  return { locked: successor.locked, from: successor.from };
}

/** The previous major an entity in proto/ `migrates_from`, if any. */
function previousOf(schemas: ProjectSchemas, locked: LockedEntity): Successor["from"] | undefined {
  const from = locked.model.migratesFrom;
  const previous = from === undefined ? undefined : schemas.entities.find((e) => e.current.message === from);
  return previous === undefined ? undefined : { message: previous.current.message, major: previous.model.major, entity: previous.entity };
}

function printMigrate(r: MigrateReport, to: string, module: string | undefined): void {
  const c = r.counts;
  console.log(`${r.dryRun ? "dry run: " : ""}${r.match} → ${to}${module === undefined ? "" : ` (the service's ${module})`}: ${r.scanned} keys in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  console.log(`  ${r.dryRun ? "would migrate" : "migrated"} ${c.migrated}, already ${r.mode === "major" ? "in the new major" : "current"} ${c.current}, skipped ${c.skipped}, failed ${c.failed}, gone meanwhile ${c.gone}`);
  for (const [reason, n] of Object.entries(r.reasons)) console.log(`  ${reason}: ${n}${(r.examples[reason]?.length ?? 0) === 0 ? "" : ` (e.g. ${r.examples[reason]?.slice(0, 3).join(", ")})`}`);
  if (r.rescans + r.retries > 0) console.log(`  servers walked again after a restart: ${r.rescans}, batches retried: ${r.retries}`);
  if (r.unreadableKeys > 0) console.log(`  keys with names that are not UTF-8, left alone: ${r.unreadableKeys}`);
}
