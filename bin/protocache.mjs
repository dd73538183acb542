#!/usr/bin/env node
// The protocache CLI. Runs dist/cli/main.js, an esbuild bundle of cli/,
// codegen/ and src/ that is rebuilt here whenever a source file is newer (so
// a fresh clone needs no build step and an edit never runs stale code). Falls
// back to tsx when esbuild cannot write the bundle.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "dist", "cli");
const bundle = join(outdir, "main.js");
const sources = ["cli", "codegen", "src"].map((d) => join(root, d));

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function ensureBundle() {
  if (!sources.every(existsSync)) return existsSync(bundle);
  const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
  const newest = Math.max(...sources.map(newestSource), statSync(join(root, "package.json")).mtimeMs);
  if (built > newest) return true;
  try {
    const { build } = await import("esbuild");
    await build({
      entryPoints: [join(root, "cli", "main.ts")],
      outdir,
      outExtension: { ".js": ".js" },
      bundle: true,
      splitting: true,
      platform: "node",
      format: "esm",
      target: "node20",
      // Pure-JS dependencies are bundled (one file to load is much faster on
      // every run); runtime CommonJS packages and tools stay external.
      external: ["ioredis", "protobufjs", "protobufjs/*", "esbuild", "tsx", "cluster-key-slot"],
      sourcemap: "linked",
      logLevel: "silent",
      banner: {
        js: [
          "// Built from cli/, codegen/ and src/ by bin/protocache.mjs; not committed.",
          'import { createRequire as __protocacheRequire } from "node:module";',
          "const require = __protocacheRequire(import.meta.url);",
        ].join("\n"),
      },
    });
    return true;
  } catch {
    return false;
  }
}

if (await ensureBundle()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(pathToFileURL(join(root, "cli", "main.ts")).href);
}
