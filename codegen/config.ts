import { existsSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { ConfigError, optional, options, refine, text } from "../src/tools/index.js";
import { GenError } from "./errors.js";

/** The commands that run gen and check in a project, as its users type them (`npm run gen` or `npx protocache gen`). */
export interface ProjectCommands {
  readonly gen: string;
  readonly check: string;
}

/** Where the schema workflow finds and puts things, relative to the project root. */
export interface GenConfig {
  readonly root: string;
  /** buf module directory holding the `.proto` files. */
  readonly protoDir: string;
  /** Output directory; everything in it carrying a generated header belongs to the generator. */
  readonly outDir: string;
  /** The schema lock file. */
  readonly lockFile: string;
  /**
   * How generated code imports protocache's runtime: a package specifier
   * (default `protocache/runtime`) or a `./` path relative to the root.
   */
  readonly runtime: string;
  /** How this project runs gen and check: named in messages and generated headers. */
  readonly commands: ProjectCommands;
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** Ignore options this version does not know (reading a base commit's configuration, which may be older). */
  readonly lenient?: boolean;
}

const defaults = {
  protoDir: "proto",
  outDir: "generated",
  runtime: "protocache/runtime",
} as const;

const path = refine(text({ nonEmpty: true }), (value) => posix.normalize(value));

/** The `"protocache"` section of package.json, checked by the runtime's validation module (`protocache/tools`). */
const sectionShape = {
  protoDir: optional(path),
  outDir: optional(path),
  lockFile: optional(path),
  runtime: optional(text({ nonEmpty: true, expected: 'a package specifier (e.g. "protocache/runtime") or a ./ path' })),
};
const removed: Record<string, string> = {
  template: "the generator owns ts-proto's options now, so a buf.gen.yaml is no longer read: remove the option (and the file)",
};
const section = options(sectionShape, { removed, expected: 'an object like { "outDir": "generated" }' });
/** A base commit's configuration may be older or newer than this generator: unknown names are skipped, known ones still checked. */
const lenientSection = options(sectionShape, { unknown: "ignore", expected: 'an object like { "outDir": "generated" }' });

interface PackageJson {
  readonly protocache?: unknown;
  readonly scripts?: Record<string, unknown>;
}

function readPackageJson(root: string): PackageJson {
  let source: string;
  try {
    source = readFileSync(join(root, "package.json"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw new GenError("config", `cannot read package.json: ${(error as Error).message}`, { file: "package.json" });
  }
  try {
    const pkg = JSON.parse(source) as unknown;
    return typeof pkg === "object" && pkg !== null ? (pkg as PackageJson) : {};
  } catch (error) {
    throw new GenError("config", `package.json is not valid JSON: ${(error as Error).message}`, { file: "package.json" });
  }
}

/** Reads the optional `"protocache"` section of the project's package.json. */
export async function loadConfig(root: string, opts: LoadConfigOptions = {}): Promise<GenConfig> {
  const pkg = readPackageJson(root);
  let o: ReturnType<typeof section>;
  try {
    o = (opts.lenient === true ? lenientSection : section)(pkg.protocache, "protocache");
  } catch (error) {
    if (error instanceof ConfigError) throw new GenError("config", `package.json "${error.option}": ${error.reason}`, { file: "package.json" });
    throw error;
  }
  const protoDir = o.protoDir ?? defaults.protoDir;
  return {
    root,
    protoDir,
    outDir: o.outDir ?? defaults.outDir,
    lockFile: o.lockFile ?? posix.join(protoDir, "protocache.lock.json"),
    runtime: o.runtime ?? defaults.runtime,
    commands: projectCommands(root, pkg),
  };
}

/**
 * The commands that work in the project: its own package.json script when
 * one runs `protocache gen`/`check` (as `init` adds), else the package
 * manager's way of running the installed bin.
 */
export function projectCommands(root: string, pkg: PackageJson = readPackageJson(root)): ProjectCommands {
  const manager = existsSync(join(root, "pnpm-lock.yaml")) ? "pnpm" : existsSync(join(root, "yarn.lock")) ? "yarn" : "npm";
  const scripts = Object.entries(pkg.scripts ?? {}).filter((e): e is [string, string] => typeof e[1] === "string");
  const command = (sub: "gen" | "check"): string => {
    const runs = new RegExp(`\\bprotocache\\b\\S*\\s+${sub}(\\s|$)`);
    const matching = scripts.filter(([, value]) => runs.test(value)).map(([name]) => name);
    const script = matching.includes(sub) ? sub : matching[0];
    if (script !== undefined) return manager === "npm" ? `npm run ${script}` : `${manager} ${script}`;
    return manager === "npm" ? `npx protocache ${sub}` : manager === "pnpm" ? `pnpm exec protocache ${sub}` : `yarn protocache ${sub}`;
  };
  return { gen: command("gen"), check: command("check") };
}

/**
 * The project a command run in `start` is about: the nearest directory at or
 * above it with a package.json that looks like a protocache project (a
 * `"protocache"` section, a buf.yaml or a `proto/` folder), else the nearest
 * with a package.json at all; undefined when there is none.
 */
export function findProjectRoot(start: string): string | undefined {
  let nearest: string | undefined;
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json")) && !dir.split(sep).includes("node_modules")) {
      nearest ??= dir;
      const pkg = safeRead(dir);
      if (pkg.protocache !== undefined || existsSync(join(dir, "buf.yaml")) || existsSync(join(dir, defaults.protoDir))) return dir;
    }
    if (dirname(dir) === dir) return nearest;
  }
}

function safeRead(dir: string): PackageJson {
  try {
    return readPackageJson(dir);
  } catch {
    return {};
  }
}

/** Import specifier of the runtime as seen from a generated file (path relative to the output directory). */
export function runtimeSpecifier(config: GenConfig, fromFile: string): string {
  if (!config.runtime.startsWith("./") && !config.runtime.startsWith("../")) return config.runtime;
  // Both sides absolute, so the result does not depend on the process's working directory.
  const fromDir = dirname(resolve(config.root, config.outDir, fromFile));
  const rel = relative(fromDir, resolve(config.root, config.runtime)).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}
