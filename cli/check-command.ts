import { join } from "node:path";
import { diffOutput, formatSchemaId, planGeneration } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";
import { reportGenFailure } from "./gen-command.js";

/** Options of `protocache check`. */
export interface CheckCommandOptions {
  readonly root: string;
}

/**
 * `protocache check`: everything gen would verify (lint, key templates,
 * lock integrity), plus that the lock and `generated/` are what gen would
 * write now. Writes nothing. Returns the exit code.
 */
export async function checkCommand(options: CheckCommandOptions): Promise<number> {
  try {
    const plan = await planGeneration(options.root);
    const findings: string[] = [];
    for (const rev of plan.added) {
      findings.push(`${plan.config.lockFile}: ${rev.message} revision ${formatSchemaId(rev.id)} is not locked: run npm run gen [lock-out-of-sync]`);
    }
    for (const { from, to } of plan.renumbered) {
      findings.push(`${plan.config.lockFile}: ${from.message} r${from.revision} should be r${to} (two branches added revisions): run npm run gen [lock-out-of-sync]`);
    }
    const diff = await diffOutput(join(options.root, plan.config.outDir), plan.files);
    for (const path of diff.changed) findings.push(`${plan.config.outDir}/${path}: stale or missing: run npm run gen [generated-stale]`);
    for (const path of diff.stale) findings.push(`${plan.config.outDir}/${path}: no longer generated: run npm run gen [generated-stale]`);
    for (const line of findings) console.error(line);
    if (findings.length > 0) return ExitCode.findings;
    console.log("protocache check: schemas, lock and generated code are consistent");
    return ExitCode.ok;
  } catch (error) {
    return reportGenFailure(error);
  }
}
