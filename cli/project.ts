import { findProjectRoot } from "../codegen/index.js";
import { resolve } from "node:path";

/** The project directory could not be found: exit code 2 with one line saying what to do. */
export class NoProjectError extends Error {
  override readonly name = "NoProjectError";
}

/**
 * The root of the project a command was run in: the nearest protocache
 * project at or above `-C <dir>` (default: the working directory), so every
 * command works from any subfolder.
 */
export function projectRoot(start: string | undefined): string {
  const from = resolve(start ?? ".");
  const root = findProjectRoot(from);
  if (root === undefined) {
    throw new NoProjectError(`no package.json at or above ${from}: run protocache inside your project (npm init creates a package.json), or pass -C <project dir>`);
  }
  return root;
}
