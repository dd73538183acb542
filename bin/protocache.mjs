#!/usr/bin/env node
// This repository's own way to run the CLI (`npm run gen`, `npm run check`,
// the tests): rebuilds dist/protocache-gen with scripts/build.mjs when a
// source is newer than its bundle (~100 ms, so a fresh clone needs no build
// step and an edit never runs stale code), then runs that bundle, exactly as
// the published `protocache-gen` package runs it. Not part of any package.
import { existsSync, readdirSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { buildGenerator, generatorBin, generatorSources } from "../scripts/build.mjs";

function newest(path) {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return 0; // vanished mid-scan (an editor's swap file)
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), 0);
}

try {
  // The bundle's mtime is set to the newest source mtime seen *before* building,
  // so an edit saved during a build is still newer and triggers the next rebuild.
  const sources = Math.max(...generatorSources.map(newest));
  if (!existsSync(generatorBin) || statSync(generatorBin).mtimeMs < sources) {
    await buildGenerator();
    utimesSync(generatorBin, sources / 1000, sources / 1000);
  }
  await import(pathToFileURL(generatorBin).href);
} catch (error) {
  console.error(`protocache: cannot load the CLI: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
}
