import { ScalarType, type DescField } from "@bufbuild/protobuf";
import { isInt64, type DeclaredDefault, type EntityModel, type EntityRevision } from "./entities.js";

export type { EntityRevision } from "./entities.js";
import { emitFill, fillName } from "./emit-defaults.js";
import { emitMigrations, emitRevisionView, previousMember, type PreviousLink } from "./emit-migrations.js";
import { accessorFactoryName, creatorSymbol, decoderSymbol, encoderSymbol, propertyName, tsTypeName, typeSymbol } from "./naming.js";
import { literal, symbol, type GeneratedFile, type Printable } from "./printer.js";
import { formatSchemaId } from "./schema-id.js";

const runtime = { kind: "runtime" } as const;


/** Registry module symbol every entity points at. */
export const registrySymbol = symbol("schemaRegistry", { kind: "generated", path: "registry.js" });

/**
 * Prints an entity's key interface, declared-default fills, older
 * revisions' views, definition, typed migrations and accessor factories.
 */
export function emitEntity(
  f: GeneratedFile,
  entity: EntityModel,
  current: EntityRevision,
  others: readonly EntityRevision[],
  defaults: ReadonlyMap<DescField, DeclaredDefault>,
  previous?: PreviousLink,
): void {
  const message = entity.message;
  const type = typeSymbol(message);
  const typeName = tsTypeName(message);
  const keyName = `${typeName}Key`;
  const constName = `${accessorFactoryName(message).replace(/Cache$/, "")}Entity`;
  const factory = accessorFactoryName(message);
  f.declare(keyName, constName, factory);

  f.print(`/** Key fields of an \`${message.typeName}\` entry: \`${templateText(entity)}\`. */`);
  f.print(`export interface ${keyName} {`);
  for (const field of entity.keyFields) f.print(`  readonly ${propertyName(field)}: `, keyFieldType(field), ";");
  f.print("}");
  f.print();

  const fillOf = (rev: EntityRevision, label: string): string => {
    const name = fillName(message, rev.revision);
    return emitFill(f, message, defaults, { name, written: rev.descriptors, revisionLabel: label }) ? name : "undefined";
  };
  const currentFill = fillOf(current, `current (r${current.revision}) or newer`);
  const otherFills = others.map((rev) => ({
    rev,
    fill: fillOf(rev, `revision ${rev.revision}`),
    view: rev.revision < current.revision ? emitRevisionView(f, message, rev) : "undefined",
  }));

  const Entity = symbol("Entity", runtime, true);
  f.print(`/** The \`${message.typeName}\` entity: revisions, key template and codec. */`);
  f.print(`export const ${constName}: `, Entity, `<`, type, `, ${keyName}> = /*@__PURE__*/ `, symbol("defineEntity", runtime), "({");
  f.print(`  typeName: ${literal(message.typeName)},`);
  f.print(`  entity: ${literal(entity.key.entity)},`);
  f.print(`  major: ${entity.major},`);
  f.print(`  current: { schemaId: ${formatSchemaId(current.id)}, revision: ${current.revision}, fill: ${currentFill} },`);
  if (otherFills.length === 0) f.print("  others: [],");
  else {
    f.print("  others: [");
    for (const { rev, fill, view } of otherFills) f.print(`    { schemaId: ${formatSchemaId(rev.id)}, revision: ${rev.revision}, fill: ${fill}, view: ${view} },`);
    f.print("  ],");
  }
  f.print(`  ttlSeconds: ${entity.ttlSeconds},`);
  f.print(`  keyFields: [${entity.keyFields.map((k) => literal(propertyName(k))).join(", ")}],`);
  f.print("  key: (k) => ", keyExpression(entity), ",");
  f.print("  encode: ", encoderSymbol(message), ",");
  f.print("  decode: ", decoderSymbol(message), ",");
  f.print("  newValue: ", creatorSymbol(message), ",");
  const declared = topLevelDefaults(entity, defaults);
  f.print(declared.length === 0 ? "  defaults: {}," : `  defaults: { ${declared.join(", ")} },`);
  if (previous !== undefined) f.print(...previousMember(previous, keyName));
  f.print("  registry: ", registrySymbol, ",");
  f.print("});");
  f.print();

  emitMigrations(f, entity, constName, keyName, others.filter((r) => r.revision < current.revision), previous);
  if (previous !== undefined) return;
  const EntityCache = symbol("EntityCache", runtime, true);
  f.print(`/** Typed, version-aware cache accessor of \`${message.typeName}\` entries (with the migrations \`define${typeName}Cache\` recorded, if any). */`);
  f.print(
    `export function ${factory}(store: `, symbol("CacheStore", runtime, true),
    ", options?: ", symbol("AccessorOptions", runtime, true), "<", type, `, ${keyName}>): `,
    EntityCache, "<", type, `, ${keyName}> {`,
  );
  f.print(`  return `, symbol("createEntityCache", runtime), `(${constName}, store, options);`);
  f.print("}");
  f.print();
}

/** `fullName: "Unknown"`-style members: the declared defaults of the entity's own fields, by property name. */
function topLevelDefaults(entity: EntityModel, defaults: ReadonlyMap<DescField, DeclaredDefault>): string[] {
  return entity.message.fields.flatMap((field) => {
    const declared = defaults.get(field);
    return declared === undefined ? [] : [`${propertyName(field)}: ${literal(declared.value)}`];
  });
}

function templateText(entity: EntityModel): string {
  return [entity.key.entity, ...entity.key.segments.map((s) => (s.kind === "field" ? `{${s.name}}` : s.text))].join(":");
}

function keyFieldType(field: DescField): Printable {
  if (field.fieldKind === "enum") return typeSymbol(field.enum);
  if (field.fieldKind !== "scalar") return "never";
  if (field.scalar === ScalarType.STRING) return "string";
  if (field.scalar === ScalarType.BOOL) return "boolean";
  return isInt64(field.scalar) ? "bigint" : "number";
}

function keyExpression(entity: EntityModel): Printable[] {
  const parts: Printable[] = [];
  for (const segment of entity.key.segments) {
    if (parts.length > 0) parts.push(" + \":\" + ");
    if (segment.kind === "literal") {
      parts.push(literal(segment.text));
      continue;
    }
    const field = entity.keyFields.find((k) => k.name === segment.name) as DescField;
    const prop = propertyName(field);
    parts.push(symbol(keyFormatter(field), runtime), `(k.${prop}, ${literal(prop)})`);
  }
  return parts;
}

function keyFormatter(field: DescField): string {
  if (field.fieldKind === "enum") return "keyInt";
  if (field.fieldKind !== "scalar") return "keyString";
  if (field.scalar === ScalarType.STRING) return "keyString";
  if (field.scalar === ScalarType.BOOL) return "keyBool";
  return isInt64(field.scalar) ? "keyBigint" : "keyInt";
}
