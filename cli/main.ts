import { Command, CommanderError, Option } from "commander";
import { generatorVersion } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";
import { NoProjectError, projectRoot } from "./project.js";

const examples = (lines: readonly string[]): string => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}\n`;

/** Builds the `protocache` command line; each action resolves to an exit code. */
export function buildProgram(setExit: (code: number) => void): Command {
  const version = generatorVersion.replace(/^v/, "");
  const program = new Command("protocache")
    .description("Schema-first, version-aware Redis cache accessors from Protocol Buffers")
    .version(version, "-V, --version", "print the version of protocache-gen")
    // -v too: earlier releases printed the version with it, and many CLIs do.
    .addOption(new Option("-v", "print the version of protocache-gen").hideHelp())
    .on("option:v", () => {
      process.stdout.write(`${version}\n`);
      throw new CommanderError(0, "protocache.version", version);
    })
    .option("-C, --cwd <dir>", "run as if started in <dir>; the project root is the nearest folder at or above it with a package.json")
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .addHelpText(
      "after",
      examples([
        "npx protocache init          # proto/, buf.yaml, .gitignore, gen and check scripts",
        "npx protocache gen           # after editing a .proto: lock, regenerate",
        "npx protocache check         # the CI gate, against main",
        "npx protocache help check    # options and examples of one command",
      ]),
    );
  const root = (): string => projectRoot(program.opts<{ cwd?: string }>().cwd);

  program
    .command("init")
    .description("set up protocache in this project: proto/ (with an example entity), buf.yaml, .gitignore, gen and check scripts; changes no existing file")
    .option("--github", `also write a GitHub Actions workflow running the CI gate`, false)
    .option("--base <branch>", "base branch the CI gate compares with", "main")
    .addHelpText("after", examples(["npx protocache init", "npx protocache init --github --base develop"]))
    .action(async (opts: { github: boolean; base: string }) => {
      const { initCommand } = await import("./init-command.js");
      setExit(await initCommand({ root: root(), github: opts.github, base: opts.base }));
    });

  program
    .command("gen")
    .alias("generate")
    .description("lint the schemas, lock new revisions and regenerate the generated code")
    .option("-q, --quiet", "print only errors", false)
    .addHelpText("after", examples(["npx protocache gen", "npx protocache gen -C services/accounts", "npx protocache gen --quiet"]))
    .action(async (opts: { quiet: boolean }) => {
      const { genCommand } = await import("./gen-command.js");
      setExit(await genCommand({ root: root(), quiet: opts.quiet }));
    });

  program
    .command("check")
    .description("the CI gate: lint, breaking changes (WIRE) against a base, lock history, field-number reuse, stale generated code, protocache's rules")
    .option("--against <ref>", "git ref to compare with", "main")
    .option("--against-image <file>", "compare with an image built by `buf build -o <file>` instead of a git ref")
    .option("--json", "print findings as JSON", false)
    .addHelpText(
      "after",
      `${examples([
        "npx protocache check",
        "npx protocache check --against origin/main",
        "npx protocache check --against-image base.binpb --json",
      ])}\nExit codes: 0 no findings, 1 findings, 2 usage or environment (no git, missing ref, no buf).\n`,
    )
    .action(async (opts: { against: string; againstImage?: string; json: boolean }) => {
      const { checkCommand } = await import("./check-command.js");
      setExit(await checkCommand({ root: root(), against: opts.against, againstImage: opts.againstImage, json: opts.json }));
    });

  program
    .command("retire")
    .description("record in the lock that an entity was removed on purpose")
    .argument("<message>", "full name of the entity message, e.g. acme.user.v1.User")
    .addHelpText("after", examples(["npx protocache retire acme.user.v1.User"]))
    .action(async (message: string) => {
      const { retireCommand } = await import("./retire-command.js");
      setExit(await retireCommand(root(), message));
    });

  return program;
}

async function main(argv: readonly string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => (code = c));
  if (argv.length <= 2) {
    program.outputHelp();
    return ExitCode.usage;
  }
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    if (error instanceof NoProjectError) {
      console.error(`protocache: ${error.message}`);
      return ExitCode.usage;
    }
    console.error(`protocache: ${error instanceof Error ? error.message : String(error)}`);
    return ExitCode.usage;
  }
  return code;
}

process.exitCode = await main(process.argv);
