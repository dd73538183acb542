import { cleanup, LiveDataError } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { connect, type ConnectionOptions } from "./connect.js";
import { bytes, hex, livenessOf, messageOf, projectSchemas, registryOf, reportFailure, UsageError, type KeySpaceArgs, type KeySpaceLiveness } from "./context.js";
import { progressDisplay } from "./progress.js";

/** Options of `protocache cleanup`. */
export interface CleanupCommandOptions extends KeySpaceArgs, ConnectionOptions {
  readonly revisions: readonly number[];
  readonly schemaIds: readonly number[];
  readonly legacy: boolean;
  readonly corrupt: boolean;
  readonly all: boolean;
  readonly dryRun: boolean;
  readonly yes: boolean;
  /** Allow deleting live entries (`--include-live`): all of a live major, or the revision it is written with now. */
  readonly includeLive: boolean;
  readonly rate: number | undefined;
  readonly count: number | undefined;
  readonly checkpoint: string | undefined;
  readonly json: boolean;
  readonly progress: boolean;
}

/** The lock's messages of `major`, for a message. */
function lockMessagesOfMajor(schemas: { readonly lock: readonly { readonly message: string; readonly major: number }[] }, major: number): string {
  const names = [...new Set(schemas.lock.filter((r) => r.major === major).map((r) => r.message))];
  return names.length === 0 ? "none" : names.join(", ");
}

/** `protocache cleanup <entity>`: deletes the selected entries of one entity's key space (UNLINK, decided per key on the server). */
export async function cleanupCommand(o: CleanupCommandOptions): Promise<number> {
  let close = (): void => {};
  let liveness: KeySpaceLiveness | undefined;
  try {
    if (o.revisions.length + o.schemaIds.length === 0 && !o.legacy && !o.corrupt && !o.all) {
      throw new UsageError("select what to delete: --revision <n>, --schema-id <id>, --legacy, --corrupt or --all");
    }
    if (!o.dryRun && !o.yes) throw new UsageError("deleting needs --yes (or look first with --dry-run)");
    const schemas = await projectSchemas(o.root);
    const { message, major } = messageOf(schemas, o);
    // A key space no entity in proto/ names is deleted only as a locked message's (its key template checked by messageOf):
    // never by a name alone, which could be a typo or another team's keys.
    if (message === undefined) {
      throw new UsageError(`no entity "${o.entity}" v${major} in proto/: name its retired message with --message (one of the lock's: ${lockMessagesOfMajor(schemas, major)}), so that only a key space protocache wrote is deleted`);
    }
    liveness = await livenessOf(schemas, o.entity, message, major);
    const registry = registryOf(schemas.lock);
    const ids = [...o.schemaIds];
    for (const revision of o.revisions) {
      if (message === undefined) throw new UsageError(`--revision needs the message of ${o.entity} v${major}: pass --message`);
      const entry = registry.revisionsOf(message).find((e) => e.revision === revision);
      if (entry === undefined) throw new UsageError(`${message} has no revision ${revision} in the lock`);
      ids.push(entry.id);
    }
    const connection = await connect(o);
    close = connection.close;
    const display = o.progress ? progressDisplay(`cleanup ${o.prefix ?? ""}${o.entity}:v${major}`) : undefined;
    const report = await cleanup(
      {
        retired: liveness.retired,
        store: connection.store,
        entity: o.entity,
        major,
        registry,
        ...(message === undefined ? {} : { message }),
        ...(o.prefix === undefined ? {} : { prefix: o.prefix }),
        ...(o.variant === undefined ? {} : { variant: o.variant }),
      },
      {
        schemaIds: ids,
        legacy: o.legacy,
        corrupt: o.corrupt,
        all: o.all,
        includeLive: o.includeLive,
        dryRun: o.dryRun,
        ...(o.rate === undefined ? {} : { rate: o.rate }),
        ...(o.count === undefined ? {} : { count: o.count }),
        ...(o.checkpoint === undefined ? {} : { checkpoint: o.checkpoint }),
        onProgress: (p) => display?.update(p, `${o.dryRun ? "would delete" : "deleted"} ${p.deleted}`),
      },
    );
    display?.stop();
    if (o.json) console.log(JSON.stringify({ ok: true, ...report, rule: { ...report.rule, schemaIds: report.rule.schemaIds.map(hex) } }, null, 2));
    else {
      console.log(`${report.dryRun ? "dry run: would delete" : "deleted"} ${report.deleted} of ${report.scanned} keys under ${report.namespace} (${bytes(report.bytes)}) in ${(report.elapsedMs / 1000).toFixed(1)} s`);
      if (report.rescans + report.retries > 0) console.log(`  servers walked again after a restart: ${report.rescans}, batches retried: ${report.retries}`);
    }
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof LiveDataError) return reportFailure("cleanup", new UsageError(refusal(error, o, liveness)), o.json);
    return reportFailure("cleanup", error, o.json);
  } finally {
    close();
  }
}

/** The library's refusal in the command line's terms: what is live and why, and the flags that delete it on purpose. */
function refusal(error: LiveDataError, o: CleanupCommandOptions, liveness: KeySpaceLiveness | undefined): string {
  const ids = error.schemaIds.map(hex).join(", ");
  const what =
    error.selector === "all" ? `--all would delete every entry of ${error.namespace}*, the revision written now (${ids}) included`
    : error.selector === "schemaIds" ? `${ids} ${error.schemaIds.length === 1 ? "is" : "are"} the revision ${error.typeName ?? error.namespace} is written with now: its entries would only be written again`
    : "--legacy would delete legacy values a reader still reads";
  const name = error.typeName ?? "<message>";
  const way = liveness?.newest === true
    ? "it is the major services write now, so what is deleted is loaded and written again"
    : `for a major no service reads any more, remove it from proto/ and run \`protocache retire ${name}\` first (then --all deletes it)`;
  return `refused, nothing ${o.dryRun ? "counted" : "deleted"}: ${what}; this is live data (${liveness?.reason ?? error.reason}). To delete live entries on purpose add --include-live; ${way}`;
}
