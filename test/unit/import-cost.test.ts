import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../support/project.js";

/** Packages (from node_modules) that a fresh Node process has loaded after importing `modules`. */
function packagesLoadedBy(...modules: string[]): string[] {
  const probe = `
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
const require = createRequire(import.meta.url);
for (const m of process.argv.slice(1)) await import(pathToFileURL(m).href);
const names = Object.keys(require.cache).filter((p) => p.includes("node_modules")).map((p) => p.split("node_modules/").pop().split("/")[0]);
console.log(JSON.stringify([...new Set(names)].sort()));
`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", probe, ...modules.map((m) => join(repoRoot, m))], { cwd: repoRoot, encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as string[];
}

describe("what importing protocache loads", () => {
  it("the runtime, the public API and a generated accessor load neither protobufjs nor a Redis client", () => {
    const loaded = packagesLoadedBy("src/index.ts", "src/runtime/index.ts", "generated/acme/user/v1/user.cache.ts", "generated/index.ts");
    expect(loaded).not.toContain("protobufjs");
    expect(loaded).not.toContain("ioredis");
    expect(loaded).not.toContain("redis");
    expect(loaded).not.toContain("@redis");
  });

  it("protocache/descriptors does load protobufjs (so the probe above can see it)", () => {
    expect(packagesLoadedBy("src/descriptors/index.ts", "generated/descriptors.ts")).toContain("protobufjs");
  });
});
