import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Debian packages could not be fetched; the message says which step failed and why. */
export class DebianFetchError extends Error {
  override readonly name = "DebianFetchError";
}

/** What to fetch: `packages` (each `name` or `name/suite`) from the given suites, unpacked under `dir/root`. */
export interface DebianFetch {
  readonly dir: string;
  readonly suites: readonly string[];
  readonly packages: readonly string[];
}

/**
 * Downloads Debian packages with `apt-get download` under a private apt
 * configuration and unpacks them with `dpkg-deb -x` into `dir/root`:
 * nothing is installed system-wide and the system's apt state (sources,
 * lists, cache, dpkg status) is not touched. The mirror is
 * `PROTOCACHE_DEBIAN_MIRROR` or Debian's own. Throws {@link DebianFetchError}.
 */
export function fetchDebianPackages({ dir, suites, packages }: DebianFetch): void {
  const fail = (step: string, detail: string): never => {
    throw new DebianFetchError(`fetching Debian's ${packages.join(", ")} failed at ${step}: ${detail}`);
  };
  for (const tool of ["apt-get", "dpkg-deb"]) {
    if (spawnSync(tool, ["--version"], { encoding: "utf8" }).status !== 0) fail("setup", `${tool} is not available (a Debian or Ubuntu system is needed)`);
  }
  const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  if (!existsSync(keyring)) fail("setup", `${keyring} is missing (apt-get install debian-archive-keyring)`);
  rmSync(dir, { recursive: true, force: true });
  const apt = join(dir, "apt");
  const debs = join(dir, "debs");
  for (const d of [join(apt, "sources.list.d"), join(apt, "preferences.d"), join(apt, "lists", "partial"), join(apt, "cache", "archives", "partial"), debs]) mkdirSync(d, { recursive: true });
  const mirror = process.env["PROTOCACHE_DEBIAN_MIRROR"] ?? "http://deb.debian.org/debian";
  writeFileSync(join(apt, "sources.list"), suites.map((s) => `deb [signed-by=${keyring}] ${mirror} ${s} main\n`).join(""));
  writeFileSync(join(apt, "status"), "");
  // Every path apt uses points into dir.
  const options = [
    `Dir::Etc::SourceList=${join(apt, "sources.list")}`,
    `Dir::Etc::SourceParts=${join(apt, "sources.list.d")}`,
    `Dir::Etc::Preferences=${join(apt, "preferences")}`,
    `Dir::Etc::PreferencesParts=${join(apt, "preferences.d")}`,
    `Dir::State=${apt}`,
    `Dir::State::Lists=${join(apt, "lists")}`,
    `Dir::State::status=${join(apt, "status")}`,
    `Dir::Cache=${join(apt, "cache")}`,
    "Debug::NoLocking=1",
    "APT::Architecture=amd64",
    "APT::Sandbox::User=root",
    "Acquire::Languages=none",
  ].flatMap((o) => ["-o", o]);
  const aptGet = (args: string[], step: string): void => {
    const run = spawnSync("apt-get", [...options, "-qq", ...args], { cwd: debs, encoding: "utf8", timeout: 300_000 });
    if (run.status !== 0) fail(step, (run.error?.message ?? `${run.stderr}${run.stdout}`).trim().split("\n").filter((l) => !l.startsWith("W:")).join(" ").slice(0, 300));
  };
  aptGet(["update", "--error-on=any"], `apt-get update from ${mirror} ${suites.join(" ")}`);
  aptGet(["download", ...packages], "apt-get download");
  for (const deb of readdirSync(debs).filter((f) => f.endsWith(".deb"))) {
    const run = spawnSync("dpkg-deb", ["-x", join(debs, deb), join(dir, "root")], { encoding: "utf8" });
    if (run.status !== 0) fail(`dpkg-deb -x ${deb}`, run.stderr.trim());
  }
  rmSync(join(apt, "lists"), { recursive: true, force: true });
}
