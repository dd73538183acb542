import { readFile } from "node:fs/promises";
import type { LockedEntity, ProjectSchemas } from "../../codegen/index.js";
import { census, deprecatable, parseReadCounts, type DeprecationTarget } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { movedEntries } from "./moved-entries.js";
import { successorOf } from "./successor.js";
import { findEntity, hex, messageOf, projectSchemas, registryOf, reportFailure, UsageError, type KeySpaceArgs } from "./context.js";

/** Options of `protocache deprecatable`. */
export interface DeprecatableCommandOptions extends KeySpaceArgs, ConnectionOptions {
  /** The revision whose upgrade code would go; undefined: the whole major. */
  readonly revision: number | undefined;
  /** A JSON file of read counts per schema ID (see docs/operations.md). */
  readonly reads: string | undefined;
  readonly json: boolean;
}

/**
 * `protocache deprecatable <entity>`: can the upgrade code of a revision
 * (or a whole previous major) be removed? A census of its entries plus the
 * read counts the services exported. Exit 0 removable, 1 not yet.
 */
export async function deprecatableCommand(o: DeprecatableCommandOptions): Promise<number> {
  let close = (): void => {};
  try {
    const schemas = await projectSchemas(o.root);
    const { message, major } = messageOf(schemas, o);
    if (message === undefined) throw new UsageError(`the message of ${o.entity} v${major} is not in proto/: pass --message`);
    const registry = registryOf(schemas.lock);
    const revisions = registry.revisionsOf(message);
    const inProto = findEntity(schemas, o.entity, major);
    const target = targetOf(schemas, o, { message, major, inProto, revisions: revisions.map((e) => ({ id: e.id, revision: e.revision })) });
    let reads: Map<number, number> | undefined;
    if (o.reads !== undefined) {
      try {
        reads = parseReadCounts(JSON.parse(await readFile(o.reads, "utf8")));
      } catch (error) {
        throw new UsageError(`--reads ${o.reads}: ${(error as Error).message}`);
      }
    }
    const connection = await connect(o);
    close = connection.close;
    const report = await census({
      store: connection.store,
      entity: o.entity,
      major,
      registry,
      message,
      ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
      ...(o.variant === undefined ? {} : { variant: o.variant }),
    });
    // A previous major's entries already copied into the next major hold nothing back: count them (a dry run, no write).
    const successor = o.revision === undefined && inProto !== undefined ? successorOf(schemas, o.entity, major) : undefined;
    const keySpace = { ...(o.prefix === undefined ? {} : { prefix: o.prefix }), ...(o.variant === undefined ? {} : { variant: o.variant }) };
    const moved = successor === undefined || inProto === undefined ? undefined : await movedEntries(schemas, inProto, successor.locked, connection.store, keySpace);
    const verdict = deprecatable(report, moved === undefined ? target : { ...target, moved: moved.moved }, reads);
    if (o.json) console.log(JSON.stringify({ ok: verdict.removable, ...verdict }, null, 2));
    else for (const [i, line] of verdict.reasons.entries()) console.log(i === 0 ? line : `  ${line}`);
    return verdict.removable ? ExitCode.ok : ExitCode.findings;
  } catch (error) {
    return reportFailure("deprecatable", error, o.json);
  } finally {
    close();
  }
}

interface Judged {
  readonly message: string;
  readonly major: number;
  /** The entity of this major in proto/, if it is there. */
  readonly inProto: LockedEntity | undefined;
  readonly revisions: readonly { readonly id: number; readonly revision: number }[];
}

/**
 * What to judge, and the command that moves its remaining entries, when
 * one can: a revision older than the one proto/ writes is migrated within
 * its major (`protocache migrate`); a previous major by the major that
 * `migrates_from` it (`protocache migrate --from-major --module`). The
 * current revision, and the newest major of the entity in proto/, are what
 * the code writes: never removable, nothing to migrate.
 */
function targetOf(schemas: ProjectSchemas, o: DeprecatableCommandOptions, j: Judged): DeprecationTarget {
  const keySpace = `${o.prefix === undefined ? "" : ` --prefix ${o.prefix}`}${o.variant === undefined ? "" : ` --variant ${o.variant}`}`;
  if (o.revision !== undefined) {
    const entry = j.revisions.find((e) => e.revision === o.revision);
    if (entry === undefined) throw new UsageError(`${j.message} has no revision ${o.revision} in the lock`);
    const current = j.inProto?.current.id === entry.id;
    const remedy = j.inProto === undefined
      ? "nothing migrates a major that is no longer in proto/: let them expire, or delete them (protocache cleanup)"
      : `migrate them (protocache migrate ${o.entity} --major ${j.major}${keySpace}; with --module <the service's compiled module> to run its upgrade hooks) or let them expire`;
    return { name: `${j.message} r${entry.revision} (${hex(entry.id)})`, schemaIds: [entry.id], current, remedy };
  }
  const successor = successorOf(schemas, o.entity, j.major);
  const newest = j.inProto !== undefined && successor === undefined && !schemas.entities.some((e) => e.entity === j.inProto?.entity && e.model.major > j.major);
  const remedy = successor !== undefined
    ? `move them into major ${successor.locked.model.major} (protocache migrate ${o.entity} --from-major ${j.major} --module <the service's compiled module>${keySpace}) or let them expire`
    : j.inProto === undefined
      ? "nothing migrates a major that is no longer in proto/: let them expire, or delete them (protocache cleanup --all)"
      : "no major in proto/ migrates from it (migrates_from): let them expire";
  return { name: `${j.message} (major ${j.major})`, schemaIds: j.revisions.map((e) => e.id), current: newest, remedy };
}
