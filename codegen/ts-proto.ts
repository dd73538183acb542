import { clone, create, fromBinary, toBinary, type DescField } from "@bufbuild/protobuf";
import {
  CodeGeneratorRequestSchema,
  CodeGeneratorResponseSchema,
  FileDescriptorProtoSchema,
  SourceCodeInfo_LocationSchema,
  SourceCodeInfoSchema,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join, posix } from "node:path";
import { tsProtoPluginDir } from "./buf.js";
import { ToolCache } from "./cache.js";
import { GenError } from "./errors.js";
import { descPath, type ProtoImage } from "./image.js";
import { typesDir } from "./naming.js";

/**
 * The CodeGeneratorRequest for this image: every project file except
 * protocache's own options, plus the well-known-type files those import
 * (ts-proto then writes `types/google/protobuf/timestamp.ts` and the like);
 * all files (imports first) as context.
 */
export function tsProtoRequest(image: ProtoImage, opts: readonly string[], fieldDocs: ReadonlyMap<DescField, string> = new Map()): Uint8Array {
  const project = image.files.map((f) => f.proto.name).filter((name) => !name.startsWith("protocache/"));
  const imported = image.files
    .filter((f) => !f.proto.name.startsWith("protocache/"))
    .flatMap((f) => f.proto.dependency)
    .filter((dep) => dep.startsWith("google/protobuf/") && dep !== "google/protobuf/descriptor.proto");
  const fileToGenerate = [...new Set([...project, ...imported])];
  const protoFile = withFieldDocs(image.protos, fieldDocs);
  return toBinary(CodeGeneratorRequestSchema, create(CodeGeneratorRequestSchema, { fileToGenerate, parameter: opts.join(","), protoFile }));
}

/**
 * The files with `docs` appended to their fields' comments (as a paragraph
 * of its own), so ts-proto prints them on the generated interfaces (a
 * field's declared default). ts-proto shows a field's leading comment, else
 * its trailing one: the text goes where it will be shown. Files with
 * nothing to add are passed as they are; the others are copies (the image
 * is not changed).
 */
function withFieldDocs(protos: readonly FileDescriptorProto[], docs: ReadonlyMap<DescField, string>): FileDescriptorProto[] {
  const byFile = new Map<string, [number[], string][]>();
  for (const [field, text] of docs) {
    const name = field.parent.file.proto.name;
    let list = byFile.get(name);
    if (list === undefined) byFile.set(name, (list = []));
    list.push([descPath(field), text]);
  }
  return protos.map((proto) => {
    const added = byFile.get(proto.name);
    if (added === undefined) return proto;
    const copy = clone(FileDescriptorProtoSchema, proto);
    const info = (copy.sourceCodeInfo ??= create(SourceCodeInfoSchema));
    for (const [path, text] of added) {
      const found = info.location.find((l) => l.path.length === path.length && l.path.every((n, i) => n === path[i]));
      const location = found ?? create(SourceCodeInfo_LocationSchema, { path, span: [0, 0, 0] });
      if (found === undefined) info.location.push(location);
      const shown = (location.leadingComments || location.trailingComments).replace(/\s+$/, "");
      location.leadingComments = shown === "" ? ` ${text}\n` : `${shown}\n\n ${text}\n`;
    }
    return copy;
  });
}

/** A ts-proto plugin process started ahead of its request, so Node's start-up overlaps buf's work. */
export interface TsProtoProcess {
  /** Sends the request; resolves to the generated files by output path. */
  generate(request: Uint8Array): Promise<Map<string, string>>;
  /** Kills the process when its output is not needed (cache hit, earlier error). */
  cancel(): void;
}

/**
 * Starts `protoc-gen-ts_proto` the way buf runs a local plugin (request on
 * stdin, response on stdout), reusing the image protocache already built
 * instead of compiling the protos again inside `buf generate`.
 */
export function startTsProto(): TsProtoProcess {
  const child = spawn(process.execPath, [join(tsProtoPluginDir(), "protoc-gen-ts_proto")], { stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => out.push(c));
  child.stderr.on("data", (c: Buffer) => err.push(c));
  child.stdin.on("error", () => {
    // reported through the exit code below
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", (cause) => reject(new GenError("ts-proto", `cannot run ts-proto: ${cause.message}; run \`npm ci\``, undefined, { cause })));
    child.on("close", (c) => resolve(c ?? 1));
  });
  exited.catch(() => {});
  return {
    async generate(request) {
      child.stdin.end(request);
      const code = await exited;
      if (code !== 0) {
        throw new GenError("ts-proto", `ts-proto failed (exit ${code}): ${Buffer.concat(err).toString("utf8").trim().split("\n")[0] ?? ""}`);
      }
      const response = fromBinary(CodeGeneratorResponseSchema, Buffer.concat(out));
      if (response.error !== "") throw new GenError("ts-proto", `ts-proto: ${response.error}`);
      const files = new Map<string, string>();
      for (const file of response.file) files.set(posix.join(typesDir, file.name), file.content);
      return files;
    },
    cancel() {
      if (child.exitCode === null) child.kill();
    },
  };
}

/** A plugin handle that starts the process only if a request is actually sent (when a cache hit is expected). */
export function lazyTsProto(): TsProtoProcess {
  let started: TsProtoProcess | undefined;
  return {
    generate: (request) => (started ??= startTsProto()).generate(request),
    cancel: () => started?.cancel(),
  };
}

/** ts-proto's output for a request: from the cache (keyed by request bytes and ts-proto version) or from `plugin`. */
export async function runTsProto(request: Uint8Array, cache: ToolCache, plugin: TsProtoProcess): Promise<Map<string, string>> {
  const version = (createRequire(import.meta.url)("ts-proto/package.json") as { version: string }).version;
  const key = ToolCache.key("ts-proto", version, request);
  const hit = await cache.get<[string, string][]>("ts-proto", key);
  if (hit !== undefined) {
    plugin.cancel();
    return new Map(hit);
  }
  const files = await plugin.generate(request);
  await cache.set("ts-proto", key, [...files]);
  return files;
}
