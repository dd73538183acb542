import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import type { EntityModel, EntityRevision } from "./entities.js";
import { emitEnumMappings, enumMappingNames, enumPairs, previousTypeName, previousTypeSymbol } from "./emit-enum-mapping.js";
import { accessorFactoryName, cacheModule, oneofPropertyName, propertyName, tsTypeName, typeSymbol } from "./naming.js";
import { importedAs, literal, symbol, type GeneratedFile, type ImportSymbol, type Printable } from "./printer.js";

const runtime = { kind: "runtime" } as const;

/** Name of the type of an older revision's values, e.g. `User_R1`. */
export function revisionTypeName(message: DescMessage, revision: number): string {
  return `${tsTypeName(message)}_R${revision}`;
}

/** Name of the function that takes an older revision's view of a value, e.g. `viewUserR1`. */
export function viewName(message: DescMessage, revision: number): string {
  return `view${tsTypeName(message)}R${revision}`;
}

/**
 * Prints `User_R1` (the fields revision 1 had, under the names it gave
 * them, typed as the current codec reads them) and `viewUserR1`, which takes
 * that view of a decoded value. Fields the current schema no longer has are
 * not in the view (their bytes stay in the value's unknown fields); a doc
 * line names them. Returns the view function's name.
 */
export function emitRevisionView(f: GeneratedFile, message: DescMessage, rev: EntityRevision): string {
  const old = rev.descriptors.getMessage(rev.message);
  const type = typeSymbol(message);
  const typeName = revisionTypeName(message, rev.revision);
  const fn = viewName(message, rev.revision);
  f.declare(typeName, fn);
  const members: { name: string; from: string }[] = [];
  const removed: string[] = [];
  const groups = new Set<string>();
  for (const field of [...(old?.fields ?? message.fields)].sort((a, b) => a.number - b.number)) {
    const now = message.fields.find((c) => c.number === field.number);
    if (now === undefined) {
      removed.push(`\`${field.name}\` (${field.number})`);
      continue;
    }
    if (now.oneof !== undefined && !now.proto.proto3Optional) {
      const group = oneofPropertyName(now.oneof);
      if (!groups.has(group)) members.push({ name: group, from: group });
      groups.add(group);
      continue;
    }
    members.push({ name: propertyName(field as DescField), from: propertyName(now) });
  }
  f.print("/**");
  f.print(` * \`${message.typeName}\` as revision ${rev.revision} wrote it: the fields it had, under the names it gave`);
  f.print(" * them, typed as the current codec reads them (same major: wire-compatible). What upgrade hooks receive.");
  if (removed.length > 0) f.print(` * Fields since removed, kept as unknown fields (\`unknownFieldsOf(old)\`): ${removed.join(", ")}.`);
  f.print(" */");
  f.print(`export interface ${typeName} {`);
  for (const m of members) f.print(`  readonly ${m.name}: `, type, `[${literal(m.from)}];`);
  f.print("}");
  f.print();
  f.print(`/** Revision ${rev.revision}'s view of a value decoded with the current codec, before declared defaults. */`);
  f.print(`function ${fn}(m: `, type, `): ${typeName} {`);
  const copies = members.map((m) => `${m.name}: m.${m.from}`);
  if (copies.length <= 4) f.print(`  return { ${copies.join(", ")} };`);
  else {
    f.print("  return {");
    for (const c of copies) f.print(`    ${c},`);
    f.print("  };");
  }
  f.print("}");
  f.print();
  return fn;
}

/** The property of a field of `message` whose values are of `enumType` (for examples in comments). */
function propertyFor(enumType: DescEnum, message: DescMessage): string | undefined {
  const field = message.fields.find((f) => f.fieldKind === "enum" && f.enum === enumType);
  return field === undefined ? undefined : propertyName(field);
}

/** The previous major of an entity, as the generator links it. */
export interface PreviousLink {
  readonly entity: EntityModel;
  /** True when each of its key fields is a key field of this entity with the same name and type: the key maps itself. */
  readonly keyDerivable: boolean;
}

/** The previous major's generated entity constant and key type, imported under readable names (`userEntityV1`, `UserKeyV1`). */
function previousSymbols(prev: EntityModel): { entity: ImportSymbol; key: ImportSymbol } {
  const from = cacheModule(prev.message.file);
  const entity = `${accessorFactoryName(prev.message).replace(/Cache$/, "")}Entity`;
  const key = `${tsTypeName(prev.message)}Key`;
  return {
    entity: importedAs(symbol(entity, from), `${entity}V${prev.major}`),
    key: importedAs(symbol(key, from, true), `${key}V${prev.major}`),
  };
}

/** The `previous:` member of an entity definition. */
export function previousMember(link: PreviousLink, keyName: string): Printable[] {
  const { entity: prevEntity } = previousSymbols(link.entity);
  const fn = symbol("previousMajor", runtime);
  if (!link.keyDerivable) return ["  previous: ", fn, "(", prevEntity, ", undefined),"];
  const fields = link.entity.keyFields.map((k) => `${propertyName(k)}: k.${propertyName(k)}`).join(", ");
  return ["  previous: ", fn, "(", prevEntity, `, (k: ${keyName}) => ({ ${fields} })),`];
}

/**
 * Prints the typed migrations of an entity (`UserUpgrades`,
 * `UserMigrations`) and `defineUserCache(migrations)`, which records them
 * for the entity once per process and returns the accessor factory. For an
 * entity with `migrates_from`, `fromPrevious` (and `previousKey`, when the
 * key fields differ) are required members: omitting them does not compile.
 */
export function emitMigrations(
  f: GeneratedFile,
  entity: EntityModel,
  constName: string,
  keyName: string,
  older: readonly EntityRevision[],
  previous: PreviousLink | undefined,
): void {
  const message = entity.message;
  const type = typeSymbol(message);
  const name = tsTypeName(message);
  const upgrades = `${name}Upgrades`;
  const migrations = `${name}Migrations`;
  const define = `define${name}Cache`;
  f.declare(upgrades, migrations, define);

  if (older.length > 0) {
    f.print(`/** Upgrade hooks of \`${message.typeName}\`: per older revision, (the value as it wrote it, the value after declared defaults) → the current value. */`);
    f.print(`export interface ${upgrades} {`);
    for (const rev of older) f.print(`  readonly ${rev.revision}?: (old: ${revisionTypeName(message, rev.revision)}, upgraded: `, type, ") => ", type, ";");
    f.print("}");
    f.print();
  }
  f.print(`/** A service's migration code for \`${message.typeName}\`, given once to \`${define}\`. */`);
  f.print(`export interface ${migrations} {`);
  if (older.length > 0) f.print(`  /** Run after declared defaults on entries of older revisions; a hook that throws is a counted \`upgrade_failed\` miss. */`);
  else f.print("  /** No older revision yet: nothing to upgrade. */");
  f.print(older.length > 0 ? `  readonly upgrades?: ${upgrades};` : "  readonly upgrades?: never;");
  const pairs = previous === undefined ? [] : enumPairs(previous.entity.message, message);
  if (previous !== undefined) {
    const prevType = previousTypeSymbol(previous.entity.message, previous.entity.major);
    const { key: prevKey } = previousSymbols(previous.entity);
    const mappings = pairs.map((p) => `\`${enumMappingNames(p, previous.entity.major).from}\``);
    f.print(`  /**`);
    f.print(`   * Converts a \`${previous.entity.message.typeName}\` entry (\`${previousTypeName(previous.entity.message, previous.entity.major)}\`) read through on a miss (and by \`migrate\`).`);
    if (mappings.length > 0) f.print(`   * Its enum values convert with ${mappings.join(", ")} (below).`);
    f.print(`   */`);
    f.print("  readonly fromPrevious: (old: ", prevType, ") => ", type, ";");
    f.print(`  /** Converts back, for \`previousMajor: "dual-write"\` (the previous major's readers keep hitting). */`);
    f.print("  readonly toPrevious?: (value: ", type, ") => ", prevType, ";");
    if (!previous.keyDerivable) {
      f.print(`  /** The key fields differ between the majors: the previous major's key of an entry. */`);
      f.print(`  readonly previousKey: (key: ${keyName}) => `, prevKey, ";");
    }
  }
  f.print("}");
  f.print();
  if (previous !== undefined) emitEnumMappings(f, pairs, previous.entity.major, entity.major);

  const factory = accessorFactoryName(message);
  f.print("/**");
  f.print(` * Records the service's migrations for \`${message.typeName}\` (once per process: every accessor of the`);
  f.print(" * entity uses them, including tools given an accessor) and returns its accessor factory. Define");
  f.print(" * them in one module and import the factory everywhere.");
  f.print(" *");
  f.print(" * @example");
  f.print(" * ```ts");
  f.print(` * export const ${factory} = ${define}({`);
  if (previous !== undefined) {
    const pair = pairs.find((p) => propertyFor(p.current, message) !== undefined && propertyFor(p.previous, previous.entity.message) !== undefined);
    const example = pair === undefined ? "" : `, ${propertyFor(pair.current, message)}: ${enumMappingNames(pair, previous.entity.major).from}(old.${propertyFor(pair.previous, previous.entity.message)})`;
    f.print(` *   fromPrevious: (old) => create${name}({ ...the fields, from old${example} }),`);
  }
  if (older.length > 0) f.print(` *   upgrades: { ${older[0]?.revision}: (old, upgraded) => ({ ...upgraded, ...fields derived from old }) },`);
  f.print(" * });");
  f.print(" * ```");
  f.print(" */");
  f.print(
    `export function ${define}(migrations: ${migrations}): (store: `, symbol("CacheStore", runtime, true),
    ", options?: ", symbol("AccessorOptions", runtime, true), "<", type, `, ${keyName}>) => `,
    symbol("EntityCache", runtime, true), "<", type, `, ${keyName}> {`,
  );
  f.print("  ", symbol("defineMigrations", runtime), `(${constName}, migrations);`);
  f.print("  return ", symbol("accessorFactory", runtime), `(${constName});`);
  f.print("}");
  f.print();
}
