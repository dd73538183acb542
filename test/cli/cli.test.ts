import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { git } from "../support/git-repo.js";
import { repoRoot } from "../support/project.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "protocache-cli-"));
  dirs.push(d);
  return d;
}

/** Runs the CLI with `cwd` as the working directory (no -C). */
function run(cwd: string, ...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, "bin", "protocache.mjs"), ...args], { cwd, encoding: "utf8" });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A hash of every file under `dir` (paths and contents), skipping node_modules. */
function treeHash(dir: string): string {
  const hash = createHash("sha256");
  const walk = (sub: string): void => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      if (name === "node_modules") continue;
      const rel = join(sub, name);
      if (statSync(join(dir, rel)).isDirectory()) walk(rel);
      else hash.update(`${rel}\0${readFileSync(join(dir, rel), "utf8")}\0`);
    }
  };
  walk("");
  return hash.digest("hex");
}

function service(pkg: object = { name: "svc", private: true, type: "module" }): string {
  const dir = tempDir();
  writeFileSync(join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  return dir;
}

describe("protocache as a user meets it", () => {
  it.each(["--version", "-V", "-v"])("prints its version with %s", (flag) => {
    const r = run(tmpdir(), flag);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version);
  });

  it("prints a command's options and examples with help <command>", () => {
    const r = run(tmpdir(), "help", "check");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: protocache check \[options\]/);
    expect(r.stdout).toMatch(/--against <ref>/);
    expect(r.stdout).toMatch(/Examples:\n {2}\$ npx protocache check\n/);
  });

  it("exits 2 on an unknown command and suggests the closest one", () => {
    const r = run(tmpdir(), "gne");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'gne'\n\(Did you mean gen\?\)/);
    const typo = run(tmpdir(), "gnerate");
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'gnerate'\n\(Did you mean generate\?\)/);
  });

  it("takes generate as another name of gen", () => {
    const r = run(tmpdir(), "help", "generate");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: protocache gen\|generate \[options\]/);
  });

  it("exits 2 with one line when there is no package.json at or above the directory", () => {
    const r = run(tempDir(), "gen");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^protocache: no package.json at or above .*: run protocache inside your project/);
  });
});

describe("protocache gen before there is anything to generate", () => {
  it("exits 2 and points at init when the proto folder is missing or holds no .proto file", () => {
    const dir = service();
    const r = run(dir, "gen");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("proto: proto/ has no .proto files: add an entity there (`npx protocache init` writes an example) [config]\n");
  });
});

const ownEntity = `syntax = "proto3";

package shop.product.v1;

import "protocache/v1/options.proto";

message Product {
  option (protocache.v1.entity) = { key: "product:{id}" ttl_seconds: 60 };
  string id = 1;
  string name = 2;
}
`;

/** A service after init and its first gen, committed on main (as a team following the README does). */
function initialisedService(): string {
  const dir = service();
  git(dir, "init", "-q", "-b", "main");
  expect(run(dir, "init").status).toBe(0);
  const gen = run(dir, "gen");
  expect(gen.status, gen.stderr).toBe(0);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "init");
  return dir;
}

describe("a first run leaves nothing behind", () => {
  it("init's example is generated but never locked; replacing it with one's own entity passes check, and gen names every file and folder it removes", () => {
    const dir = initialisedService();
    expect(existsSync(join(dir, "proto", "protocache.lock.json"))).toBe(false);
    rmSync(join(dir, "proto", "example"), { recursive: true });
    mkdirSync(join(dir, "proto", "shop", "product", "v1"), { recursive: true });
    writeFileSync(join(dir, "proto", "shop", "product", "v1", "product.proto"), ownEntity);
    const gen = run(dir, "gen");
    expect(gen.status, gen.stderr).toBe(0);
    const removed = gen.stdout.split("\n").filter((l) => l.startsWith("removed "));
    expect(removed).toEqual([
      "removed generated/example/profile/v1/index.ts (no longer generated)",
      "removed generated/example/profile/v1/profile.cache.ts (no longer generated)",
      "removed generated/types/example/profile/v1/profile.ts (no longer generated)",
      "removed generated/example/ (empty)",
      "removed generated/types/example/ (empty)",
    ]);
    expect(gen.stdout).toMatch(/: 6 written, 3 removed \(and 2 empty folder\(s\)\), 1 revision\(s\) locked/);
    expect(existsSync(join(dir, "generated", "example"))).toBe(false);
    const lock = readFileSync(join(dir, "proto", "protocache.lock.json"), "utf8");
    expect(lock).toMatch(/"message":"shop\.product\.v1\.Product"/);
    expect(lock).not.toMatch(/example/);
    const check = run(dir, "check");
    expect(check.stderr).toMatch(/protocache check: no findings/);
    expect(check.status).toBe(0);
  });

  it("check refuses the example with a fix; removing `example: true` (the fix) locks it as revision 1 and passes, even with a type changed since the base (an example is compared with nothing)", () => {
    const dir = initialisedService();
    const refused = run(dir, "check");
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /^proto\/example\/profile\/v1\/profile\.proto:\d+:1: \[example-entity\] example\.profile\.v1\.Profile is an example \(`example: true`\): gen generates it but never locks it\n {4}breaks: .*\n {4}fix: to keep it as your entity, remove `example: true` from its entity option and run npm run gen \(it locks revision 1\); otherwise delete proto\/example\/profile\/v1\/profile\.proto and run npm run gen$/m,
    );
    const proto = join(dir, "proto", "example", "profile", "v1", "profile.proto");
    writeFileSync(proto, readFileSync(proto, "utf8").replace("    example: true\n", "").replace("string email = 3;", "int64 email = 3;"));
    const gen = run(dir, "gen");
    expect(gen.status, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^locked example\.profile\.v1\.Profile r1 as 0x[0-9a-f]{8}$/m);
    const check = run(dir, "check");
    expect(check.stderr).toMatch(/protocache check: no findings/);
    expect(check.status).toBe(0);
  });

  it("gen refuses `example: true` on an entity with locked revisions, with breaks and fix lines", () => {
    const dir = initialisedService();
    const proto = join(dir, "proto", "example", "profile", "v1", "profile.proto");
    const text = readFileSync(proto, "utf8");
    writeFileSync(proto, text.replace("    example: true\n", ""));
    expect(run(dir, "gen", "-q").status).toBe(0);
    writeFileSync(proto, text);
    const gen = run(dir, "gen");
    expect(gen.status).toBe(1);
    expect(gen.stderr).toMatch(/\[example-entity\] example\.profile\.v1\.Profile is marked `example: true` but example\.profile\.v1\.Profile r1 \(0x[0-9a-f]{8}\) is in the lock\n {4}breaks: .*\n {4}fix: remove `example: true`: a locked entity cannot become an example again$/m);
  });

  it("gen says when a locked entity is gone from proto/ and how to retire it", () => {
    const dir = initialisedService();
    const proto = join(dir, "proto", "example", "profile", "v1", "profile.proto");
    writeFileSync(proto, readFileSync(proto, "utf8").replace("    example: true\n", ""));
    expect(run(dir, "gen", "-q").status).toBe(0);
    rmSync(join(dir, "proto", "example"), { recursive: true });
    mkdirSync(join(dir, "proto", "shop", "product", "v1"), { recursive: true });
    writeFileSync(join(dir, "proto", "shop", "product", "v1", "product.proto"), ownEntity);
    const gen = run(dir, "gen");
    expect(gen.status, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^note: example\.profile\.v1\.Profile has revisions in proto\/protocache\.lock\.json but is no longer in proto\/: npm run check reports it \(entity-removed\) until you run `npx protocache retire example\.profile\.v1\.Profile` or restore it$/m);
    expect(run(dir, "retire", "example.profile.v1.Profile").status).toBe(0);
    expect(run(dir, "gen").stdout).not.toMatch(/^note:/m);
  });
});

describe("protocache init", () => {
  it("writes proto/ with an example, buf.yaml and the scripts; gen then works from a subfolder and names the script in headers", () => {
    const dir = service();
    const init = run(dir, "init");
    expect(init.status, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/created {2}proto\/example\/profile\/v1\/profile\.proto/);
    expect(init.stdout).toMatch(/created {2}buf\.yaml/);
    expect(init.stdout).toMatch(/added {4}package\.json script\(s\) "gen": "protocache gen", "check": "protocache check"/);
    expect(init.stdout).toMatch(/next: npm run gen/);
    expect(init.stdout).toMatch(/- run: npm run check -- --against origin\/main/);
    expect(init.stdout).toMatch(/created {2}\.gitignore \(node_modules\/, dist\/\)/);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("node_modules/\ndist/\n");
    expect(init.stdout).not.toMatch(/"type": "module"/);
    expect(readFileSync(join(dir, "buf.yaml"), "utf8")).toMatch(/modules:\n {2}- path: proto\nlint:\n {2}use:\n {4}- STANDARD\n[\s\S]*breaking:[\s\S]*- WIRE/);
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))).toMatchObject({ scripts: { gen: "protocache gen", check: "protocache check" } });
    // buf never sees anything outside proto/: a broken .proto elsewhere in the project does not matter.
    mkdirSync(join(dir, "node_modules", "junk"), { recursive: true });
    writeFileSync(join(dir, "node_modules", "junk", "broken.proto"), "this is not protobuf");
    const gen = run(join(dir, "proto", "example"), "gen");
    expect(gen.status, gen.stderr).toBe(0);
    expect(gen.stdout).toMatch(/^example example\.profile\.v1\.Profile \(0x[0-9a-f]{8}\) generated, not locked: remove `example: true` to keep it as your own entity, or delete it/m);
    expect(gen.stdout).not.toMatch(/locked example/);
    expect(gen.stdout).toMatch(/protocache gen in \.\.\/\.\.: /);
    const cache = readFileSync(join(dir, "generated", "example", "profile", "v1", "profile.cache.ts"), "utf8");
    expect(cache.split("\n")[1]).toBe("// Regenerate with `npm run gen`; `npm run check` fails when this file is stale.");
    expect(cache).toMatch(/from "protocache\/runtime";/);
  });

  it("changes nothing when run again, and never overwrites a file or script of the project", () => {
    const dir = service({ name: "svc", private: true, scripts: { gen: "make schemas" } });
    writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [MINIMAL]\n");
    writeFileSync(join(dir, ".gitignore"), "build/\n");
    mkdirSync(join(dir, "proto", "shop", "v1"), { recursive: true });
    writeFileSync(join(dir, "proto", "shop", "v1", "cart.proto"), 'syntax = "proto3";\npackage shop.v1;\n');
    const first = run(dir, "init", "--github");
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/kept {5}buf\.yaml \(exists\)/);
    expect(first.stdout).toMatch(/kept {5}\.gitignore \(exists\)/);
    expect(readFileSync(join(dir, ".gitignore"), "utf8")).toBe("build/\n");
    // No "type": "module": a warning with the command, and package.json's type is left alone.
    expect(first.stdout).toMatch(/^warning {2}package\.json has no "type": "module": .*TS1309.*npm pkg set type=module$/m);
    expect(JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))).not.toHaveProperty("type");
    expect(first.stdout).toMatch(/kept {5}proto\/ \(1 \.proto file\(s\)\)/);
    expect(first.stdout).toMatch(/added {4}package\.json script\(s\) "check": "protocache check"/);
    expect(first.stdout).toMatch(/created {2}\.github\/workflows\/protocache\.yml/);
    expect(readFileSync(join(dir, "buf.yaml"), "utf8")).toMatch(/MINIMAL/);
    const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts).toEqual({ gen: "make schemas", check: "protocache check" });
    expect(readFileSync(join(dir, ".github", "workflows", "protocache.yml"), "utf8")).toMatch(/- run: npm run check -- --against origin\/main/);
    const before = treeHash(dir);
    const second = run(dir, "init", "--github");
    expect(second.status).toBe(0);
    expect(second.stdout).not.toMatch(/created|added/);
    expect(treeHash(dir)).toBe(before);
  });

  it("names npx protocache in messages and headers of a project without the scripts", () => {
    const dir = service();
    mkdirSync(join(dir, "proto", "shop", "cart", "v1"), { recursive: true });
    writeFileSync(join(dir, "buf.yaml"), "version: v2\nmodules:\n  - path: proto\nlint:\n  use: [STANDARD]\n");
    writeFileSync(
      join(dir, "proto", "shop", "cart", "v1", "cart.proto"),
      'syntax = "proto3";\n\npackage shop.cart.v1;\n\nimport "protocache/v1/options.proto";\n\nmessage Cart {\n  option (protocache.v1.entity) = { key: "cart:{id}" ttl_seconds: 60 };\n  string id = 1;\n}\n',
    );
    expect(run(dir, "gen", "-q").status).toBe(0);
    const cache = readFileSync(join(dir, "generated", "shop", "cart", "v1", "cart.cache.ts"), "utf8");
    expect(cache.split("\n")[1]).toBe("// Regenerate with `npx protocache gen`; `npx protocache check` fails when this file is stale.");
    writeFileSync(join(dir, "generated", "shop", "cart", "v1", "cart.cache.ts"), `${cache}// edited\n`);
    const check = run(dir, "check", "--against-image", "/nonexistent");
    expect(check.status).toBe(2);
    // A copy of options.proto in the project is refused with the reason.
    mkdirSync(join(dir, "proto", "protocache", "v1"), { recursive: true });
    writeFileSync(join(dir, "proto", "protocache", "v1", "options.proto"), 'syntax = "proto3";\npackage protocache.v1;\n');
    const copied = run(dir, "gen");
    expect(copied.status).toBe(2);
    expect(copied.stderr).toMatch(/proto\/protocache\/v1\/options\.proto: proto\/protocache\/v1\/options\.proto is a copy of protocache's options: delete it/);
  });
});
