import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/project.js";

/**
 * The `ts` snippets of docs/migrations.md, type-checked with tsc against
 * this repository's generated example entities: what a service writes as
 * `./generated/…` and `protocache` resolves to generated/ and src/ here.
 */
const dir = join(repoRoot, ".tmp", "docs-snippets");

function snippets(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
}

function localImports(code: string): string {
  return code.replace(/from "\.\/generated\//g, 'from "../../generated/').replace(/from "protocache"/g, 'from "../../src/index.js"');
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/migrations.md", () => {
  it("every ts snippet type-checks against the generated example entities", () => {
    const found = snippets(readFileSync(join(repoRoot, "docs", "migrations.md"), "utf8"));
    expect(found.length).toBeGreaterThanOrEqual(3);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    found.forEach((code, i) => writeFileSync(join(dir, `snippet${i + 1}.ts`), localImports(code)));
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: ["*.ts"] }));
    const run = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    expect(run.stdout + run.stderr).toBe("");
    expect(run.status).toBe(0);
  }, 120_000);
});
