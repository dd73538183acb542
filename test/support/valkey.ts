import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fetchDebianPackages } from "./debian-packages.js";
import { repoRoot } from "./project.js";
import type { ServerCommand } from "./redis-server.js";

/** Private copy of Debian 13's Valkey server (valkey-tools) and the C library it needs (gitignored, reused). */
export const valkeyDir = join(repoRoot, ".tmp", "valkey");
const root = join(valkeyDir, "root");
const libDir = join(root, "usr", "lib", "x86_64-linux-gnu");
// valkey-server is a symlink to this binary, which acts as the server when started under that name.
const binary = join(root, "usr", "bin", "valkey-check-rdb");

/** The server's version from `valkey-server --version`, or what it printed when it did not start. */
function versionOf(server: ServerCommand): { version: string } | { output: string } {
  const run = spawnSync(server.command, [...server.args, "--version"], { encoding: "utf8", timeout: 30_000 });
  const version = /^Valkey server v=(\d+\.\d+\.\d+)/.exec(run.stdout ?? "")?.[1];
  return version !== undefined ? { version } : { output: (run.error?.message ?? `${run.stderr ?? ""}${run.stdout ?? ""}`).trim().slice(0, 300) };
}

/**
 * A Valkey server to test against: `valkey-server` from the PATH when
 * there is one, else Debian 13 (trixie)'s build (fetched once into
 * {@link valkeyDir} with a private apt configuration) started through
 * Debian 13's loader and C library, since it needs glibc 2.38 and Debian 12
 * has 2.36; its other libraries (jemalloc, lzf, OpenSSL 3, libsystemd) are
 * the system's, the ones Debian's redis-server needs too. Returns the
 * command and its version, or the reason none can be had.
 */
export function valkeyServer(): { server: ServerCommand; version: string } | { reason: string } {
  const onPath = { command: "valkey-server", args: [] };
  const pathVersion = versionOf(onPath);
  if ("version" in pathVersion) return { server: onPath, version: pathVersion.version };
  if (process.platform !== "linux" || process.arch !== "x64") return { reason: "valkey-server is not on the PATH and Debian's build is only fetched for linux-x64" };
  // ld.so runs the binary; --argv0 makes it start as valkey-server.
  const viaLoader: ServerCommand = { command: join(libDir, "ld-linux-x86-64.so.2"), args: ["--library-path", `${libDir}:/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu`, "--argv0", "valkey-server", binary] };
  let found = existsSync(binary) ? versionOf(viaLoader) : undefined;
  if (found === undefined || !("version" in found)) {
    try {
      fetchDebianPackages({ dir: valkeyDir, suites: ["trixie"], packages: ["valkey-tools", "libc6"] });
    } catch (error) {
      return { reason: error instanceof Error ? error.message : String(error) };
    }
    found = versionOf(viaLoader);
  }
  if (!("version" in found)) return { reason: `Debian 13's valkey-server does not start from ${valkeyDir}: ${found.output}` };
  return { server: viaLoader, version: found.version };
}
