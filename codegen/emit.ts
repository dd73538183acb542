import { createFileRegistry, fromBinary, type DescEnum, type DescField, type DescFile, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { posix } from "node:path";
import { closureOf, fieldRefs } from "./closure.js";
import { runtimeSpecifier, type GenConfig } from "./config.js";
import type { EntityModel, EntitySet } from "./entities.js";
import { emitCodec } from "./emit-codec.js";
import { emitCreate } from "./emit-create.js";
import { emitJson } from "./emit-json.js";
import { emitEntity, type EntityRevision } from "./emit-entity.js";
import type { PreviousLink } from "./emit-migrations.js";
import { revisionsOf, type LineageOf, type LockRevision, type SchemaLock } from "./lock.js";
import { cachePath, propertyName, tsTypeName, typesModule } from "./naming.js";
import { GeneratedFile, literal, symbol } from "./printer.js";
import { formatSchemaId } from "./schema-id.js";
import { generatorVersion } from "./version.js";
import { unwrappedWellKnown } from "./well-known.js";

/** Inputs of the emitter: validated entities, their current IDs, and the lock that holds them. */
export interface EmitInput {
  readonly config: GenConfig;
  readonly entities: EntitySet;
  /** Current schema ID of each entity, by message full name. */
  readonly currentIds: ReadonlyMap<string, number>;
  readonly lock: SchemaLock;
  /** Groups a renamed entity's revisions with those of the names it had before. */
  readonly lineageOf: LineageOf;
}

/** Emits protocache's modules; returns contents by path relative to the output directory. */
export function emitAll(input: EmitInput): Map<string, string> {
  const out = new Map<string, string>();
  const { config, entities, lock } = input;
  const descriptorsOf = lockDescriptors();

  const byFile = new Map<string, { file: DescFile; messages: Set<DescMessage>; enums: Set<DescEnum> }>();
  const slot = (file: DescFile) => {
    let s = byFile.get(file.name);
    if (s === undefined) byFile.set(file.name, (s = { file, messages: new Set(), enums: new Set() }));
    return s;
  };
  for (const entity of entities.entities) {
    // Well-known types ts-proto unwraps have runtime codecs: no generated code for them or their enums.
    const coded = closureOf(entity.message).messages.filter((m) => unwrappedWellKnown(m.typeName) === undefined);
    for (const m of coded) {
      if (m.proto.options?.mapEntry !== true) slot(m.file).messages.add(m);
      for (const ref of m.fields.flatMap(fieldRefs)) if (ref.kind === "enum") slot(ref.file).enums.add(ref);
    }
  }

  // Every message with generated codecs, for Any's JSON form (sorted: the output is deterministic).
  const anyTypes = [...byFile.values()].flatMap((s) => [...s.messages]).sort((a, b) => (a.typeName < b.typeName ? -1 : a.typeName > b.typeName ? 1 : 0));
  for (const { file, messages, enums } of [...byFile.values()].sort((a, b) => (a.file.name < b.file.name ? -1 : 1))) {
    const path = cachePath(file);
    const f = new GeneratedFile(path, (from) => runtimeSpecifier(config, from));
    const ordered = declarationOrder(file).filter((m) => messages.has(m));
    f.reexport(ordered.map(tsTypeName), typesModule(file), true);
    f.reexport(declarationOrderEnums(file).filter((e) => enums.has(e)).map(tsTypeName), typesModule(file), false);
    for (const message of ordered) {
      emitCodec(f, message);
      emitCreate(f, message, entities.defaults);
      emitJson(f, message, anyTypes);
    }
    for (const entity of entities.entities.filter((e) => e.message.file === file)) {
      const name = entity.message.typeName;
      const lineage = input.lineageOf(name);
      const revisions = revisionsOf(lock).filter((e) => input.lineageOf(e.message) === lineage);
      const currentId = input.currentIds.get(name);
      const toRevision = (e: LockRevision): EntityRevision => ({ id: e.id, revision: e.revision, message: e.message, descriptors: descriptorsOf(e) });
      const current = revisions.find((e) => e.id === currentId);
      if (current === undefined) throw new Error(`internal: ${name} has no locked current revision`);
      emitEntity(f, entity, toRevision(current), revisions.filter((e) => e !== current).map(toRevision), entities.defaults, previousLink(entity, entities));
    }
    out.set(path, f.content(header(config, `from ${file.proto.name}`)));
  }

  out.set("registry.ts", emitRegistry(config, lock));
  out.set("descriptors.ts", emitDescriptors(config, lock));
  for (const [path, content] of emitIndexes(config, [...byFile.values()].map((s) => s.file))) out.set(path, content);
  return out;
}

/** The previous major of an entity with `migrates_from` (validated by collectEntities), and whether its key maps itself. */
function previousLink(entity: EntityModel, entities: EntitySet): PreviousLink | undefined {
  const prev = entities.entities.find((e) => e.message.typeName === entity.migratesFrom);
  if (prev === undefined) return undefined;
  const sameKind = (a: DescField, b: DescField): boolean =>
    a.fieldKind === b.fieldKind && (a.fieldKind === "scalar" ? a.scalar === (b as typeof a).scalar : a.fieldKind === "enum" && a.enum.typeName === (b as typeof a).enum.typeName);
  const keyDerivable = prev.keyFields.every((p) => entity.keyFields.some((k) => propertyName(k) === propertyName(p) && sameKind(k, p)));
  return { entity: prev, keyDerivable };
}

function header(config: GenConfig, source: string): string[] {
  return [
    `// @generated by protocache ${generatorVersion} ${source}. DO NOT EDIT.`,
    `// Regenerate with \`${config.commands.gen}\`; \`${config.commands.check}\` fails when this file is stale.`,
  ];
}

function emitRegistry(config: GenConfig, lock: SchemaLock): string {
  const f = new GeneratedFile("registry.ts", (from) => runtimeSpecifier(config, from));
  f.declare("schemaRegistry");
  f.print("/** Every schema revision in the lock, as a small ID table: tells known IDs from unknown and names the message and revision of each. */");
  f.print("export const schemaRegistry = /*@__PURE__*/ new ", symbol("SchemaRegistry", { kind: "runtime" }), "([");
  for (const e of revisionsOf(lock)) {
    f.print(`  { id: ${formatSchemaId(e.id)}, message: ${literal(e.message)}, major: ${e.major}, revision: ${e.revision} },`);
  }
  f.print("]);");
  return f.content(header(config, `from ${config.lockFile}`));
}

/**
 * The lock's descriptors as plain data, in a module of their own that no
 * accessor imports: `new SchemaDecoder(schemaDescriptors)` (from
 * `protocache/descriptors`) decodes entries of any revision, for tools.
 */
function emitDescriptors(config: GenConfig, lock: SchemaLock): string {
  const f = new GeneratedFile("descriptors.ts", (from) => runtimeSpecifier(config, from));
  f.declare("schemaDescriptors");
  f.print("/** Every revision in the lock with its descriptor closure (base64 FileDescriptorSet): pass to `SchemaDecoder` from `protocache/descriptors`. */");
  f.print("export const schemaDescriptors: readonly { readonly id: number; readonly message: string; readonly major: number; readonly revision: number; readonly descriptor: string }[] = [");
  for (const e of revisionsOf(lock)) {
    f.print(`  { id: ${formatSchemaId(e.id)}, message: ${literal(e.message)}, major: ${e.major}, revision: ${e.revision}, descriptor: ${literal(e.descriptor)} },`);
  }
  f.print("];");
  return f.content(header(config, `from ${config.lockFile}`));
}

function emitIndexes(config: GenConfig, files: readonly DescFile[]): Map<string, string> {
  const out = new Map<string, string>();
  const byPackageDir = new Map<string, DescFile[]>();
  for (const file of files) {
    const dir = posix.dirname(file.name);
    byPackageDir.set(dir, [...(byPackageDir.get(dir) ?? []), file]);
  }
  const root = new GeneratedFile("index.ts", (from) => runtimeSpecifier(config, from));
  for (const dir of [...byPackageDir.keys()].sort()) {
    const path = posix.join(dir, "index.ts");
    const f = new GeneratedFile(path, (from) => runtimeSpecifier(config, from));
    for (const file of (byPackageDir.get(dir) ?? []).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      f.reexportAll({ kind: "generated", path: cachePath(file).replace(/\.ts$/, ".js") });
    }
    out.set(path, f.content(header(config, `for ${dir}`)));
    root.reexportAll({ kind: "generated", path: posix.join(dir, "index.js") }, namespaceName(dir));
  }
  root.reexport(["schemaRegistry"], { kind: "generated", path: "registry.js" }, false);
  out.set("index.ts", root.content(header(config, "for every entity")));
  return out;
}

/** `acme/user/v1` → `acmeUserV1`: the namespace a package's accessors are exported under. */
export function namespaceName(dir: string): string {
  const words = dir.split(/[/._-]+/).filter((w) => w !== "");
  return words.map((w, i) => (i === 0 ? w.toLowerCase() : w.charAt(0).toUpperCase() + w.slice(1))).join("");
}

function declarationOrder(file: DescFile): DescMessage[] {
  const out: DescMessage[] = [];
  const walk = (ms: readonly DescMessage[]): void => {
    for (const m of ms) {
      out.push(m);
      walk(m.nestedMessages);
    }
  };
  walk(file.messages);
  return out;
}

function declarationOrderEnums(file: DescFile): DescEnum[] {
  const out: DescEnum[] = [...file.enums];
  for (const m of declarationOrder(file)) out.push(...m.nestedEnums);
  return out;
}

function lockDescriptors(): (entry: LockRevision) => FileRegistry {
  const cache = new Map<number, FileRegistry>();
  return (entry) => {
    let registry = cache.get(entry.id);
    if (registry === undefined) {
      registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(entry.descriptor, "base64")));
      cache.set(entry.id, registry);
    }
    return registry;
  };
}
