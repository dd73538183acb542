import { readFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { parse } from "yaml";
import type { GenConfig } from "./config.js";
import { GenError } from "./errors.js";
import { typesDir } from "./naming.js";

/**
 * ts-proto options protocache's generated codecs depend on: the shape of the
 * TypeScript types must be exactly what the codecs read and write.
 */
export const requiredTsProtoOptions: Readonly<Record<string, string>> = {
  onlyTypes: "true",
  forceLong: "bigint",
  useJsonName: "true",
  oneof: "unions",
  useMapType: "true",
  // protocache keeps unknown fields itself (one byte range per message, under a symbol): ts-proto's
  // `_unknownFields` (one array per field) must stay out of the types. See docs/codegen.md.
  unknownFields: "false",
  useDate: "false",
};

interface PluginEntry {
  local?: unknown;
  out?: unknown;
  opt?: unknown;
}

/** The ts-proto entry of buf.gen.yaml. */
export interface TsProtoTemplate {
  /** The template's path, relative to the root. */
  readonly file: string;
  /** Plugin options, exactly as buf would pass them (`key=value` each). */
  readonly opts: readonly string[];
}

/**
 * Reads buf.gen.yaml and checks that it runs ts-proto into `<outDir>/types`
 * with the options the codecs rely on.
 */
export async function checkTemplate(config: GenConfig): Promise<TsProtoTemplate> {
  const file = config.template;
  let doc: { plugins?: PluginEntry[] };
  try {
    doc = parse(await readFile(join(config.root, file), "utf8")) as { plugins?: PluginEntry[] };
  } catch (error) {
    throw new GenError("template", `cannot read ${file}: ${(error as Error).message}`, { file });
  }
  const plugins = Array.isArray(doc?.plugins) ? doc.plugins : [];
  const tsProto = plugins.find((p) => String(p.local ?? "").includes("ts_proto") || String(p.local ?? "").includes("ts-proto"));
  if (tsProto === undefined) throw new GenError("template", `${file} has no ts-proto plugin (local: protoc-gen-ts_proto)`, { file });
  const expectedOut = posix.join(config.outDir, typesDir);
  if (posix.normalize(String(tsProto.out)) !== expectedOut) {
    throw new GenError("template", `${file}: ts-proto must write to "${expectedOut}" (got "${String(tsProto.out)}")`, { file });
  }
  const opts = new Map<string, string>();
  const raw = (Array.isArray(tsProto.opt) ? tsProto.opt : typeof tsProto.opt === "string" ? tsProto.opt.split(",") : []).map(String);
  for (const entry of raw) {
    const [key, value = "true"] = String(entry).split("=");
    if (key !== undefined) opts.set(key.trim(), value.trim());
  }
  for (const [key, value] of Object.entries(requiredTsProtoOptions)) {
    if (opts.get(key) !== value) {
      throw new GenError("template", `${file}: ts-proto option ${key}=${value} is required by protocache's codecs (got ${opts.get(key) ?? "unset"})`, { file });
    }
  }
  return { file, opts: raw };
}
