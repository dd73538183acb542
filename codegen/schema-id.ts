import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { closureOf } from "./closure.js";

/**
 * Canonical text of a message's descriptor closure: exactly what decides how
 * its bytes decode (full names, field names, numbers, types, labels, oneofs,
 * enum values), sorted; comments and options are left out. One line per item
 * so a diff of two encodings reads as a schema diff.
 */
export function canonicalClosure(root: DescMessage): string {
  const closure = closureOf(root);
  const lines = ["protocache-schema-id v1", `root ${root.typeName}`];
  for (const message of closure.messages) {
    if (message.proto.options?.mapEntry === true) continue;
    lines.push(`message ${message.typeName}`);
    for (const field of [...message.fields].sort((a, b) => a.number - b.number)) {
      lines.push(`  field ${field.number} ${field.name} ${label(field)} ${fieldType(field)}`);
    }
    for (const oneof of [...message.oneofs].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const members = oneof.fields.map((f) => f.number).sort((a, b) => a - b);
      lines.push(`  oneof ${oneof.name} ${members.join(",")}`);
    }
  }
  for (const e of closure.enums) lines.push(...enumLines(e));
  return lines.join("\n") + "\n";
}

/** Schema ID: the first 4 bytes (big-endian) of SHA-256 over {@link canonicalClosure}; never 0. */
export function schemaIdOf(root: DescMessage): number {
  return schemaIdOfText(canonicalClosure(root));
}

/** Hashes canonical text to an ID; a zero first word (odds 2^-32) falls to the next word. */
export function schemaIdOfText(text: string): number {
  const digest = createHash("sha256").update(text, "utf8").digest();
  for (let offset = 0; offset < digest.length; offset += 4) {
    const id = digest.readUInt32BE(offset);
    if (id !== 0) return id;
  }
  throw new Error("unreachable: SHA-256 digest of all zero words");
}

/** Renders an ID the way the lock and generated code spell it: `0x` and 8 hex digits. */
export function formatSchemaId(id: number): string {
  return `0x${id.toString(16).padStart(8, "0")}`;
}

/** A field's label and type as the canonical text spells them, e.g. `repeated message acme.Line`. */
export function fieldSignature(field: DescField): string {
  return `${label(field)} ${fieldType(field)}`;
}

function label(field: DescField): string {
  if (field.fieldKind === "list") return "repeated";
  if (field.fieldKind === "map") return "map";
  if (field.oneof !== undefined) return "oneof";
  return field.proto.proto3Optional ? "optional" : "singular";
}

function fieldType(field: DescField): string {
  switch (field.fieldKind) {
    case "scalar":
      return scalarName(field.scalar);
    case "enum":
      return `enum ${field.enum.typeName}`;
    case "message":
      return `message ${field.message.typeName}`;
    case "list":
      if (field.listKind === "scalar") return scalarName(field.scalar);
      if (field.listKind === "enum") return `enum ${field.enum.typeName}`;
      return `message ${field.message.typeName}`;
    case "map": {
      const key = scalarName(field.mapKey);
      if (field.mapKind === "scalar") return `<${key},${scalarName(field.scalar)}>`;
      if (field.mapKind === "enum") return `<${key},enum ${field.enum.typeName}>`;
      return `<${key},message ${field.message.typeName}>`;
    }
  }
}

function enumLines(e: DescEnum): string[] {
  const values = [...e.values].sort((a, b) => a.number - b.number || (a.name < b.name ? -1 : 1));
  return [`enum ${e.typeName}${e.open ? "" : " closed"}`, ...values.map((v) => `  value ${v.number} ${v.name}`)];
}

/** Lower-case proto name of a scalar type, as written in `.proto` files. */
export function scalarName(type: ScalarType): string {
  return ScalarType[type].toLowerCase();
}
