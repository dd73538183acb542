import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Where tests keep what is slow to build and never changes for the same
 * input (a quality-11 brotli of 8 MB, a packed old runtime): under
 * node_modules/.cache/protocache-tests, so that `npm ci` (a fresh
 * node_modules) starts without it and nothing of it is committed. Each
 * entry is named by what it was built from; a run that finds it skips the
 * build (docs/reliability.md, "A test suite that holds on a busy machine").
 */
export const buildCacheDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "node_modules", ".cache", "protocache-tests");

/** A short hex digest of `parts`, to name a cache entry by what it is built from. */
export function cacheKey(...parts: readonly (string | Uint8Array)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part).update("\0");
  return hash.digest("hex").slice(0, 32);
}

/**
 * The bytes `build` returns, kept in the cache as `name`: built and saved
 * (written whole, then renamed into place) when absent, or when `valid`
 * refuses what was saved.
 */
export function cachedBytes(name: string, build: () => Buffer, valid: (bytes: Buffer) => boolean = () => true): Buffer {
  const path = join(buildCacheDir, name);
  if (existsSync(path)) {
    const saved = readFileSync(path);
    if (valid(saved)) return saved;
    rmSync(path, { force: true });
  }
  const bytes = build();
  mkdirSync(buildCacheDir, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, bytes);
  renameSync(partial, path);
  return bytes;
}
