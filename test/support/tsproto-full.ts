import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { findBuf, tsProtoPluginDir } from "../../codegen/buf.js";
import { assembleWorkspace } from "../../codegen/workspace.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * Generates ts-proto's own full codec (encode/decode) for the example protos
 * (or the protos under `paths` of another project `root`) into
 * `.tmp/tsproto-full/<name>`, with the same type options as gen (codegen/ts-proto-options.ts):
 * the independent implementation the differential tests compare against.
 */
export function generateTsProtoCodec(name: string, root = repo, paths: readonly string[] = ["proto/acme"]): string {
  const out = join(repo, ".tmp", "tsproto-full", name);
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const template = {
    version: "v2",
    plugins: [
      {
        local: "protoc-gen-ts_proto",
        out,
        opt: [
          "forceLong=bigint", "useJsonName=true", "oneof=unions", "useMapType=true", "unknownFields=false",
          "importSuffix=.js", "esModuleInterop=true", "useDate=false", "outputServices=false",
          "outputJsonMethods=false", "outputPartialMethods=false", "emitImportedFiles=true",
        ],
      },
    ],
  };
  const workspace = assembleWorkspace(root, "proto");
  const result = spawnSync(findBuf(), ["generate", "--template", JSON.stringify(template), ...paths.flatMap((p) => ["--path", p])], {
    cwd: workspace.dir,
    encoding: "utf8",
    env: { ...process.env, PATH: `${tsProtoPluginDir()}:${process.env["PATH"] ?? ""}` },
  });
  workspace.dispose();
  if (result.status !== 0) throw new Error(`buf generate (ts-proto full codec) failed: ${result.stderr}`);
  return out;
}
