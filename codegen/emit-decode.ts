import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { objectWeight as weightOf, Work } from "../src/codec/work.js";
import { isPackable, runtimeSymbol, scalars, tagOf, valueKind, Wire, wireOf, type ValueKind } from "./codec-kinds.js";
import { rangeChecks } from "./emit-encode.js";
import { creatorSymbol, decoderSymbol, oneofPropertyName, propertyName, typeSymbol } from "./naming.js";
import type { GeneratedFile, Printable } from "./printer.js";

/**
 * Expression reading one value of `kind`. Message values take `previous`,
 * the value decoded so far for the same field, and merge into it: a message
 * field that occurs twice on the wire is merged, not replaced.
 */
function readValue(kind: ValueKind, previous?: string): Printable[] {
  const prev = previous === undefined ? "" : `, ${previous}`;
  switch (kind.kind) {
    case "scalar":
      return [`r.${kind.scalar.read}()`];
    case "message":
      return [decoderSymbol(kind.message), `(r, r.end()${prev})`];
    case "wkt":
      return [kind.wkt.decode, `(r, r.end()${prev})`];
  }
}

/** Work units (src/codec/work.ts, `objectWeight`) a decoder charges for a new `message` object. */
export function objectWeight(message: DescMessage): number {
  const count = (test: (field: DescField) => boolean): number => message.fields.filter(test).length;
  return weightOf({
    fields: message.fields.length,
    maps: count((f) => f.fieldKind === "map"),
    lists: count((f) => f.fieldKind === "list"),
    bytes: count((f) => f.fieldKind === "scalar" && f.scalar === ScalarType.BYTES && !f.proto.proto3Optional && f.oneof === undefined),
  });
}

/** Bytes per element of a packed field of this kind, or 0 for varints (see `Reader.packed`). */
function packedWidth(kind: ValueKind): number {
  if (kind.kind !== "scalar") return 0;
  return kind.scalar.wire === Wire.Fixed32 ? 4 : kind.scalar.wire === Wire.Fixed64 ? 8 : 0;
}

/**
 * Prints `decodeX`: unknown fields are kept, message fields merge, malformed
 * bytes throw, and the reader's work budget is charged for the object, each
 * map entry and each packed element (the reader charges fields and strings).
 */
export function emitDecoder(f: GeneratedFile, message: DescMessage, type: Printable): void {
  f.print(`/** Reads \`${message.typeName}\` from \`r\` up to \`end\`, merging into \`m\`; malformed bytes throw, and so does a value over the reader's work budget. */`);
  f.print("export function ", decoderSymbol(message).name, "(r: ", runtimeSymbol("Reader", true), ", end: number, m: ", type, " = ", creatorSymbol(message), "()): ", type, " {");
  f.print(`  r.enter(${objectWeight(message)});`);
  f.print("  while (r.pos < end) {");
  f.print("    const t = r.tag();");
  f.print("    switch (t) {");
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) emitField(f, field);
  f.print("      default:");
  f.print("        r.unknown(t);");
  f.print("    }");
  f.print("  }");
  const ranges = rangeChecks[message.typeName];
  if (ranges !== undefined) f.print("  ", runtimeSymbol(ranges), "(m);");
  f.print("  r.leave(end, m);");
  f.print("  return m;");
  f.print("}");
  f.print();
}

function emitField(f: GeneratedFile, field: DescField): void {
  const name = `m.${propertyName(field)}`;
  const kind = valueKind(field);
  const tag = tagOf(field.number, wireOf(kind));
  if (field.fieldKind === "map") {
    emitMapEntry(f, field, name, kind);
  } else if (field.fieldKind === "list") {
    f.print(`      case ${tag}:`);
    f.print(`        ${name}.push(`, readValue(kind), ");");
    f.print("        break;");
    if (isPackable(kind)) {
      f.print(`      case ${tagOf(field.number, Wire.Len)}: {`);
      f.print(`        const e = r.packed(${packedWidth(kind)});`);
      f.print(`        while (r.pos < e) ${name}.push(`, readValue(kind), ");");
      f.print("        r.check(e);");
      f.print("        break;");
      f.print("      }");
    }
  } else if (field.oneof !== undefined && !field.proto.proto3Optional) {
    const prop = propertyName(field);
    const group = `m.${oneofPropertyName(field.oneof)}`;
    f.print(`      case ${tag}:`);
    if (kind.kind === "scalar") {
      f.print(`        ${group} = { $case: "${prop}", ${prop}: `, readValue(kind), " };");
    } else {
      f.print(`        ${group} = { $case: "${prop}", ${prop}: `, readValue(kind, `${group}?.$case === "${prop}" ? ${group}.${prop} : undefined`), " };");
    }
    f.print("        break;");
  } else {
    f.print(`      case ${tag}:`);
    f.print(`        ${name} = `, readValue(kind, kind.kind === "scalar" ? undefined : name), ";");
    f.print("        break;");
  }
}

function emitMapEntry(f: GeneratedFile, field: DescField & { fieldKind: "map" }, name: string, kind: ValueKind): void {
  const key = scalars[field.mapKey];
  f.print(`      case ${tagOf(field.number, Wire.Len)}: {`);
  f.print(`        const e = r.entry(${Work.mapEntry});`);
  f.print(`        let k = ${key.zero};`);
  switch (kind.kind) {
    case "scalar":
      if (kind.type === "enum" && field.mapKind === "enum") f.print("        let v: ", typeSymbol(field.enum), ` = ${kind.scalar.zero};`);
      else if (kind.scalar.write === "bytes") f.print(`        let v: Uint8Array = ${kind.scalar.zero};`);
      else f.print(`        let v = ${kind.scalar.zero};`);
      break;
    case "message":
      f.print("        let v: ", typeSymbol(kind.message), " | undefined;");
      break;
    case "wkt":
      f.print(`        let v: ${kind.wkt.tsType} | undefined;`);
      break;
  }
  f.print("        while (r.pos < e) {");
  f.print("          const et = r.tag();");
  f.print(`          if (et === ${tagOf(1, key.wire)}) k = r.${key.read}();`);
  f.print(`          else if (et === ${tagOf(2, wireOf(kind))}) v = `, readValue(kind, kind.kind === "scalar" ? undefined : "v"), ";");
  f.print("          else r.skipField(et);");
  f.print("        }");
  f.print("        r.check(e);");
  if (kind.kind === "message") {
    // An entry without its value gets a new object, charged as its decoder would.
    f.print(`        if (v === undefined) { r.charge(${objectWeight(kind.message)}); v = `, creatorSymbol(kind.message), "(); }");
    f.print(`        ${name}.set(k, v);`);
  } else if (kind.kind === "wkt" && kind.wkt.empty === undefined) f.print(`        if (v !== undefined) ${name}.set(k, v);`);
  else if (kind.kind === "wkt") f.print(`        ${name}.set(k, v ?? ${kind.wkt.empty});`);
  else f.print(`        ${name}.set(k, v);`);
  f.print("        break;");
  f.print("      }");
}
