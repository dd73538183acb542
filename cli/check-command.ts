import { CheckEnvironmentError, formatFinding, formatGenErrors, GenError, GenErrors, runCheck } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";

/** Options of `protocache check`. */
export interface CheckCommandOptions {
  readonly root: string;
  readonly against: string | undefined;
  readonly againstImage: string | undefined;
  readonly json: boolean;
}

/**
 * `protocache check`: the CI gate. Prints every finding (file:line, rule,
 * what it breaks in the cache, a one-line fix), then warnings (accepted
 * changes that matter to JSON clients only), and returns 0 (clean),
 * 1 (findings) or 2 (usage or environment: no git, missing ref, no buf).
 */
export async function checkCommand(options: CheckCommandOptions): Promise<number> {
  try {
    const report = await runCheck({
      root: options.root,
      ...(options.against === undefined ? {} : { against: options.against }),
      ...(options.againstImage === undefined ? {} : { againstImage: options.againstImage }),
    });
    if (options.json) {
      console.log(JSON.stringify({ ok: report.findings.length === 0, findings: report.findings, warnings: report.warnings, notes: report.notes }, null, 2));
    } else {
      for (const f of report.findings) console.error(formatFinding(f));
      for (const warning of report.warnings) console.error(`warning: ${warning}`);
      for (const note of report.notes) console.error(`note: ${note}`);
      console.error(report.findings.length === 0 ? "protocache check: no findings" : `protocache check: ${report.findings.length} finding(s)`);
    }
    return report.findings.length === 0 ? ExitCode.ok : ExitCode.findings;
  } catch (error) {
    return reportEnvironmentError(error, options.json);
  }
}

function reportEnvironmentError(error: unknown, json: boolean): number {
  let message: string;
  let hint: string | undefined;
  if (error instanceof CheckEnvironmentError) {
    message = error.message;
    hint = error.hint;
  } else if (error instanceof GenErrors || error instanceof GenError) {
    message = formatGenErrors(error instanceof GenError ? [error] : error.errors);
  } else {
    throw error;
  }
  if (json) console.log(JSON.stringify({ ok: false, error: message, ...(hint === undefined ? {} : { hint }) }, null, 2));
  else console.error(`protocache check: ${message}${hint === undefined ? "" : `\n  ${hint}`}`);
  return ExitCode.usage;
}
