import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { createDefaults, describeDefault } from "./emit-defaults.js";
import { closureOf } from "./closure.js";
import type { DeclaredDefault, EntitySet } from "./entities.js";
import { creatorSymbol, oneofPropertyName, propertyName, tsTypeName, typeSymbol } from "./naming.js";
import { literal, symbol, type GeneratedFile } from "./printer.js";
import { unwrappedWellKnown } from "./well-known.js";

/**
 * Full names of the messages that get a `createX()`: every message an
 * entity uses (as `emitAll` generates them), map entries and the
 * well-known types ts-proto unwraps excepted.
 */
export function constructedMessages(entities: EntitySet): Set<string> {
  const names = new Set<string>();
  for (const entity of entities.entities) {
    for (const m of closureOf(entity.message).messages) {
      if (unwrappedWellKnown(m.typeName) === undefined && m.proto.options?.mapEntry !== true) names.add(m.typeName);
    }
  }
  return names;
}

/** Name of the generated constructor of a message, e.g. `createUser`. */
export function constructorName(message: DescMessage): string {
  return `create${tsTypeName(message)}`;
}

/**
 * Prints `createX(init?: Partial<X>): X`: the value with the given fields,
 * the declared default of every other field that has one, and the zero
 * value of the rest. Services build values with it instead of object
 * literals, so a field added to the schema never breaks their code, and a
 * value they make has the same defaults as one read from an older entry.
 */
export function emitCreate(f: GeneratedFile, message: DescMessage, defaults: ReadonlyMap<DescField, DeclaredDefault> = new Map()): void {
  const type = typeSymbol(message);
  const name = constructorName(message);
  const declared = createDefaults(message, defaults);
  f.declare(name);
  f.print("/**");
  if (declared.length === 0) {
    f.print(` * A \`${message.typeName}\` with the given fields and every other field at its zero value:`);
  } else {
    const list = declared.map(([field, d]) => `\`${propertyName(field)}: ${describeDefault(field, d)}\``).join(", ");
    f.print(` * A \`${message.typeName}\` with the given fields, every other field that declares a default at it`);
    f.print(` * (${list}: what entries written without the field read as), and the rest at their zero value:`);
  }
  f.print(" * unlike an object literal, a call keeps compiling when the schema gains a field.");
  f.print(" */");
  f.print("export function ", name, "(init?: Partial<", type, ">): ", type, " {");
  f.print("  const m = ", creatorSymbol(message), "();");
  for (const [field, d] of declared) {
    const p = propertyName(field);
    f.print(`  m.${p} = ${literal(d.value)};${field.fieldKind === "enum" ? ` // ${describeDefault(field, d)}` : ""}`);
  }
  f.print("  if (init === undefined) return m;");
  for (const member of message.members) {
    const p = member.kind === "oneof" ? oneofPropertyName(member) : propertyName(member);
    f.print(`  if (init.${p} !== undefined) m.${p} = init.${p};`);
  }
  f.print("  ", symbol("copyUnknownFields", { kind: "runtime" }), "(init, m);");
  f.print("  return m;");
  f.print("}");
  f.print();
}
