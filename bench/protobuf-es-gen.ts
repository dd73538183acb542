import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { findBuf } from "../codegen/buf.js";
import { assembleWorkspace } from "../codegen/workspace.js";

/**
 * protobuf-es code for the JSON benchmark's baseline (bench/cases/json.ts):
 * `protoc-gen-es` run by buf over the two benchmark entities, acme Session
 * and User (and protocache's options, which their files import), written to
 * bench/protobuf-es/. Only the bench uses it. `node --import tsx
 * bench/protobuf-es-gen.ts` regenerates the committed copy; a unit test
 * (test/unit/bench-protobuf-es.test.ts) regenerates into a temporary
 * directory and compares, so the copy cannot go stale.
 */

const require = createRequire(import.meta.url);
const repo = join(import.meta.dirname, "..");

/** Where the committed copy lives. */
export const protobufEsDir = join(import.meta.dirname, "protobuf-es");

/** The schema files the bench measures (paths inside the proto directory). */
export const benchProtos = ["acme/session/v1/session.proto", "acme/user/v1/user.proto"] as const;

/** The protoc-gen-es binary of the installed `@bufbuild/protoc-gen-es` (the version pinned beside `@bufbuild/protobuf`). */
function protocGenEs(): string {
  return join(dirname(require.resolve("@bufbuild/protoc-gen-es/package.json")), "bin", "protoc-gen-es");
}

/** Runs buf generate with protoc-gen-es into `outDir` (created; existing files with the same names are overwritten). */
export function generateProtobufEs(outDir: string): void {
  const workspace = assembleWorkspace(repo, "proto");
  try {
    const template = JSON.stringify({
      version: "v2",
      inputs: [{ directory: "proto" }],
      plugins: [{ local: protocGenEs(), out: outDir, include_imports: true, opt: ["target=ts", "import_extension=js"] }],
    });
    const paths = benchProtos.flatMap((p) => ["--path", join("proto", p)]);
    const result = spawnSync(findBuf(), ["generate", "--template", template, ...paths], { cwd: workspace.dir, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`buf generate (protoc-gen-es) failed: ${result.stderr || result.error?.message}`);
  } finally {
    workspace.dispose();
  }
}

/** Every file under `dir`, by path relative to it, with its text. */
export function readTree(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return files;
}

/** Regenerates into a temporary directory and returns both trees: the committed copy and a fresh one. */
export function freshAndCommitted(): { fresh: Map<string, string>; committed: Map<string, string> } {
  const tmp = mkdtempSync(join(tmpdir(), "protocache-protobuf-es-"));
  try {
    generateProtobufEs(tmp);
    return { fresh: readTree(tmp), committed: readTree(protobufEsDir) };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const tmp = mkdtempSync(join(tmpdir(), "protocache-protobuf-es-"));
  try {
    generateProtobufEs(tmp);
    rmSync(protobufEsDir, { recursive: true, force: true });
    for (const [path, text] of readTree(tmp)) {
      mkdirSync(dirname(join(protobufEsDir, path)), { recursive: true });
      writeFileSync(join(protobufEsDir, path), text);
    }
    console.error(`wrote ${relative(repo, protobufEsDir)}/`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
