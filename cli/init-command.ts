import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, posix } from "node:path";
import { GenError, listFiles, loadConfig, projectCommands } from "../codegen/index.js";
import { ExitCode } from "./exit-codes.js";
import { bufYaml, exampleProto, exampleProtoPath, gitignore, githubWorkflow, workflowPath } from "./init-templates.js";

/** Options of `protocache init`. */
export interface InitCommandOptions {
  readonly root: string;
  /** Also write a GitHub Actions workflow running the gate. */
  readonly github: boolean;
  /** Base branch the CI gate compares with. */
  readonly base: string;
}

/** The scripts `init` adds to package.json when the names are free. */
const scripts = { gen: "protocache gen", check: "protocache check" } as const;

/**
 * `protocache init`: writes what the project owns and lacks (a proto folder
 * with an example entity when it has no schemas, buf.yaml, a .gitignore, the
 * `gen` and `check` scripts, optionally a CI workflow) and never changes a
 * file or a script that exists; it warns when package.json is not
 * `"type": "module"`. Running it again changes nothing.
 */
export async function initCommand(options: InitCommandOptions): Promise<number> {
  const { root } = options;
  const pkgPath = join(root, "package.json");
  if (!existsSync(pkgPath)) {
    console.error(`protocache init: no package.json in ${root}: create one first (npm init -y)`);
    return ExitCode.usage;
  }
  let config;
  try {
    config = await loadConfig(root);
  } catch (error) {
    if (!(error instanceof GenError)) throw error;
    console.error(`protocache init: ${error.toLine()}`);
    return ExitCode.usage;
  }
  const done: string[] = [];
  const write = (path: string, content: string, what: string): void => {
    const full = join(root, path);
    if (existsSync(full)) {
      done.push(`kept     ${path} (exists)`);
      return;
    }
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    done.push(`created  ${path}${what === "" ? "" : ` (${what})`}`);
  };

  const protos = (await listFiles(join(root, config.protoDir))).filter((f) => f.endsWith(".proto"));
  if (protos.length === 0) write(posix.join(config.protoDir, exampleProtoPath), exampleProto, "an example entity, never locked: replace it, or remove `example: true` to keep it");
  else done.push(`kept     ${config.protoDir}/ (${protos.length} .proto file(s))`);
  if (protos.includes("protocache/v1/options.proto")) {
    done.push(`note     ${config.protoDir}/protocache/v1/options.proto is a copy of protocache's options: delete it, the generator provides it`);
  }
  write("buf.yaml", bufYaml(config.protoDir), "lint STANDARD, breaking WIRE");
  write(".gitignore", gitignore, "node_modules/, dist/");
  done.push(addScripts(pkgPath));
  const moduleWarning = moduleTypeWarning(pkgPath);
  if (moduleWarning !== undefined) done.push(moduleWarning);

  const commands = projectCommands(root);
  const checkAgainst = `${commands.check}${commands.check.startsWith("npm run ") ? " --" : ""}`;
  if (options.github) write(workflowPath, githubWorkflow(options.base, checkAgainst), "runs the CI gate on every pull request");

  for (const line of done) console.log(line);
  console.log("");
  if (!hasRuntime(root)) console.log("install the runtime the generated code imports:  npm install protocache ioredis");
  console.log(`next: ${commands.gen}   (lints ${config.protoDir}/, locks the schemas in ${config.lockFile}, writes ${config.outDir}/)`);
  console.log(`then: import { …Cache } from "./${config.outDir}/…/….cache.js" and commit ${config.protoDir}/, the lock and ${config.outDir}/`);
  if (!options.github) {
    console.log("");
    console.log(`CI (GitHub Actions steps; \`protocache init --github\` writes them to ${workflowPath}):`);
    console.log(`  - run: git fetch --no-tags --depth=1 origin ${options.base}:refs/remotes/origin/${options.base}`);
    console.log("  - run: npm ci");
    console.log(`  - run: ${checkAgainst} --against origin/${options.base}`);
  }
  return ExitCode.ok;
}

/** Adds the `gen` and `check` scripts where those names are free, keeping the file's indentation. */
function addScripts(pkgPath: string): string {
  const text = readFileSync(pkgPath, "utf8");
  const pkg = JSON.parse(text) as { scripts?: Record<string, string> };
  const existing = pkg.scripts ?? {};
  const added = Object.entries(scripts).filter(([name]) => existing[name] === undefined);
  const kept = Object.keys(scripts).filter((name) => existing[name] !== undefined && existing[name] !== scripts[name as keyof typeof scripts]);
  if (added.length === 0) {
    return kept.length === 0 ? "kept     package.json scripts gen, check" : `kept     package.json script(s) ${kept.join(", ")} (yours; run protocache through npx instead)`;
  }
  pkg.scripts = { ...existing, ...Object.fromEntries(added) };
  const indent = /^([ \t]+)"/m.exec(text)?.[1] ?? "  ";
  writeFileSync(pkgPath, `${JSON.stringify(pkg, null, indent)}\n`);
  return `added    package.json script(s) ${added.map(([name, value]) => `"${name}": "${value}"`).join(", ")}`;
}

/**
 * A warning when package.json does not declare `"type": "module"`: the
 * README's main.ts (top-level await) does not compile without it, and the
 * generated code compiled as CommonJS runs only where Node's require loads
 * the ES-module runtime (Node 20.19+, 22.12+). The user's package.json type
 * is never changed here.
 */
function moduleTypeWarning(pkgPath: string): string | undefined {
  const type = (JSON.parse(readFileSync(pkgPath, "utf8")) as { type?: unknown }).type;
  if (type === "module") return undefined;
  const has = type === undefined ? 'has no "type": "module"' : `has "type": ${JSON.stringify(type)}, not "module"`;
  return `warning  package.json ${has}: compiled as CommonJS, the generated code runs only on Node 20.19+ or 22.12+ (where require loads the ES-module runtime), and a main.ts with top-level await fails to compile (TS1309); set it with: npm pkg set type=module`;
}

function hasRuntime(root: string): boolean {
  try {
    createRequire(join(root, "package.json")).resolve("protocache/package.json");
    return true;
  } catch {
    return false;
  }
}
