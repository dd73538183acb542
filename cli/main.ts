import { Command, CommanderError, Option } from "commander";
import { generatorVersion } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";
import { flagChecks, flagParsers, OptionError } from "./options.js";
import { NoProjectError, projectRoot } from "./project.js";
import { serviceCodeImported } from "./ops/imported-code.js";

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
    .configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: (text, write) => write(oneLineUnknownOption(text)) })
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

  addOperations(program, root, setExit);
  return program;
}

/** Commander's unknown-option error in one line: `error: unknown option '--dryrun' (did you mean --dry-run?)`. */
function oneLineUnknownOption(text: string): string {
  return text.replace(/^(error: unknown option '[^']*')\n\(Did you mean (.*)\?\)\n?$/, "$1 (did you mean $2?)\n");
}

interface ConnectionArgs {
  redis?: string;
  cluster?: string;
  json: boolean;
}

interface KeySpaceCliArgs extends ConnectionArgs {
  major?: number;
  prefix?: string;
  variant?: string;
  message?: string;
}

type Flags = ReturnType<typeof flagParsers>;

/** Options every command that talks to Redis takes. */
function withConnection(command: Command, flags: Flags): Command {
  return command
    .option("--redis <url>", "Redis URL (default: $REDIS_URL), e.g. redis://user:pass@host:6379/0", flags.text("--redis", flagChecks.redis))
    .option("--cluster <nodes>", "Redis Cluster seed nodes, host:port[,host:port…]", flags.text("--cluster", flagChecks.cluster))
    .option("--json", "print the result as JSON", false);
}

/** Options naming a key space: `{prefix}{entity}:v{major}[:{variant}]:`. */
function withKeySpace(command: Command, flags: Flags): Command {
  return withConnection(command, flags)
    .option("--major <n>", "major version (default: the entity's major in proto/)", flags.number("--major", flagChecks.major))
    .option("--prefix <prefix>", "key prefix the accessors use (their prefix option), e.g. myapp:")
    .option("--variant <variant>", "only this variant's keys")
    .option("--message <name>", "full message name, for a major no longer in proto/ (e.g. acme.user.v1.User)");
}

const exitCodes = "\nExit codes: 0 ok, 1 findings (failed entries, not removable, key absent), 2 usage or environment (no Redis, bad options, schemas that do not compile).\n";

/** migrate, census, cleanup, inspect, deprecatable: loaded only when one of them runs. */
function addOperations(program: Command, root: () => string, setExit: (code: number) => void): void {
  const progress = (json: boolean): boolean => !json;

  const migrateFlags = flagParsers("migrate");
  withKeySpace(program.command("migrate"), migrateFlags)
    .description("move every entry of an entity (and major) to the revision in proto/ now, keeping each key's TTL; or, with --from-major, a whole previous major into the major that migrates from it, by the service's own typed fromPrevious; resumable, rate-limited")
    .argument("<entity>", "entity name from the key template, e.g. user")
    .option("--from-major <n>", "move every entry of major <n> into the major in proto/ that migrates_from it (needs --module)", migrateFlags.number("--from-major", flagChecks.major))
    .option("--module <file>", "the service's compiled JavaScript module that exports the accessor factory defineXCache(...) returned: its typed migrations (fromPrevious, upgrade hooks) run")
    .option("--rate <keys/s>", "keys per second at most", migrateFlags.number("--rate", flagChecks.rate))
    .option("--count <n>", "SCAN COUNT per step and server (default 500)", migrateFlags.number("--count", flagChecks.count))
    .option("--checkpoint <file>", "record per-server cursors in <file> and resume from it")
    .option("--dry-run", "count what would be migrated, write nothing", false)
    .addHelpText("after", `${examples(["npx protocache migrate user --redis redis://cache:6379 --dry-run", "npx protocache migrate user --cluster 10.0.0.1:7000,10.0.0.2:7000 --rate 5000 --checkpoint user.migrate.json", "npx tsc && npx protocache migrate user --from-major 1 --module dist/src/caches.js --dry-run"])}${exitCodes}`)
    .action(async (entity: string, opts: KeySpaceCliArgs & { rate?: number; count?: number; checkpoint?: string; dryRun: boolean; fromMajor?: number; module?: string }) => {
      const { migrateCommand } = await import("./ops/migrate-command.js");
      const cwd = program.opts<{ cwd?: string }>().cwd;
      setExit(await migrateCommand({ root: root(), entity, major: opts.major, prefix: opts.prefix, variant: opts.variant, message: opts.message, redis: opts.redis, cluster: opts.cluster, rate: opts.rate, count: opts.count, checkpoint: opts.checkpoint, dryRun: opts.dryRun, json: opts.json, progress: progress(opts.json), fromMajor: opts.fromMajor, module: opts.module, cwd }));
    });

  const censusFlags = flagParsers("census");
  withKeySpace(program.command("census"), censusFlags)
    .description("entries per schema ID and revision of each entity and major, with bytes, read header-only")
    .argument("[entities...]", "entity names (default: every entity in proto/)")
    .option("--sample <n>", "stop after n keys per key space and estimate the rest", censusFlags.number("--sample", flagChecks.sample))
    .option("--count <n>", "SCAN COUNT per step and server (default 500)", censusFlags.number("--count", flagChecks.count))
    .addHelpText("after", `${examples(["npx protocache census --redis redis://cache:6379", "npx protocache census user --sample 100000 --json"])}${exitCodes}`)
    .action(async (entities: string[], opts: KeySpaceCliArgs & { sample?: number; count?: number }) => {
      const { censusCommand } = await import("./ops/census-command.js");
      setExit(await censusCommand({ root: root(), entities, major: opts.major, prefix: opts.prefix, variant: opts.variant, message: opts.message, redis: opts.redis, cluster: opts.cluster, sample: opts.sample, count: opts.count, json: opts.json, progress: progress(opts.json) }));
    });

  const cleanupFlags = flagParsers("cleanup");
  withKeySpace(program.command("cleanup"), cleanupFlags)
    .description("delete entries of given revisions or schema IDs, legacy or corrupt values, or a whole retired major, in one entity's key space only; live data (all of a major not retired, the revision written now) only with --include-live")
    .argument("<entity>", "entity name from the key template, e.g. user")
    .option("--revision <n>", "entries of this revision (repeatable)", cleanupFlags.repeated(cleanupFlags.number("--revision", flagChecks.revision)))
    .option("--schema-id <id>", "entries of this schema ID, 0x… (repeatable)", cleanupFlags.repeated(cleanupFlags.schemaId("--schema-id")))
    .option("--legacy", "values that are not envelopes", false)
    .option("--corrupt", "envelopes whose header cannot be valid", false)
    .option("--all", "every entry: a whole retired major (protocache retire)", false)
    .option("--include-live", "allow deleting live data: all of a major not retired in the lock, or the revision written now", false)
    .option("--dry-run", "count what would be deleted, delete nothing", false)
    .option("--yes", "really delete (required without --dry-run)", false)
    .option("--rate <keys/s>", "keys per second at most", cleanupFlags.number("--rate", flagChecks.rate))
    .option("--count <n>", "SCAN COUNT per step and server (default 500)", cleanupFlags.number("--count", flagChecks.count))
    .option("--checkpoint <file>", "record per-server cursors in <file> and resume from it")
    .addHelpText("after", `${examples(["npx protocache cleanup user --revision 1 --dry-run", "npx protocache cleanup user --major 1 --message acme.user.v1.User --all --yes"])}${exitCodes}`)
    .action(async (entity: string, opts: KeySpaceCliArgs & { revision?: number[]; schemaId?: number[]; legacy: boolean; corrupt: boolean; all: boolean; includeLive: boolean; dryRun: boolean; yes: boolean; rate?: number; count?: number; checkpoint?: string }) => {
      const { cleanupCommand } = await import("./ops/cleanup-command.js");
      setExit(await cleanupCommand({ root: root(), entity, major: opts.major, prefix: opts.prefix, variant: opts.variant, message: opts.message, redis: opts.redis, cluster: opts.cluster, revisions: opts.revision ?? [], schemaIds: opts.schemaId ?? [], legacy: opts.legacy, corrupt: opts.corrupt, all: opts.all, includeLive: opts.includeLive, dryRun: opts.dryRun, yes: opts.yes, rate: opts.rate, count: opts.count, checkpoint: opts.checkpoint, json: opts.json, progress: progress(opts.json) }));
    });

  withConnection(program.command("inspect"), flagParsers("inspect"))
    .description("one key: envelope header, schema and revision, writer, age, TTL, payload as JSON")
    .argument("<key>", "the Redis key, e.g. user:v1:42")
    .option("--descriptor", "also show the revision's descriptor (a base64 FileDescriptorSet)", false)
    .addHelpText("after", `${examples(["npx protocache inspect user:v1:42 --redis redis://cache:6379", "npx protocache inspect 'myapp:session:v1:acme:s-17' --json"])}${exitCodes}`)
    .action(async (key: string, opts: ConnectionArgs & { descriptor: boolean }) => {
      const { inspectCommand } = await import("./ops/inspect-command.js");
      setExit(await inspectCommand({ root: root(), key, redis: opts.redis, cluster: opts.cluster, json: opts.json, descriptor: opts.descriptor }));
    });

  const invalidateFlags = flagParsers("invalidate-tags");
  withConnection(program.command("invalidate-tags"), invalidateFlags)
    .description("make every entry carrying any of these tags a miss, in every service reading these servers (one write per tag, whatever the number of entries)")
    .argument("<tags...>", "the tags, as services pass them (tags option, setTags)")
    .option("--prefix <prefix>", "key prefix the accessors use (their prefix option), e.g. myapp:")
    .option("--keep-seconds <n>", "let the tags' states expire after n seconds (only when every entry carrying them expires by then; default: kept)", invalidateFlags.number("--keep-seconds", flagChecks.keepSeconds))
    .addHelpText("after", `${examples(["npx protocache invalidate-tags shop:s1 --redis redis://cache:6379", "npx protocache invalidate-tags product:42 product:43 --prefix myapp: --cluster 10.0.0.1:7000"])}${exitCodes}`)
    .action(async (tags: string[], opts: ConnectionArgs & { prefix?: string; keepSeconds?: number }) => {
      const { invalidateTagsCommand } = await import("./ops/invalidate-tags-command.js");
      setExit(await invalidateTagsCommand({ tags, prefix: opts.prefix, keepSeconds: opts.keepSeconds, redis: opts.redis, cluster: opts.cluster, json: opts.json }));
    });

  const deprecatableFlags = flagParsers("deprecatable");
  withKeySpace(program.command("deprecatable"), deprecatableFlags)
    .description("can a revision's upgrade code (or a whole previous major) be removed? entries left (census) and reads (counts you export)")
    .argument("<entity>", "entity name from the key template, e.g. user")
    .option("--revision <n>", "the revision (default: the whole major)", deprecatableFlags.number("--revision", flagChecks.revision))
    .option("--reads <file>", "read counts per schema ID: stats() snapshots, {\"0x…\": n}, or a Prometheus query result (docs/operations.md)")
    .addHelpText("after", `${examples(["npx protocache deprecatable user --revision 1 --reads reads.json", "npx protocache deprecatable user --major 1 --message acme.user.v1.User --reads reads.json"])}${exitCodes}`)
    .action(async (entity: string, opts: KeySpaceCliArgs & { revision?: number; reads?: string }) => {
      const { deprecatableCommand } = await import("./ops/deprecatable-command.js");
      setExit(await deprecatableCommand({ root: root(), entity, major: opts.major, prefix: opts.prefix, variant: opts.variant, message: opts.message, redis: opts.redis, cluster: opts.cluster, revision: opts.revision, reads: opts.reads, json: opts.json }));
    });
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
    if (error instanceof OptionError) {
      console.error(error.message);
      return ExitCode.usage;
    }
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

const code = await main(process.argv);
process.exitCode = code;
// The service's module (migrate --module) may have opened handles (a connection, a server) that would keep the
// command running after its work is done: exit once what was printed is flushed.
if (serviceCodeImported()) process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
