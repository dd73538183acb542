import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { planGeneration } from "../../codegen/index.js";
import { conformanceSchema } from "../conformance/project.js";
import { repoRoot, tempProject, type TempProject } from "../support/project.js";

/** Every key field kind (string, int32, int64, uint64, bool, enum): each has its own runtime formatter. */
const keysProto = `syntax = "proto3";

package protocache_test.keys.v1;

import "protocache/v1/options.proto";

enum Tier {
  TIER_UNSPECIFIED = 0;
  TIER_GOLD = 1;
}

message Keyed {
  option (protocache.v1.entity) = { key: "keyed:{name}:{count}:{big}:{ubig}:{flag}:{tier}" };
  string name = 1;
  int32 count = 2;
  int64 big = 3;
  uint64 ubig = 4;
  bool flag = 5;
  Tier tier = 6;
}
`;

/** Names imported from `specifier` by the TypeScript text `source` (type-only ones included). */
function importsFrom(source: string, specifier: (s: string) => boolean): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)"/g)) {
    if (!specifier(m[2] as string)) continue;
    for (const part of (m[1] as string).split(",")) {
      const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/)[0]?.trim();
      if (name) names.push(name);
    }
  }
  return names;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Every name a module exports, values and types, as the TypeScript compiler sees them. */
function exportsOf(file: string): string[] {
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const module = source === undefined ? undefined : checker.getSymbolAtLocation(source);
  if (module === undefined) throw new Error(`no module symbol for ${file}`);
  return checker.getExportsOfModule(module).map((s) => s.name);
}

const projects: TempProject[] = [];
afterAll(() => projects.forEach((p) => p.remove()));

describe("protocache/runtime, the entry generated code imports", () => {
  it("exports exactly the names generated code imports: this repository's generated/ plus a project with every scalar, well-known type and key field kind", async () => {
    const project = tempProject({
      "proto/protobuf_test_messages/proto3/v1/test_messages_proto3.proto": conformanceSchema(),
      "proto/protocache_test/keys/v1/keys.proto": keysProto,
    });
    projects.push(project);
    project.write("buf.yaml", ["version: v2", "modules:", "  - path: proto", "lint:", "  use:", "    - STANDARD", "  ignore:", "    - proto/protobuf_test_messages", "breaking:", "  use:", "    - WIRE", ""].join("\n"));
    const plan = await planGeneration(project.root, { date: "2026-01-01" });
    const imported = new Set<string>();
    for (const text of plan.files.values()) for (const name of importsFrom(text, (s) => s === "protocache/runtime")) imported.add(name);
    for (const file of filesUnder(join(repoRoot, "generated"))) {
      for (const name of importsFrom(readFileSync(file, "utf8"), (s) => s.endsWith("/src/runtime/index.js"))) imported.add(name);
    }
    // The fixture reaches every emitter path that imports from the runtime (so the comparison below means something).
    expect(imported).toContain("previousMajor");
    expect(imported).toContain("decodeFieldMask");
    expect(imported).toContain("isFloat32");
    expect(imported).toContain("keyBool");
    expect(imported).toContain("keyBigint");
    expect(imported).toContain("SchemaRegistry");
    const exported = exportsOf(join(repoRoot, "src", "runtime", "index.ts"));
    expect([...new Set(exported)].sort()).toEqual([...imported].sort());
  });

  it("protocache/tools exports internalsOf, accessorInternals, interpret, migrationsOf and the validation module; protocache/runtime none of those four", async () => {
    const tools = await import("../../src/tools/index.js");
    for (const name of ["internalsOf", "accessorInternals", "interpret", "migrationsOf", "options", "integer", "closestName", "storeOptionsOf", "walkOptionChecks", "ConfigError"]) {
      expect(tools, name).toHaveProperty(name);
    }
    const runtime = await import("../../src/runtime/index.js");
    for (const name of ["internalsOf", "accessorInternals", "interpret", "migrationsOf"]) expect(runtime, name).not.toHaveProperty(name);
  });
});
