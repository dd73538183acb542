import { readFile } from "node:fs/promises";
import { census, deprecatable, parseReadCounts, type DeprecationTarget } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
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
    let target: DeprecationTarget;
    if (o.revision !== undefined) {
      const entry = revisions.find((e) => e.revision === o.revision);
      if (entry === undefined) throw new UsageError(`${message} has no revision ${o.revision} in the lock`);
      target = { name: `${message} r${entry.revision} (${hex(entry.id)})`, schemaIds: [entry.id], current: inProto?.current.id === entry.id };
    } else {
      target = { name: `${message} (major ${major})`, schemaIds: revisions.map((e) => e.id), current: inProto !== undefined };
    }
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
    const verdict = deprecatable(report, target, reads);
    if (o.json) console.log(JSON.stringify({ ok: verdict.removable, ...verdict }, null, 2));
    else for (const [i, line] of verdict.reasons.entries()) console.log(i === 0 ? line : `  ${line}`);
    return verdict.removable ? ExitCode.ok : ExitCode.findings;
  } catch (error) {
    return reportFailure("deprecatable", error, o.json);
  } finally {
    close();
  }
}
