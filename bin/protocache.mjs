#!/usr/bin/env node
// The protocache CLI. Runs dist/protocache.mjs, an esbuild bundle of cli/,
// codegen/ and src/, rebuilt here whenever a source file changed since the
// bundle was built (so a fresh clone needs no build step and an edit never
// runs stale code). Falls back to tsx when esbuild cannot write the bundle.
import { existsSync, readdirSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "protocache.mjs");
const sources = ["cli", "codegen", "src"].map((d) => join(root, d));

function newestSource(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    try {
      newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
    } catch {
      // a file that vanished mid-scan (an editor's swap file) does not count
    }
  }
  return newest;
}

async function ensureBundle() {
  if (!sources.every(existsSync)) return existsSync(bundle);
  // The bundle's mtime is set to the newest source mtime seen *before* building,
  // so an edit saved during a build is still newer and triggers the next rebuild.
  const newest = Math.max(...sources.map(newestSource), statSync(join(root, "package.json")).mtimeMs);
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= newest) return true;
  const temp = `${bundle}.${process.pid}.${Date.now()}.tmp`;
  try {
    const { build } = await import("esbuild");
    await build({
      entryPoints: [join(root, "cli", "main.ts")],
      outfile: temp,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      // Pure-JS dependencies are bundled (one file loads much faster on every
      // run); runtime CommonJS packages and tools stay external.
      external: ["ioredis", "protobufjs", "protobufjs/*", "esbuild", "tsx", "cluster-key-slot"],
      logLevel: "silent",
      banner: {
        js: [
          "// Built from cli/, codegen/ and src/ by bin/protocache.mjs; not committed.",
          'import { createRequire as __protocacheRequire } from "node:module";',
          "const require = __protocacheRequire(import.meta.url);",
        ].join("\n"),
      },
    });
    utimesSync(temp, newest / 1000, newest / 1000);
    // Atomic: concurrent runs each see a complete bundle, old or new.
    renameSync(temp, bundle);
    return true;
  } catch {
    rmSync(temp, { force: true });
    return false;
  }
}

try {
  if (await ensureBundle()) {
    await import(pathToFileURL(bundle).href);
  } else {
    const { register } = await import("tsx/esm/api");
    register();
    await import(pathToFileURL(join(root, "cli", "main.ts")).href);
  }
} catch (error) {
  console.error(`protocache: cannot load the CLI: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
