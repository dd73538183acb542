import { formatGenErrors, GenError, GenErrors, planGeneration, syncOutput } from "../codegen/index.js";
import { readFile, writeFile } from "node:fs/promises";
import { join, relative, resolve } from "node:path";
import { ExitCode } from "./exit-codes.js";

/** Rules that mean the environment or configuration is broken, not the schemas. */
const environmentRules = new Set(["buf-missing", "config"]);

/** Options of `protocache gen`. */
export interface GenCommandOptions {
  readonly root: string;
  readonly quiet: boolean;
}

/** `protocache gen`: lint, lock new revisions, regenerate `generated/`. Returns the exit code. */
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
    if (!options.quiet) {
      for (const { from, to } of plan.renumbered) {
        console.log(`renumbered ${from.message} r${from.revision} (0x${from.id.toString(16).padStart(8, "0")}) as r${to}: two branches added revisions`);
      }
      for (const rev of plan.added) {
        console.log(`locked ${rev.message} r${rev.revision} as 0x${rev.id.toString(16).padStart(8, "0")}`);
      }
      if (lockWritten && plan.added.length + plan.renumbered.length === 0) console.log(`wrote ${plan.config.lockFile} (layout only)`);
      for (const path of diff.changed) console.log(`wrote ${plan.config.outDir}/${path}`);
      for (const path of diff.stale) console.log(`removed ${plan.config.outDir}/${path}`);
      const ms = Math.round(performance.now() - started);
      const summary = diff.changed.length + diff.stale.length + plan.added.length === 0 ? "up to date" : `${diff.changed.length} written, ${diff.stale.length} removed, ${plan.added.length} revision(s) locked`;
      const where = options.root === resolve(".") ? "" : ` in ${relative(".", options.root) || "."}`;
      console.log(`protocache gen${where}: ${summary} (${ms} ms)`);
    }
    return ExitCode.ok;
  } catch (error) {
    return reportGenFailure(error);
  }
}

/** Prints generator errors one per line and picks the exit code. */
export function reportGenFailure(error: unknown): number {
  const errors = error instanceof GenErrors ? error.errors : error instanceof GenError ? [error] : undefined;
  if (errors === undefined) throw error;
  console.error(formatGenErrors(errors));
  return errors.some((e) => environmentRules.has(e.rule)) ? ExitCode.usage : ExitCode.findings;
}
