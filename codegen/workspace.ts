import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { GenError } from "./errors.js";

/** Name of the module, inside an assembled workspace, that holds `protocache/v1/options.proto`. */
const optionsModule = "protocache-gen-options";

/** Import path of protocache's options, as every entity file writes it. */
export const optionsImport = "protocache/v1/options.proto";

/**
 * The directory holding `protocache/v1/options.proto` in the installed
 * generator: `codegen/proto` in this repository's sources, `proto/` beside
 * `bin/` in the built `protocache-gen` package.
 */
export function optionsProtoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [join(here, "proto"), join(here, "..", "proto")]) {
    if (existsSync(join(candidate, optionsImport))) return candidate;
  }
  throw new GenError("config", `protocache's ${optionsImport} is missing from the installed generator (${here}): reinstall protocache-gen`);
}

/** A buf workspace the generator assembled for one run: the project's schemas and protocache's options, nothing else. */
export interface BufWorkspace {
  /** Directory to run buf in. */
  readonly dir: string;
  /** The buf.yaml written there (part of cache keys of lint verdicts). */
  readonly config: string;
  /** Removes the directory (links only: the project's files are never touched). */
  dispose(): void;
}

/** How to assemble a workspace. */
export interface WorkspaceOptions {
  /**
   * A tree that carries its own copy of `protocache/v1/options.proto` in its
   * proto directory (a base commit from before the generator owned it) uses
   * that copy instead of the generator's; the working tree gets an error.
   */
  readonly allowOwnOptions?: boolean;
}

type Yaml = Record<string, unknown>;

/**
 * Builds a temporary buf workspace for the project at `root`: a link to its
 * proto directory and a link to the generator's options, under a buf.yaml
 * derived from the project's own (lint settings kept; breaking is always
 * WIRE). buf never sees node_modules or anything else in the project, and
 * the project never needs a copy of options.proto.
 */
export function assembleWorkspace(root: string, protoDir: string, options: WorkspaceOptions = {}): BufWorkspace {
  const user = readBufYaml(root);
  const ownOptions = existsSync(join(root, protoDir, optionsImport));
  if (ownOptions && options.allowOwnOptions !== true) {
    throw new GenError(
      "config",
      `${protoDir}/${optionsImport} is a copy of protocache's options: delete it (the generator provides ${optionsImport} to buf itself, so it can never drift)`,
      { file: `${protoDir}/${optionsImport}` },
    );
  }
  const modules: Yaml[] = [{ path: protoDir, ...moduleSettings(user, protoDir) }];
  if (!ownOptions) modules.push({ path: optionsModule, lint: { use: ["STANDARD"] } });
  const config = JSON.stringify({
    version: "v2",
    modules,
    lint: (user["lint"] as Yaml | undefined) ?? { use: ["STANDARD"] },
    // The gate does not depend on a setting a change could weaken (an `except:` added in the same pull request).
    breaking: { use: ["WIRE"] },
  });
  const dir = mkdtempSync(join(tmpdir(), "protocache-buf-"));
  try {
    const protoLink = join(dir, protoDir);
    mkdirSync(dirname(protoLink), { recursive: true });
    symlinkSync(join(root, protoDir), protoLink, "junction");
    if (!ownOptions) symlinkSync(optionsProtoRoot(), join(dir, optionsModule), "junction");
    writeFileSync(join(dir, "buf.yaml"), config);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, config, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The project's buf.yaml (v2), or an empty config when it has none. */
function readBufYaml(root: string): Yaml {
  let text: string;
  try {
    text = readFileSync(join(root, "buf.yaml"), "utf8");
  } catch {
    return {};
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (error) {
    throw new GenError("config", `buf.yaml does not parse: ${(error as Error).message}`, { file: "buf.yaml" });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== "object") throw new GenError("config", "buf.yaml must be a mapping", { file: "buf.yaml" });
  const yaml = doc as Yaml;
  if (yaml["version"] !== "v2") {
    throw new GenError("config", `buf.yaml must be version v2 (found ${JSON.stringify(yaml["version"] ?? "none")}); \`npx buf config migrate\` converts it`, { file: "buf.yaml" });
  }
  if (Array.isArray(yaml["deps"]) && yaml["deps"].length > 0) {
    throw new GenError("config", "buf.yaml: deps (BSR modules) are not supported: protocache runs buf offline; vendor the imported .proto files into the proto directory", { file: "buf.yaml" });
  }
  return yaml;
}

/** Per-module settings of the project's proto directory in its buf.yaml (excludes, lint, breaking). */
function moduleSettings(user: Yaml, protoDir: string): Yaml {
  const modules = user["modules"];
  if (!Array.isArray(modules) || modules.length === 0) return {};
  const own = (modules as Yaml[]).find((m) => typeof m === "object" && m !== null && String(m["path"] ?? "").replace(/\/+$/, "") === protoDir);
  if (own === undefined) {
    const paths = (modules as Yaml[]).map((m) => String(m?.["path"])).join(", ");
    throw new GenError("config", `buf.yaml lists the modules ${paths} but not "${protoDir}", where protocache reads the schemas: add \`- path: ${protoDir}\` (or set "protocache.protoDir" in package.json)`, { file: "buf.yaml" });
  }
  const { path: _path, breaking: _breaking, ...rest } = own;
  return rest;
}
