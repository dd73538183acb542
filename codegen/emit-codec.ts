import { ScalarType, type DescField, type DescMessage, type DescOneof } from "@bufbuild/protobuf";
import { creatorSymbol, decoderSymbol, encoderSymbol, oneofPropertyName, propertyName, typeSymbol } from "./naming.js";
import { symbol, type GeneratedFile, type Printable } from "./printer.js";

const runtime = { kind: "runtime" } as const;
const Writer = symbol("Writer", runtime, true);
const Reader = symbol("Reader", runtime, true);

const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Len = 2,
  Fixed32 = 5,
}

interface ScalarInfo {
  readonly wire: Wire;
  readonly write: string;
  readonly read: string;
  readonly zero: string;
}

const scalars: Record<ScalarType, ScalarInfo> = {
  [ScalarType.DOUBLE]: { wire: Wire.Fixed64, write: "double", read: "double", zero: "0" },
  [ScalarType.FLOAT]: { wire: Wire.Fixed32, write: "float", read: "float", zero: "0" },
  [ScalarType.INT64]: { wire: Wire.Varint, write: "int64", read: "int64", zero: "0n" },
  [ScalarType.UINT64]: { wire: Wire.Varint, write: "int64", read: "uint64", zero: "0n" },
  [ScalarType.INT32]: { wire: Wire.Varint, write: "int32", read: "int32", zero: "0" },
  [ScalarType.FIXED64]: { wire: Wire.Fixed64, write: "fixed64", read: "fixed64", zero: "0n" },
  [ScalarType.FIXED32]: { wire: Wire.Fixed32, write: "fixed32", read: "fixed32", zero: "0" },
  [ScalarType.BOOL]: { wire: Wire.Varint, write: "bool", read: "bool", zero: "false" },
  [ScalarType.STRING]: { wire: Wire.Len, write: "string", read: "string", zero: '""' },
  [ScalarType.BYTES]: { wire: Wire.Len, write: "bytes", read: "bytes", zero: "new Uint8Array(0)" },
  [ScalarType.UINT32]: { wire: Wire.Varint, write: "uint32", read: "uint32", zero: "0" },
  [ScalarType.SFIXED32]: { wire: Wire.Fixed32, write: "sfixed32", read: "sfixed32", zero: "0" },
  [ScalarType.SFIXED64]: { wire: Wire.Fixed64, write: "fixed64", read: "sfixed64", zero: "0n" },
  [ScalarType.SINT32]: { wire: Wire.Varint, write: "sint32", read: "sint32", zero: "0" },
  [ScalarType.SINT64]: { wire: Wire.Varint, write: "sint64", read: "sint64", zero: "0n" },
};

const enumInfo: ScalarInfo = { wire: Wire.Varint, write: "int32", read: "int32", zero: "0" };

/** A field's value kind as seen by the codec: a scalar (enums are int32 on the wire) or a message. */
type ValueKind = { readonly scalar: ScalarInfo; readonly type: ScalarType | "enum" } | { readonly message: DescMessage };

function singularKind(field: DescField): ValueKind {
  switch (field.fieldKind) {
    case "scalar":
      return { scalar: scalars[field.scalar], type: field.scalar };
    case "enum":
      return { scalar: enumInfo, type: "enum" };
    case "message":
      return { message: field.message };
    case "list":
      if (field.listKind === "scalar") return { scalar: scalars[field.scalar], type: field.scalar };
      if (field.listKind === "enum") return { scalar: enumInfo, type: "enum" };
      return { message: field.message };
    case "map":
      if (field.mapKind === "scalar") return { scalar: scalars[field.scalar], type: field.scalar };
      if (field.mapKind === "enum") return { scalar: enumInfo, type: "enum" };
      return { message: field.message };
  }
}

function tagOf(number: number, wire: Wire): number {
  return number * 8 + wire;
}

/** Prints the statement that writes a tag: one byte when it fits. */
function writeTag(tag: number): string {
  return tag < 128 ? `w.byte(${tag});` : `w.uint32(${tag});`;
}

/** Statements writing `value` (an expression) with its tag. */
function writeValue(number: number, kind: ValueKind, value: string): Printable[] {
  if ("message" in kind) {
    return [
      `${writeTag(tagOf(number, Wire.Len))} { const at = w.fork(); `,
      encoderSymbol(kind.message),
      `(w, ${value}); w.join(at); }`,
    ];
  }
  return [`${writeTag(tagOf(number, kind.scalar.wire))} w.${kind.scalar.write}(${value});`];
}

/** Expression reading one value of this kind (message values read their length first). */
function readValue(kind: ValueKind): Printable[] {
  if ("message" in kind) return [decoderSymbol(kind.message), "(r, r.end())"];
  return [`r.${kind.scalar.read}()`];
}

/** Condition under which an implicit-presence scalar differs from its zero value. */
function nonZero(kind: ValueKind, value: string): string {
  if ("message" in kind) return `${value} !== undefined`;
  if (kind.type === ScalarType.BYTES) return `${value}.length !== 0`;
  if (kind.type === ScalarType.BOOL) return value;
  return `${value} !== ${kind.scalar.zero}`;
}

function isPackable(kind: ValueKind): boolean {
  return !("message" in kind) && kind.scalar.wire !== Wire.Len;
}

/** Prints `newX`, `encodeX` and `decodeX` for one message into `f`. */
export function emitCodec(f: GeneratedFile, message: DescMessage): void {
  const type = typeSymbol(message);
  const create = creatorSymbol(message);
  const encode = encoderSymbol(message);
  const decode = decoderSymbol(message);
  f.declare(create.name, encode.name, decode.name);

  f.print(`/** \`${message.typeName}\` with every field at its zero value. */`);
  f.print("export function ", create.name, "(): ", type, " {");
  f.print("  return {");
  for (const init of fieldInitializers(message)) f.print("    ", init);
  f.print("  };");
  f.print("}");
  f.print();

  f.print(`/** Writes \`${message.typeName}\` as protobuf binary, fields in number order. */`);
  f.print("export function ", encode.name, "(w: ", Writer, ", m: ", type, "): void {");
  for (const member of sortedMembers(message)) {
    if (member.kind === "oneof") emitEncodeOneof(f, member);
    else emitEncodeField(f, member);
  }
  f.print("  if (m._unknownFields !== undefined) w.unknownFields(m._unknownFields);");
  f.print("}");
  f.print();

  f.print(`/** Reads \`${message.typeName}\` from \`r\` up to \`end\`; malformed bytes throw. */`);
  f.print("export function ", decode.name, "(r: ", Reader, ", end: number): ", type, " {");
  f.print("  const m = ", create, "();");
  f.print("  while (r.pos < end) {");
  f.print("    const t = r.tag();");
  f.print("    switch (t) {");
  for (const field of [...message.fields].sort((a, b) => a.number - b.number)) emitDecodeField(f, field);
  f.print("      default:");
  f.print("        r.unknown(m, t);");
  f.print("    }");
  f.print("  }");
  f.print("  r.check(end);");
  f.print("  return m;");
  f.print("}");
  f.print();
}

function fieldInitializers(message: DescMessage): string[] {
  const parts: string[] = [];
  for (const member of message.members) {
    if (member.kind === "oneof") {
      parts.push(`${oneofPropertyName(member)}: undefined,`);
      continue;
    }
    const name = propertyName(member);
    if (member.proto.proto3Optional) parts.push(`${name}: undefined,`);
    else if (member.fieldKind === "list") parts.push(`${name}: [],`);
    else if (member.fieldKind === "map") parts.push(`${name}: new Map(),`);
    else if (member.fieldKind === "message") parts.push(`${name}: undefined,`);
    else {
      const kind = singularKind(member);
      parts.push(`${name}: ${"message" in kind ? "undefined" : kind.scalar.zero},`);
    }
  }
  return parts;
}

/** Fields and real oneofs in field-number order (a oneof sorts by its lowest member). */
function sortedMembers(message: DescMessage): (DescField | DescOneof)[] {
  const first = (m: DescField | DescOneof): number =>
    m.kind === "field" ? m.number : Math.min(...m.fields.map((f) => f.number));
  return [...message.members].sort((a, b) => first(a) - first(b));
}

function emitEncodeField(f: GeneratedFile, field: DescField): void {
  const name = `m.${propertyName(field)}`;
  const kind = singularKind(field);
  if (field.fieldKind === "map") {
    const keyInfo = scalars[field.mapKey];
    f.print(`  for (const [k, v] of ${name}) {`);
    f.print(`    ${writeTag(tagOf(field.number, Wire.Len))}`);
    f.print("    const at = w.fork();");
    f.print(`    ${writeTag(tagOf(1, keyInfo.wire))} w.${keyInfo.write}(k);`);
    f.print("    ", writeValue(2, kind, "v"));
    f.print("    w.join(at);");
    f.print("  }");
  } else if (field.fieldKind === "list") {
    if (field.packed && isPackable(kind)) {
      f.print(`  if (${name}.length !== 0) {`);
      f.print(`    ${writeTag(tagOf(field.number, Wire.Len))}`);
      f.print("    const at = w.fork();");
      f.print(`    for (const v of ${name}) w.${"scalar" in kind ? kind.scalar.write : ""}(v);`);
      f.print("    w.join(at);");
      f.print("  }");
    } else {
      f.print(`  for (const v of ${name}) { `, writeValue(field.number, kind, "v"), " }");
    }
  } else if (field.proto.proto3Optional) {
    f.print(`  if (${name} !== undefined) { `, writeValue(field.number, kind, name), " }");
  } else {
    f.print(`  if (${nonZero(kind, name)}) { `, writeValue(field.number, kind, name), " }");
  }
}

function emitEncodeOneof(f: GeneratedFile, oneof: DescOneof): void {
  f.print(`  if (m.${oneofPropertyName(oneof)} !== undefined) {`);
  f.print(`    const o = m.${oneofPropertyName(oneof)};`);
  f.print("    switch (o.$case) {");
  for (const field of oneof.fields) {
    const prop = propertyName(field);
    f.print(`      case "${prop}":`);
    f.print("        ", writeValue(field.number, singularKind(field), `o.${prop}`));
    f.print("        break;");
  }
  f.print("    }");
  f.print("  }");
}

function emitDecodeField(f: GeneratedFile, field: DescField): void {
  const name = `m.${propertyName(field)}`;
  const kind = singularKind(field);
  const wire = "message" in kind ? Wire.Len : kind.scalar.wire;
  if (field.fieldKind === "map") {
    emitDecodeMapEntry(f, field, name, kind);
  } else if (field.fieldKind === "list") {
    f.print(`      case ${tagOf(field.number, wire)}:`);
    f.print(`        ${name}.push(`, readValue(kind), ");");
    f.print("        break;");
    if (isPackable(kind)) {
      f.print(`      case ${tagOf(field.number, Wire.Len)}: {`);
      f.print("        const e = r.end();");
      f.print(`        while (r.pos < e) ${name}.push(`, readValue(kind), ");");
      f.print("        r.check(e);");
      f.print("        break;");
      f.print("      }");
    }
  } else if (field.oneof !== undefined && !field.proto.proto3Optional) {
    const prop = propertyName(field);
    f.print(`      case ${tagOf(field.number, wire)}:`);
    f.print(`        m.${oneofPropertyName(field.oneof)} = { $case: "${prop}", ${prop}: `, readValue(kind), " };");
    f.print("        break;");
  } else {
    f.print(`      case ${tagOf(field.number, wire)}:`);
    f.print(`        ${name} = `, readValue(kind), ";");
    f.print("        break;");
  }
}

function emitDecodeMapEntry(f: GeneratedFile, field: DescField & { fieldKind: "map" }, name: string, kind: ValueKind): void {
  const keyInfo = scalars[field.mapKey];
  const valueWire = "message" in kind ? Wire.Len : kind.scalar.wire;
  const valueZero: Printable[] = "message" in kind ? [creatorSymbol(kind.message), "()"] : [kind.scalar.zero];
  const valueType: Printable[] = "message" in kind ? [typeSymbol(kind.message)] : field.mapKind === "enum" ? [typeSymbol(field.enum)] : [];
  f.print(`      case ${tagOf(field.number, Wire.Len)}: {`);
  f.print("        const e = r.end();");
  f.print(`        let k = ${keyInfo.zero};`);
  if (valueType.length > 0) f.print("        let v: ", valueType, " | undefined;");
  else f.print(`        let v = ${"scalar" in kind ? kind.scalar.zero : ""};`);
  f.print("        while (r.pos < e) {");
  f.print("          const et = r.tag();");
  f.print(`          if (et === ${tagOf(1, keyInfo.wire)}) k = r.${keyInfo.read}();`);
  f.print(`          else if (et === ${tagOf(2, valueWire)}) v = `, readValue(kind), ";");
  f.print("          else r.skipField(et);");
  f.print("        }");
  f.print("        r.check(e);");
  f.print(`        ${name}.set(k, `, valueType.length > 0 ? ["v ?? ", valueZero] : "v", ");");
  f.print("        break;");
  f.print("      }");
}
