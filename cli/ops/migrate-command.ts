import { migrate, type MigrateReport } from "../../src/index.js";
import { createEntityCache } from "../../src/runtime/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { findEntity, projectSchemas, reportFailure, UsageError, type KeySpaceArgs } from "./context.js";
import { dynamicEntity } from "./dynamic-entity.js";
import { progressDisplay } from "./progress.js";

/** Options of `protocache migrate`. */
export interface MigrateCommandOptions extends KeySpaceArgs, ConnectionOptions {
  readonly rate: number | undefined;
  readonly count: number | undefined;
  readonly checkpoint: string | undefined;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly progress: boolean;
}

/**
 * `protocache migrate <entity>`: every entry of the entity's major to the
 * current revision, from the schema lock and proto/ (declared defaults;
 * typed upgrade hooks and moves between majors run in the service's code
 * with `migrate(accessor)`). Exit 1 when an entry failed.
 */
export async function migrateCommand(o: MigrateCommandOptions): Promise<number> {
  let close = (): void => {};
  try {
    const schemas = await projectSchemas(o.root);
    const locked = findEntity(schemas, o.entity, o.major);
    if (locked === undefined) throw new UsageError(`no entity "${o.entity}"${o.major === undefined ? "" : ` of major ${o.major}`} in proto/: migrate moves entries to the revision proto/ holds now`);
    const connection = await connect(o);
    close = connection.close;
    const accessor = createEntityCache(dynamicEntity(locked, schemas.defaults, schemas.lock), connection.store, {
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      ...(o.variant === undefined ? {} : { variant: o.variant }),
      deadlineMs: 0,
    });
    const label = `migrate ${o.prefix ?? ""}${o.entity}:v${locked.model.major}`;
    const display = o.progress ? progressDisplay(label) : undefined;
    const report = await migrate(accessor, {
      dryRun: o.dryRun,
      ...(o.rate === undefined ? {} : { rate: o.rate }),
      ...(o.count === undefined ? {} : { count: o.count }),
      ...(o.checkpoint === undefined ? {} : { checkpoint: o.checkpoint }),
      onProgress: (p) => display?.update(p, `${o.dryRun ? "would migrate" : "migrated"} ${p.stats.counts.migrated}, ${o.dryRun ? "would fail" : "failed"} ${p.stats.counts.failed}`),
    });
    display?.stop();
    if (o.json) console.log(JSON.stringify({ ok: report.counts.failed === 0, entity: o.entity, major: locked.model.major, to: locked.current.revision, ...report }, null, 2));
    else printMigrate(report, `${locked.current.message} r${locked.current.revision}`);
    return report.counts.failed === 0 ? ExitCode.ok : ExitCode.findings;
  } catch (error) {
    return reportFailure("migrate", error, o.json);
  } finally {
    close();
  }
}

function printMigrate(r: MigrateReport, to: string): void {
  const c = r.counts;
  console.log(`${r.dryRun ? "dry run: " : ""}${r.match} → ${to}: ${r.scanned} keys in ${(r.elapsedMs / 1000).toFixed(1)} s`);
  console.log(`  ${r.dryRun ? "would migrate" : "migrated"} ${c.migrated}, already current ${c.current}, skipped ${c.skipped}, failed ${c.failed}, gone meanwhile ${c.gone}`);
  for (const [reason, n] of Object.entries(r.reasons)) console.log(`  ${reason}: ${n}${r.examples[reason] === undefined ? "" : ` (e.g. ${r.examples[reason]?.slice(0, 3).join(", ")})`}`);
  if (r.rescans + r.retries > 0) console.log(`  servers walked again after a restart: ${r.rescans}, batches retried: ${r.retries}`);
  if (r.unreadableKeys > 0) console.log(`  keys with names that are not UTF-8, left alone: ${r.unreadableKeys}`);
}
