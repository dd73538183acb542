import type { DescMessage } from "@bufbuild/protobuf";
import { creatorSymbol, oneofPropertyName, propertyName, tsTypeName, typeSymbol } from "./naming.js";
import { symbol, type GeneratedFile } from "./printer.js";

/** Name of the generated constructor of a message, e.g. `createUser`. */
export function constructorName(message: DescMessage): string {
  return `create${tsTypeName(message)}`;
}

/**
 * Prints `createX(init?: Partial<X>): X`: the value with the given fields and
 * every other field at its zero value. Services build values with it instead
 * of object literals, so a field added to the schema never breaks their code.
 */
export function emitCreate(f: GeneratedFile, message: DescMessage): void {
  const type = typeSymbol(message);
  const name = constructorName(message);
  f.declare(name);
  f.print("/**");
  f.print(` * A \`${message.typeName}\` with the given fields and every other field at its zero value:`);
  f.print(" * unlike an object literal, a call keeps compiling when the schema gains a field.");
  f.print(" */");
  f.print("export function ", name, "(init?: Partial<", type, ">): ", type, " {");
  f.print("  const m = ", creatorSymbol(message), "();");
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
