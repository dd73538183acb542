import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GenError, loadConfig } from "../../codegen/index.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A folder whose package.json has this `"protocache"` section. */
function project(section: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "protocache-config-"));
  dirs.push(dir);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "svc", private: true, protocache: section }));
  return dir;
}

async function refusal(section: unknown, lenient = false): Promise<string> {
  try {
    await loadConfig(project(section), { lenient });
  } catch (error) {
    expect(error).toBeInstanceOf(GenError);
    return (error as GenError).toLine();
  }
  throw new Error("loadConfig accepted the section");
}

describe("the generator's configuration (package.json \"protocache\")", () => {
  it.each([
    [{ outdir: "gen" }, 'package.json: package.json "protocache.outdir": unknown option; did you mean outDir? (valid options are protoDir, outDir, lockFile, runtime) [config]'],
    [{ proto_dir: "schemas" }, 'package.json: package.json "protocache.proto_dir": unknown option; did you mean protoDir? (valid options are protoDir, outDir, lockFile, runtime) [config]'],
    [{ lockfile: "x.json" }, 'package.json: package.json "protocache.lockfile": unknown option; did you mean lockFile? (valid options are protoDir, outDir, lockFile, runtime) [config]'],
    [{ colour: "red" }, 'package.json: package.json "protocache.colour": unknown option; valid options are protoDir, outDir, lockFile, runtime [config]'],
    [{ template: "buf.gen.yaml" }, "package.json: package.json \"protocache.template\": no longer an option: the generator owns ts-proto's options now, so a buf.gen.yaml is no longer read: remove the option (and the file) [config]"],
    [{ outDir: 3 }, 'package.json: package.json "protocache.outDir": expected a non-empty string, got number 3 [config]'],
    [{ protoDir: "" }, 'package.json: package.json "protocache.protoDir": expected a non-empty string, got string "" [config]'],
    [{ runtime: false }, 'package.json: package.json "protocache.runtime": expected a package specifier (e.g. "protocache/runtime") or a ./ path, got boolean false [config]'],
    ["generated", 'package.json: package.json "protocache": expected an object like { "outDir": "generated" }, got string "generated" [config]'],
  ])("refuses %j with one line naming the option: %s", async (section, line) => {
    expect(await refusal(section)).toBe(line);
  });

  it("applies defaults and normalises paths, leaving the runtime specifier as written", async () => {
    const config = await loadConfig(project({ protoDir: "schemas/", outDir: "./src/gen", runtime: "./src/runtime/index.js" }));
    expect(config).toMatchObject({ protoDir: "schemas/", outDir: "src/gen", lockFile: "schemas/protocache.lock.json", runtime: "./src/runtime/index.js" });
    expect(await loadConfig(project(undefined))).toMatchObject({ protoDir: "proto", outDir: "generated", lockFile: "proto/protocache.lock.json", runtime: "protocache/runtime" });
  });

  it("leniently (a base commit's configuration) skips unknown and removed names but still checks the known ones", async () => {
    expect(await loadConfig(project({ futureOption: 1, template: "x", outDir: "out" }), { lenient: true })).toMatchObject({ outDir: "out" });
    expect(await refusal({ futureOption: 1, outDir: 3 }, true)).toMatch(/"protocache.outDir": expected a non-empty string, got number 3/);
  });
});
