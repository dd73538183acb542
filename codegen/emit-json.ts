import { ScalarType, type DescEnum, type DescField, type DescMessage, type DescOneof } from "@bufbuild/protobuf";
import { presentCondition, runtimeSymbol, valueKind, type ValueKind } from "./codec-kinds.js";
import { creatorSymbol, decoderSymbol, encoderSymbol, fromJsonSymbol, oneofPropertyName, propertyName, toJsonSymbol, tsTypeName, typeSymbol } from "./naming.js";
import { inlineScalar } from "./json-inline.js";
import type { GeneratedFile, Printable } from "./printer.js";

/**
 * The proto3 JSON mapping, generated per message next to the binary codecs:
 * `toJsonX(m, options?)` returns a JSON-safe plain object (`JSON.stringify`
 * writes it as is) and `fromJsonX(json, options?)` reads a parsed JSON value
 * (`JSON.parse`'s result) into a new `X`. Straight-line code per field, like
 * the binary codecs; the runtime's JSON primitives (src/codec/json.ts) check
 * every value and name the field path in a `JsonError`. Nothing is shared
 * with the binary codecs but `newX`: a service that never calls these pays
 * nothing for them once bundled.
 */

const rt = runtimeSymbol;

/** The JSON reader and writer (runtime functions) of each scalar type. */
const scalarJson: Record<ScalarType, { read: string; write: string }> = {
  [ScalarType.DOUBLE]: { read: "jsonDouble", write: "doubleJson" },
  [ScalarType.FLOAT]: { read: "jsonFloat", write: "floatJson" },
  [ScalarType.INT64]: { read: "jsonInt64", write: "int64Json" },
  [ScalarType.UINT64]: { read: "jsonUint64", write: "uint64Json" },
  [ScalarType.INT32]: { read: "jsonInt32", write: "int32Json" },
  [ScalarType.FIXED64]: { read: "jsonUint64", write: "uint64Json" },
  [ScalarType.FIXED32]: { read: "jsonUint32", write: "uint32Json" },
  [ScalarType.BOOL]: { read: "jsonBool", write: "boolJson" },
  [ScalarType.STRING]: { read: "jsonString", write: "stringJson" },
  [ScalarType.BYTES]: { read: "jsonBytes", write: "bytesJson" },
  [ScalarType.UINT32]: { read: "jsonUint32", write: "uint32Json" },
  [ScalarType.SFIXED32]: { read: "jsonInt32", write: "int32Json" },
  [ScalarType.SFIXED64]: { read: "jsonInt64", write: "int64Json" },
  [ScalarType.SINT32]: { read: "jsonInt32", write: "int32Json" },
  [ScalarType.SINT64]: { read: "jsonInt64", write: "int64Json" },
};

/** The JSON reader and writer of each well-known type ts-proto unwraps (wrappers as their value). */
const wellKnownJson: Readonly<Record<string, { read: string; write: string }>> = {
  "google.protobuf.DoubleValue": scalarJson[ScalarType.DOUBLE],
  "google.protobuf.FloatValue": scalarJson[ScalarType.FLOAT],
  "google.protobuf.Int64Value": scalarJson[ScalarType.INT64],
  "google.protobuf.UInt64Value": scalarJson[ScalarType.UINT64],
  "google.protobuf.Int32Value": scalarJson[ScalarType.INT32],
  "google.protobuf.UInt32Value": scalarJson[ScalarType.UINT32],
  "google.protobuf.BoolValue": scalarJson[ScalarType.BOOL],
  "google.protobuf.StringValue": scalarJson[ScalarType.STRING],
  "google.protobuf.BytesValue": scalarJson[ScalarType.BYTES],
  "google.protobuf.Struct": { read: "jsonStruct", write: "structJson" },
  "google.protobuf.Value": { read: "jsonValue", write: "valueJson" },
  "google.protobuf.ListValue": { read: "jsonListValue", write: "listValueJson" },
  "google.protobuf.FieldMask": { read: "jsonFieldMask", write: "fieldMaskJson" },
};

/** Messages whose JSON form is a string, written and read by the runtime. */
const stringForms: Readonly<Record<string, { read: string; write: string }>> = {
  "google.protobuf.Timestamp": { read: "jsonTimestamp", write: "timestampJson" },
  "google.protobuf.Duration": { read: "jsonDuration", write: "durationJson" },
};

const NULL_VALUE = "google.protobuf.NullValue";

/** The enum of a field's values, if they are enums. */
function enumOf(field: DescField): DescEnum | undefined {
  if (field.fieldKind === "enum") return field.enum;
  if (field.fieldKind === "list" && field.listKind === "enum") return field.enum;
  if (field.fieldKind === "map" && field.mapKind === "enum") return field.enum;
  return undefined;
}

/** True when JSON `null` is a value of the field's values (google.protobuf.Value and NullValue), not "unset". */
function nullIsValue(field: DescField): boolean {
  const kind = valueKind(field);
  return enumOf(field)?.typeName === NULL_VALUE || (kind.kind === "wkt" && kind.wkt.typeName === "google.protobuf.Value");
}

const tables = new WeakMap<GeneratedFile, Set<string>>();

/** Names of the per-file tables of an enum's JSON names (number → first name, name → number), printed on first use. */
function enumTables(f: GeneratedFile, e: DescEnum): { names: string; values: string } {
  const base = tsTypeName(e);
  const names = `${base}$jsonNames`;
  const values = `${base}$jsonValues`;
  let printed = tables.get(f);
  if (printed === undefined) tables.set(f, (printed = new Set()));
  if (!printed.has(base)) {
    printed.add(base);
    f.declare(names, values);
    const first = new Map<number, string>();
    for (const v of e.values) if (!first.has(v.number)) first.set(v.number, v.name);
    f.print(`/** \`${e.typeName}\` numbers to their (first) JSON names. */`);
    f.print(`const ${names}: ReadonlyMap<number, string> = /*@__PURE__*/ new Map([${[...first].map(([n, s]) => `[${n}, ${JSON.stringify(s)}]`).join(", ")}]);`);
    f.print(`/** \`${e.typeName}\` JSON names (every alias) to numbers. */`);
    f.print(`const ${values}: ReadonlyMap<string, number> = /*@__PURE__*/ new Map([${e.values.map((v) => `[${JSON.stringify(v.name)}, ${v.number}]`).join(", ")}]);`);
    f.print();
  }
  return { names, values };
}

/** The JSON form of a message, if it is not an object of fields. */
function specialForm(message: DescMessage): "string" | "any" | undefined {
  if (stringForms[message.typeName] !== undefined) return "string";
  if (message.typeName === "google.protobuf.Any") return "any";
  return undefined;
}

/** Prints `toJsonX` and `fromJsonX` for one message. */
export function emitJson(f: GeneratedFile, message: DescMessage, anyTypes: readonly DescMessage[]): void {
  const enums = new Set<DescEnum>();
  for (const field of message.fields) {
    const e = enumOf(field);
    if (e !== undefined && e.typeName !== NULL_VALUE) enums.add(e);
  }
  for (const e of enums) enumTables(f, e);
  f.declare(toJsonSymbol(message).name, fromJsonSymbol(message).name);
  const form = specialForm(message);
  if (form === "string") emitStringForm(f, message);
  else if (form === "any") emitAny(f, message, anyTypes);
  else {
    emitToJson(f, message);
    emitFromJson(f, message);
  }
}

function emitStringForm(f: GeneratedFile, message: DescMessage): void {
  const type = typeSymbol(message);
  const io = stringForms[message.typeName] as { read: string; write: string };
  f.print(`/** \`${message.typeName}\` as proto3 JSON: a string. */`);
  f.print("export function ", toJsonSymbol(message).name, "(m: ", type, ", _o?: ", rt("ToJsonOptions", true), ', at = "", depth = 0): string {');
  f.print("  ", rt("checkJsonMessage"), `(m, at, ${JSON.stringify(message.typeName)}, depth);`);
  f.print("  return ", rt(io.write), "(m, at);");
  f.print("}");
  f.print();
  f.print(`/** \`${message.typeName}\` from proto3 JSON (a string); anything else throws \`JsonError\`. */`);
  f.print("export function ", fromJsonSymbol(message).name, "(j: unknown, _o?: ", rt("FromJsonOptions", true), ', at = "", _depth = 0): ', type, " {");
  f.print("  const m = ", creatorSymbol(message), "();");
  f.print("  const v = ", rt(io.read), '(j, at, "");');
  f.print("  m.seconds = v.seconds;");
  f.print("  m.nanos = v.nanos;");
  f.print("  return m;");
  f.print("}");
  f.print();
}

/** Well-known messages generated as ordinary messages whose JSON form is their own: packed in Any as `{"@type", "value"}`. */
const wrappedInAny = new Set(["google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.Any"]);

/**
 * `google.protobuf.Any`: `{"@type": url, ...fields}` (or `"value"` for the
 * well-known types with a JSON form of their own). The packed type is found
 * by the last segment of its URL in a table of every message this project
 * generates plus the well-known types; `@type` naming anything else throws.
 */
function emitAny(f: GeneratedFile, message: DescMessage, anyTypes: readonly DescMessage[]): void {
  const type = typeSymbol(message);
  f.declare("anyJsonTypes");
  f.print("/** The types an Any may pack in JSON: every message this project generates and the well-known types. */");
  f.print("const anyJsonTypes: ReadonlyMap<string, ", rt("AnyJsonType", true), "> = /*@__PURE__*/ new Map([");
  f.print("  .../*@__PURE__*/ ", rt("wellKnownAnyTypes"), "(),");
  for (const m of anyTypes) {
    f.print(`  [${JSON.stringify(m.typeName)}, { encode: `, encoderSymbol(m), ", decode: ", decoderSymbol(m), ", toJson: ", toJsonSymbol(m), ", fromJson: ", fromJsonSymbol(m), `, wrapped: ${wrappedInAny.has(m.typeName)} }],`);
  }
  f.print("]);");
  f.print();
  f.print(`/** \`${message.typeName}\` as proto3 JSON: \`{"@type": url, ...fields}\`, or \`"value"\` for well-known types; a type this project does not generate throws \`JsonError\`. */`);
  f.print("export function ", toJsonSymbol(message).name, "(m: ", type, ", o?: ", rt("ToJsonOptions", true), ', at = "", depth = 0): ', rt("JsonObject", true), " {");
  f.print("  ", rt("checkJsonMessage"), `(m, at, ${JSON.stringify(message.typeName)}, depth);`);
  f.print("  return ", rt("anyJson"), "(m, anyJsonTypes, o, at, depth);");
  f.print("}");
  f.print();
  f.print(`/** \`${message.typeName}\` from proto3 JSON: \`"@type"\` names a message this project generates or a well-known type; the rest is packed as its binary form. */`);
  f.print("export function ", fromJsonSymbol(message).name, "(j: unknown, o?: ", rt("FromJsonOptions", true), ', at = "", depth = 0): ', type, " {");
  f.print("  const v = ", rt("jsonAny"), "(j, anyJsonTypes, o, at, depth);");
  f.print("  const m = ", creatorSymbol(message), "();");
  f.print("  m.typeUrl = v.typeUrl;");
  f.print("  m.value = v.value;");
  f.print("  return m;");
  f.print("}");
  f.print();
}

// ------------------------------------------------------------------ toJson

/** The JSON key of a field: both names when they differ (`p` is `useProtoFieldName`). */
function keyOf(field: DescField): string {
  const json = field.proto.jsonName !== "" ? field.proto.jsonName : field.jsonName;
  return json === field.name ? JSON.stringify(json) : `p ? ${JSON.stringify(field.name)} : ${JSON.stringify(json)}`;
}

/** Expression writing one value `v` of the field's value kind; `at` and `step` locate it for errors. */
function writeValue(f: GeneratedFile, field: DescField, kind: ValueKind, v: string, at: string, step: string): Printable[] {
  const e = enumOf(field);
  if (e?.typeName === NULL_VALUE) return [rt("nullValueJson"), `(${v}, ${at}, ${step})`];
  if (e !== undefined) return [rt("enumJson"), `(${v}, ${at}, ${step}, ${enumTables(f, e).names}, o?.enumAsInteger)`];
  switch (kind.kind) {
    case "scalar":
      return [rt(scalarJson[kind.type as ScalarType].write), `(${v}, ${at}, ${step})`];
    case "message":
      return [toJsonSymbol(kind.message), `(${v}, o, `, rt("jsonPath"), `(${at}, ${step}), depth + 1)`];
    case "wkt":
      return [rt((wellKnownJson[kind.wkt.typeName] as { write: string }).write), `(${v}, ${at}, ${step})`];
  }
}

/** Like {@link writeValue}, with the error step `step` (an expression building a string) evaluated only for a value the inline check refuses. */
function writeValueLazily(f: GeneratedFile, field: DescField, kind: ValueKind, v: string, at: string, step: string): Printable[] {
  const e = enumOf(field);
  if (e !== undefined && e.typeName !== NULL_VALUE) {
    const names = enumTables(f, e).names;
    return [`(${v} | 0) === ${v} && o?.enumAsInteger !== true ? (${names}.get(${v}) ?? ${v}) : `, writeValue(f, field, kind, v, at, step)];
  }
  const inline = e === undefined && kind.kind === "scalar" ? inlineScalar(kind.type as ScalarType, v) : undefined;
  if (inline === undefined) return writeValue(f, field, kind, v, at, step);
  return [...inline.check, ` ? ${inline.out} : `, writeValue(f, field, kind, v, at, step)];
}

function emitToJson(f: GeneratedFile, message: DescMessage): void {
  const type = typeSymbol(message);
  const fields = [...message.fields].sort((a, b) => a.number - b.number);
  const usesDefaults = fields.some((x) => x.oneof === undefined && !x.proto.proto3Optional && (x.fieldKind === "list" || x.fieldKind === "map" || x.fieldKind === "scalar" || x.fieldKind === "enum"));
  const usesProtoNames = fields.some((x) => keyOf(x).startsWith("p ?"));
  const jsonObject = rt("JsonObject", true);
  f.print(`/**`);
  f.print(` * \`${message.typeName}\` as proto3 JSON: a plain object \`JSON.stringify\` writes as is (int64 as decimal strings,`);
  f.print(" * bytes as base64, enums by name, NaN and ±Infinity as strings). A value that does not fit its field throws `JsonError`.");
  f.print(" */");
  f.print("export function ", toJsonSymbol(message).name, "(m: ", type, ", o?: ", rt("ToJsonOptions", true), ', at = "", depth = 0): ', jsonObject, " {");
  f.print("  ", rt("checkJsonMessage"), `(m, at, ${JSON.stringify(message.typeName)}, depth);`);
  if (fields.length === 0) {
    f.print("  void o;");
    f.print("  return {};");
    f.print("}");
    f.print();
    return;
  }
  if (usesDefaults) f.print("  const d = o?.emitDefaultValues === true;");
  if (usesProtoNames) f.print("  const p = o?.useProtoFieldName === true;");
  f.print("  const j: ", jsonObject, " = {};");
  const done = new Set<DescOneof>();
  for (const field of fields) {
    if (field.oneof !== undefined && !field.proto.proto3Optional) {
      if (!done.has(field.oneof)) {
        done.add(field.oneof);
        emitOneofToJson(f, field.oneof);
      }
      continue;
    }
    const name = propertyName(field);
    const step = JSON.stringify(name);
    const kind = valueKind(field);
    const v = `f${field.number}`;
    const key = keyOf(field);
    f.print(`  const ${v} = m.${name};`);
    if (field.fieldKind === "list") {
      f.print(`  if (!Array.isArray(${v})) throw `, rt("toJsonError"), `(at, ${step}, "array", ${v});`);
      f.print(`  if (d || ${v}.length !== 0) {`);
      f.print(`    const at${field.number} = `, rt("jsonPath"), `(at, ${step});`);
      f.print("    const a: ", rt("Json", true), "[] = [];");
      f.print("    let i = 0;");
      f.print(`    for (const e of ${v}) a.push(`, writeValue(f, field, kind, "e", `at${field.number}`, "i++"), ");");
      f.print(`    j[${key}] = a;`);
      f.print("  }");
    } else if (field.fieldKind === "map") {
      const keyWrite = scalarJson[field.mapKey].write;
      f.print(`  if (!(${v} instanceof Map)) throw `, rt("toJsonError"), `(at, ${step}, "Map", ${v});`);
      f.print(`  if (d || ${v}.size !== 0) {`);
      f.print(`    const at${field.number} = `, rt("jsonPath"), `(at, ${step});`);
      f.print("    const e: ", jsonObject, " = {};");
      f.print(`    for (const [k, v] of ${v}) {`);
      if (kind.kind === "wkt") f.print("      if (v === undefined) continue;");
      // The key's path step (`["k"]`) is built only for an error: an inline check accepts the usual keys and values.
      const keyStep = f.render([rt("jsonKeyStep"), "(k)"]);
      const keyInline = inlineScalar(field.mapKey, "k");
      const keyOut = field.mapKey === ScalarType.STRING ? "k" : "String(k)";
      // int32, uint32 and bool writers return numbers and booleans; the others strings.
      const keyNumeric = !["stringJson", "int64Json", "uint64Json"].includes(keyWrite);
      const keySlow: Printable[] = [keyNumeric ? "String(" : "", rt(keyWrite), `(k, at${field.number}, ${keyStep})`, keyNumeric ? ")" : ""];
      f.print("      const key = ", keyInline === undefined ? keySlow : [...keyInline.check, ` ? ${keyOut} : `, keySlow], ";");
      f.print("      const x = ", writeValueLazily(f, field, kind, "v", `at${field.number}`, keyStep), ";");
      // Only a string key can be "__proto__" (an own property of the JSON object like any other key).
      if (field.mapKey === ScalarType.STRING) {
        f.print('      if (key === "__proto__") ', rt("jsonSet"), "(e, key, x);");
        f.print("      else e[key] = x;");
      } else f.print("      e[key] = x;");
      f.print("    }");
      f.print(`    j[${key}] = e;`);
      f.print("  }");
    } else if (field.proto.proto3Optional || kind.kind !== "scalar") {
      f.print(`  if (${v} !== undefined) j[${key}] = `, writeValue(f, field, kind, v, "at", step), ";");
    } else {
      f.print(`  if (d || ${presentCondition(kind, v, "unchecked")}) j[${key}] = `, writeValue(f, field, kind, v, "at", step), ";");
    }
  }
  f.print("  return j;");
  f.print("}");
  f.print();
}

function emitOneofToJson(f: GeneratedFile, oneof: DescOneof): void {
  const name = oneofPropertyName(oneof);
  const o = `o${oneof.fields[0]?.number ?? 0}`;
  const cases = oneof.fields.map((x) => JSON.stringify(propertyName(x))).join(" | ");
  f.print(`  const ${o} = m.${name};`);
  f.print(`  if (${o} !== undefined) {`);
  f.print(`    if (typeof ${o} !== "object" || ${o} === null) throw `, rt("toJsonError"), `(at, ${JSON.stringify(name)}, ${JSON.stringify(`{ $case: ${cases}, ... }`)}, ${o});`);
  f.print(`    switch (${o}.$case) {`);
  for (const field of oneof.fields) {
    const prop = propertyName(field);
    const kind = valueKind(field);
    const v = kind.kind === "wkt" && kind.wkt.empty !== undefined ? `(${o}.${prop} ?? ${kind.wkt.empty})` : `${o}.${prop}`;
    f.print(`      case "${prop}":`);
    f.print(`        j[${keyOf(field)}] = `, writeValue(f, field, kind, v, "at", JSON.stringify(prop)), ";");
    f.print("        break;");
  }
  f.print("      default:");
  f.print("        throw ", rt("toJsonError"), `(at, ${JSON.stringify(name)}, ${JSON.stringify(`$case ${cases}`)}, (${o} as { $case: unknown }).$case);`);
  f.print("    }");
  f.print("  }");
}

// ------------------------------------------------------------------ fromJson

/**
 * Statements reading one non-null JSON value `v` of the field's value kind
 * and handing the result to `use` (an enum name the schema lacks, with
 * `ignoreUnknownFields`, hands nothing).
 */
function readValue(f: GeneratedFile, field: DescField, kind: ValueKind, v: string, at: string, step: string, use: (value: string) => Printable[]): Printable[] {
  const e = enumOf(field);
  if (e?.typeName === NULL_VALUE) {
    return [`{ const x = ${v} === null ? 0 : `, rt("jsonEnum"), `(${v}, ${at}, ${step}, `, rt("nullValueNames"), `, o?.ignoreUnknownFields); if (x !== undefined) { `, use("x"), " } }"];
  }
  if (e !== undefined) {
    return [`{ const x = `, rt("jsonEnum"), `(${v}, ${at}, ${step}, ${enumTables(f, e).values}, o?.ignoreUnknownFields); if (x !== undefined) { `, use("x"), " } }"];
  }
  let expr: Printable[];
  switch (kind.kind) {
    case "scalar":
      expr = [rt(scalarJson[kind.type as ScalarType].read), `(${v}, ${at}, ${step})`];
      break;
    case "message":
      expr = [fromJsonSymbol(kind.message), `(${v}, o, `, rt("jsonPath"), `(${at}, ${step}), depth + 1)`];
      break;
    case "wkt":
      expr = [rt((wellKnownJson[kind.wkt.typeName] as { read: string }).read), `(${v}, ${at}, ${step})`];
      break;
  }
  return use(f.render(expr));
}

function emitFromJson(f: GeneratedFile, message: DescMessage): void {
  const type = typeSymbol(message);
  const fields = [...message.fields].sort((a, b) => a.number - b.number);
  f.print(`/**`);
  f.print(` * \`${message.typeName}\` from proto3 JSON (a value \`JSON.parse\` returned): lowerCamelCase and .proto field names,`);
  f.print(" * null as the field's default. Input that does not follow the mapping throws `JsonError` naming the field path.");
  f.print(" */");
  f.print("export function ", fromJsonSymbol(message).name, "(j: unknown, o?: ", rt("FromJsonOptions", true), ', at = "", depth = 0): ', type, " {");
  f.print("  const obj = ", rt("jsonMessage"), "(j, at, depth);");
  f.print("  const m = ", creatorSymbol(message), "();");
  for (const field of fields) {
    if (field.oneof !== undefined && !field.proto.proto3Optional) continue;
    if (keyOf(field).startsWith("p ?")) f.print(`  let s${field.number} = false;`);
  }
  for (const oneof of message.oneofs.filter((x) => !x.fields.some((y) => y.proto.proto3Optional))) f.print(`  let c${oneof.fields[0]?.number ?? 0}: string | undefined;`);
  f.print("  for (const k of Object.keys(obj)) {");
  f.print("    const v = obj[k];");
  f.print("    switch (k) {");
  for (const field of fields) emitFieldFromJson(f, field);
  f.print("      default:");
  f.print("        if (o?.ignoreUnknownFields !== true) throw ", rt("unknownJsonField"), `(at, k, ${JSON.stringify(message.typeName)});`);
  f.print("    }");
  f.print("  }");
  f.print("  return m;");
  f.print("}");
  f.print();
}

function emitFieldFromJson(f: GeneratedFile, field: DescField): void {
  const json = propertyName(field);
  const kind = valueKind(field);
  const names = json === field.name ? [json] : [json, field.name];
  for (const n of names) f.print(`      case ${JSON.stringify(n)}:`);
  const nullable = !nullIsValue(field);
  const guard = nullable ? "if (v !== null) " : "";
  if (field.oneof !== undefined && !field.proto.proto3Optional) {
    const c = `c${field.oneof.fields[0]?.number ?? 0}`;
    const group = oneofPropertyName(field.oneof);
    f.print(`        ${guard}{`);
    f.print(`          if (${c} !== undefined) throw `, rt("duplicateJsonField"), `(at, k, ${c});`);
    f.print(`          ${c} = k;`);
    f.print("          ", readValue(f, field, kind, "v", "at", "k", (x) => [`m.${group} = { $case: "${json}", ${json}: ${x} };`]));
    f.print("        }");
    f.print("        break;");
    return;
  }
  if (names.length > 1) {
    f.print(`        if (s${field.number}) throw `, rt("duplicateJsonField"), `(at, k, ${JSON.stringify(names.join(" or "))});`);
    f.print(`        s${field.number} = true;`);
  }
  if (field.fieldKind === "list") {
    f.print("        if (v !== null) {");
    f.print("          const a = ", rt("jsonArray"), "(v, at, k);");
    f.print("          const p = ", rt("jsonPath"), "(at, k);");
    f.print("          for (let i = 0; i < a.length; i++) {");
    f.print("            const e = a[i];");
    if (nullable) f.print("            if (e === null) throw ", rt("nullJsonValue"), "(p, i);");
    f.print("            ", readValue(f, field, kind, "e", "p", "i", (x) => [`m.${json}.push(${x});`]));
    f.print("          }");
    f.print("        }");
  } else if (field.fieldKind === "map") {
    const keyRead = field.mapKey === ScalarType.BOOL ? "jsonKeyBool" : scalarJson[field.mapKey].read;
    const keyArgs = field.mapKey === ScalarType.BOOL ? "(key, p)" : "(key, p, s)";
    f.print("        if (v !== null) {");
    f.print("          const mo = ", rt("jsonObject"), "(v, at, k);");
    f.print("          const p = ", rt("jsonPath"), "(at, k);");
    f.print("          for (const key of Object.keys(mo)) {");
    f.print("            const e = mo[key];");
    f.print("            const s = ", rt("jsonKeyStep"), "(key);");
    if (nullable) f.print("            if (e === null) throw ", rt("nullJsonValue"), "(p, s);");
    f.print("            ", readValue(f, field, kind, "e", "p", "s", (x) => [`m.${json}.set(`, rt(keyRead), `${keyArgs}, ${x});`]));
    f.print("          }");
    f.print("        }");
  } else {
    f.print(`        ${guard}`, readValue(f, field, kind, "v", "at", "k", (x) => [`m.${json} = ${x};`]));
  }
  f.print("        break;");
}
