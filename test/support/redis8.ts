import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fetchDebianPackages } from "./debian-packages.js";
import { repoRoot } from "./project.js";
import type { ServerCommand } from "./redis-server.js";

/** Private copy of a Redis 8.4+ server (Debian experimental's redis-tools) and the C libraries it needs (gitignored, reused). */
export const redis8Dir = join(repoRoot, ".tmp", "redis8");
const root = join(redis8Dir, "root");
const libDir = join(root, "usr", "lib", "x86_64-linux-gnu");
const binary = join(root, "usr", "bin", "redis-check-rdb");

/** The server's version from `redis-server --version`, or undefined when it does not start. */
function versionOf(server: ServerCommand): string | undefined {
  const run = spawnSync(server.command, [...server.args, "--version"], { encoding: "utf8", timeout: 30_000 });
  return /v=(\d+\.\d+\.\d+)/.exec(run.stdout ?? "")?.[1];
}

function atLeast84(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  return major > 8 || (major === 8 && minor >= 4);
}

/**
 * A Redis 8.4+ server (the first with `SET … IFEQ` and `DELEX`) to test
 * against: `redis-server` from the PATH when it is new enough, else Debian
 * experimental's build (fetched once into {@link redis8Dir} with a private
 * apt configuration) started through Debian 13's loader and C libraries,
 * since it needs a newer glibc than Debian 12 has. Returns the command and
 * its version, or the reason none can be had.
 */
export function redis8Server(): { server: ServerCommand; version: string } | { reason: string } {
  const onPath = { command: "redis-server", args: [] };
  const pathVersion = versionOf(onPath);
  if (pathVersion !== undefined && atLeast84(pathVersion)) return { server: onPath, version: pathVersion };
  if (process.platform !== "linux" || process.arch !== "x64") return { reason: `redis-server on the PATH is ${pathVersion ?? "missing"} and Debian's build is only fetched for linux-x64` };
  // ld.so runs the binary; --argv0 makes it start as redis-server (one binary serves redis-check-rdb too).
  const viaLoader: ServerCommand = { command: join(libDir, "ld-linux-x86-64.so.2"), args: ["--library-path", `${libDir}:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu`, "--argv0", "redis-server", binary] };
  let version = existsSync(binary) ? versionOf(viaLoader) : undefined;
  if (version === undefined) {
    try {
      fetchDebianPackages({ dir: redis8Dir, suites: ["trixie", "experimental"], packages: ["redis-tools/experimental", "libc6", "libstdc++6", "libgcc-s1"] });
    } catch (error) {
      return { reason: error instanceof Error ? error.message : String(error) };
    }
    version = versionOf(viaLoader);
  }
  if (version === undefined) return { reason: `Debian experimental's redis-server does not start from ${redis8Dir}` };
  if (!atLeast84(version)) return { reason: `Debian experimental's redis-server is ${version}, older than 8.4` };
  return { server: viaLoader, version };
}
