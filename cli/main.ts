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
    .description("fail when the schemas, the lock or generated/ are not what gen would produce")
    .action(async () => {
      const { checkCommand } = await import("./check-command.js");
      setExit(await checkCommand({ root: resolve(program.opts<{ cwd: string }>().cwd) }));
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
