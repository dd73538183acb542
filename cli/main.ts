import { Command, CommanderError } from "commander";
import { resolve } from "node:path";
import { ExitCode } from "./exit-codes.js";


/** Builds the `protocache` command line; each action resolves to an exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("protocache")
    .description("Schema-first, version-aware Redis cache accessors from Protocol Buffers")
    .option("-C, --cwd <dir>", "project root", ".")
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command("gen")
    .description("lint the schemas, lock new revisions and regenerate generated/")
    .option("-q, --quiet", "print only errors", false)
    .action(async (opts: { quiet: boolean }) => {
      const { genCommand } = await import("./gen-command.js");
      setExit(await genCommand({ root: resolve(program.opts<{ cwd: string }>().cwd), quiet: opts.quiet }));
    });

  program
    .command("check")
    .description("the CI gate: lint, breaking changes (WIRE) against a base, lock history, generated/ freshness, protocache's rules")
    .option("--against <ref>", "git ref to compare with", "main")
    .option("--against-image <file>", "compare with an image built by `buf build -o <file>` instead of a git ref")
    .option("--json", "print findings as JSON", false)
    .action(async (opts: { against: string; againstImage?: string; json: boolean }) => {
      const { checkCommand } = await import("./check-command.js");
      setExit(await checkCommand({ root: resolve(program.opts<{ cwd: string }>().cwd), against: opts.against, againstImage: opts.againstImage, json: opts.json }));
    });

  program
    .command("retire")
    .description("record in the lock that an entity was removed on purpose")
    .argument("<message>", "full name of the entity message, e.g. acme.user.v1.User")
    .action(async (message: string) => {
      const { retireCommand } = await import("./retire-command.js");
      setExit(await retireCommand(resolve(program.opts<{ cwd: string }>().cwd), message));
    });

  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    console.error(`protocache: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.usage;
  }
  return code;
}

process.exitCode = await main(process.argv);
