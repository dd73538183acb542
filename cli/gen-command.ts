import { formatGenErrors, formatSchemaId, GenError, GenErrors, loadConfig, planGeneration, syncOutput } from "../codegen/index.js";
import { formatRefusals } from "../codegen/check/finding.js";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { ExitCode } from "./exit-codes.js";

/** Rules that mean the environment or configuration is broken, not the schemas. */
const environmentRules = new Set(["buf-missing", "config", "buf-breaking"]);

/** Options of `protocache gen`. */
export interface GenCommandOptions {
  readonly root: string;
  readonly quiet: boolean;
}

/**
 * `protocache gen`: lint, lock new revisions, regenerate `generated/`, and
 * say what it did: every file written or removed, every folder removed,
 * examples generated without a lock entry, and entities still locked but
 * gone from the schemas. Returns the exit code.
 */
export async function genCommand(options: GenCommandOptions): Promise<number> {
  const started = performance.now();
  try {
    const plan = await planGeneration(options.root);
    const outDir = join(options.root, plan.config.outDir);
    const diff = await syncOutput(outDir, plan.files);
    const lockPath = join(options.root, plan.config.lockFile);
    // Also rewritten when only its layout differs (an older header, a hand-merged conflict): entries never change here.
    const stored = await readFile(lockPath, "utf8").catch(() => undefined);
    const lockWritten = plan.lockChanged || (stored !== undefined && stored !== plan.lockText);
    if (lockWritten) await writeFile(lockPath, plan.lockText);
    for (const warning of plan.warnings) console.error(`warning: ${warning}`);
    if (!options.quiet) {
      const { config } = plan;
      for (const { from, to } of plan.renumbered) {
        console.log(`renumbered ${from.message} r${from.revision} (${formatSchemaId(from.id)}) as r${to}: two branches added revisions`);
      }
      for (const rev of plan.added) console.log(`locked ${rev.message} r${rev.revision} as ${formatSchemaId(rev.id)}`);
      for (const rev of plan.examples) {
        console.log(`example ${rev.message} (${formatSchemaId(rev.id)}) generated, not locked: remove \`example: true\` to keep it as your own entity, or delete it (nothing stays behind)`);
      }
      if (lockWritten && plan.added.length + plan.renumbered.length === 0) console.log(`wrote ${config.lockFile} (layout only)`);
      for (const path of diff.changed) console.log(`wrote ${config.outDir}/${path}`);
      for (const path of diff.stale) console.log(`removed ${config.outDir}/${path} (no longer generated)`);
      for (const path of diff.removedDirs) console.log(`removed ${config.outDir}/${path}/ (empty)`);
      for (const message of plan.orphaned) {
        console.log(`note: ${message} has revisions in ${config.lockFile} but is no longer in ${config.protoDir}/: ${config.commands.check} reports it (entity-removed) until you run \`npx protocache retire ${message}\` or restore it`);
      }
      const ms = Math.round(performance.now() - started);
      const removed = diff.stale.length + diff.removedDirs.length;
      const summary =
        diff.changed.length + removed + plan.added.length === 0
          ? "up to date"
          : `${diff.changed.length} written, ${diff.stale.length} removed${diff.removedDirs.length === 0 ? "" : ` (and ${diff.removedDirs.length} empty folder(s))`}, ${plan.added.length} revision(s) locked`;
      const where = options.root === resolve(".") ? "" : ` in ${relative(".", options.root) || "."}`;
      console.log(`protocache gen${where}: ${summary} (${ms} ms)`);
    }
    return ExitCode.ok;
  } catch (error) {
    return reportGenFailure(error, await projectOf(options.root));
  }
}

/** The lock file and gen command the fixes name, when the configuration loads. */
async function projectOf(root: string): Promise<{ lockFile: string; genCommand: string } | undefined> {
  try {
    const config = await loadConfig(root);
    return { lockFile: config.lockFile, genCommand: config.commands.gen };
  } catch {
    return undefined;
  }
}

/**
 * Prints generator errors and picks the exit code: a refusal of the schemas
 * as `check` prints it (location, rule, message, `breaks:`, `fix:`), an
 * environment or configuration problem in one line.
 */
export function reportGenFailure(error: unknown, project?: { readonly lockFile: string; readonly genCommand: string }): number {
  const errors = error instanceof GenErrors ? error.errors : error instanceof GenError ? [error] : undefined;
  if (errors === undefined) throw error;
  const environment = errors.some((e) => environmentRules.has(e.rule));
  console.error(environment || project === undefined ? formatGenErrors(errors) : formatRefusals(errors, project));
  return environment ? ExitCode.usage : ExitCode.findings;
}
