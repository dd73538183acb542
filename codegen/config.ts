import { readFile } from "node:fs/promises";
import { dirname, join, posix, relative, resolve, sep } from "node:path";
import { GenError } from "./errors.js";

/** Where the schema workflow finds and puts things, relative to the project root. */
export interface GenConfig {
  readonly root: string;
  /** buf module directory holding the `.proto` files. */
  readonly protoDir: string;
  /** Output directory; everything in it carrying a generated header belongs to the generator. */
  readonly outDir: string;
  /** The schema lock file. */
  readonly lockFile: string;
  /** buf generate template running ts-proto. */
  readonly template: string;
  /**
   * How generated code imports protocache's runtime: a package specifier
   * (default `protocache/runtime`) or a `./` path relative to the root.
   */
  readonly runtime: string;
}

const defaults = {
  protoDir: "proto",
  outDir: "generated",
  template: "buf.gen.yaml",
  runtime: "protocache/runtime",
} as const;

/** Reads the optional `"protocache"` section of the project's package.json. */
export async function loadConfig(root: string): Promise<GenConfig> {
  let section: Record<string, unknown> = {};
  try {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { protocache?: unknown };
    if (pkg.protocache !== undefined) {
      if (typeof pkg.protocache !== "object" || pkg.protocache === null) {
        throw new GenError("config", 'package.json "protocache" must be an object', { file: "package.json" });
      }
      section = pkg.protocache as Record<string, unknown>;
    }
  } catch (error) {
    if (error instanceof GenError) throw error;
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new GenError("config", `cannot read package.json: ${(error as Error).message}`, { file: "package.json" });
    }
  }
  const known = new Set(["protoDir", "outDir", "lockFile", "template", "runtime"]);
  for (const key of Object.keys(section)) {
    if (!known.has(key)) throw new GenError("config", `package.json "protocache.${key}" is not an option (options: ${[...known].join(", ")})`, { file: "package.json" });
  }
  const text = (key: string, fallback: string): string => {
    const value = section[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value === "") throw new GenError("config", `package.json "protocache.${key}" must be a non-empty string`, { file: "package.json" });
    return posix.normalize(value);
  };
  const protoDir = text("protoDir", defaults.protoDir);
  const runtime = section["runtime"] === undefined ? defaults.runtime : (section["runtime"] as string);
  if (typeof runtime !== "string" || runtime === "") throw new GenError("config", 'package.json "protocache.runtime" must be a non-empty string', { file: "package.json" });
  return {
    root,
    protoDir,
    outDir: text("outDir", defaults.outDir),
    lockFile: text("lockFile", posix.join(protoDir, "protocache.lock.json")),
    template: text("template", defaults.template),
    runtime,
  };
}

/** Import specifier of the runtime as seen from a generated file (path relative to the output directory). */
export function runtimeSpecifier(config: GenConfig, fromFile: string): string {
  if (!config.runtime.startsWith("./") && !config.runtime.startsWith("../")) return config.runtime;
  // Both sides absolute, so the result does not depend on the process's working directory.
  const fromDir = dirname(resolve(config.root, config.outDir, fromFile));
  const rel = relative(fromDir, resolve(config.root, config.runtime)).split(sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
}
