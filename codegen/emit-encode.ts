import type { DescField, DescMessage, DescOneof } from "@bufbuild/protobuf";
import { presentCondition, runtimeSymbol, scalars, tagOf, valueKind, Wire, wireOf, writeTag, isPackable, type ScalarInfo, type ValueKind } from "./codec-kinds.js";
import { encoderSymbol, oneofPropertyName, propertyName, tsTypeName } from "./naming.js";
import type { GeneratedFile, Printable } from "./printer.js";

const invalidField = runtimeSymbol("invalidField");

/**
 * Runtime checks of the value ranges a well-known message's definition gives: encoders run them after the
 * fields' type checks, decoders on the value read (what a reader returns, a writer writes back).
 */
export const rangeChecks: Readonly<Record<string, string>> = {
  "google.protobuf.Timestamp": "checkTimestamp",
  "google.protobuf.Duration": "checkDuration",
};

/** `throw invalidField(holder, "field", "expected", value);` */
function fail(holder: string, field: string, expected: string, value: string): Printable[] {
  return ["throw ", invalidField, `(${holder}, ${JSON.stringify(field)}, ${JSON.stringify(expected)}, ${value});`];
}

/** `if (<v is not valid>) throw ...;` for a scalar value. */
function checkScalar(scalar: ScalarInfo, v: string, holder: string, field: string): Printable[] {
  return ["if (", scalar.invalid(v), ") ", fail(holder, field, scalar.expected, v)];
}

/** `if (<v is not an object>) throw ...;` for a message value. */
function checkMessage(message: DescMessage, v: string, holder: string, field: string): Printable[] {
  return [`if (typeof ${v} !== "object" || ${v} === null) `, fail(holder, field, `${tsTypeName(message)} object`, v)];
}

/** The statement that validates one value `v` of `kind` (none for well-known types: their runtime codec validates). */
function checkValue(kind: ValueKind, v: string, holder: string, field: string): Printable[] | undefined {
  if (kind.kind === "scalar") return checkScalar(kind.scalar, v, holder, field);
  if (kind.kind === "message") return checkMessage(kind.message, v, holder, field);
  return undefined;
}

/** Statements writing one already validated value `v` of `kind` with its tag. */
function writeChecked(number: number, kind: ValueKind, v: string, holder: string, field: string): Printable[] {
  const tag = writeTag(tagOf(number, wireOf(kind)));
  switch (kind.kind) {
    case "scalar":
      return [`${tag} w.${kind.scalar.write}(${v});`];
    case "message":
      return [`${tag} { const at = w.fork(); `, encoderSymbol(kind.message), `(w, ${v}); w.join(at); }`];
    case "wkt":
      return [`${tag} { const at = w.fork(); `, kind.wkt.encode, `(w, ${v}, ${holder}, ${JSON.stringify(field)}); w.join(at); }`];
  }
}

/** Lines validating, then writing, one value `v` with its tag; `holder` and `field` say where it sits, for the error. */
function writeValue(number: number, kind: ValueKind, v: string, holder: string, field: string): Printable[][] {
  const check = checkValue(kind, v, holder, field);
  const write = writeChecked(number, kind, v, holder, field);
  return check === undefined ? [write] : [check, write];
}

/** The lines of {@link writeValue} on one line, for short blocks. */
function inline(lines: Printable[][]): Printable[] {
  return lines.flatMap((line, i) => (i === 0 ? line : [" ", ...line]));
}

/** Prints `encodeX`: fields in number order, each validated, then the kept unknown fields. */
export function emitEncoder(f: GeneratedFile, message: DescMessage, type: Printable, members: readonly (DescField | DescOneof)[]): void {
  f.print(`/** Writes \`${message.typeName}\` as protobuf binary, fields in number order; a value that does not fit its field throws. */`);
  f.print("export function ", encoderSymbol(message).name, "(w: ", runtimeSymbol("Writer", true), ", m: ", type, "): void {");
  f.print("  w.enter(m);");
  for (const member of members) {
    if (member.kind === "oneof") emitOneof(f, member);
    else emitField(f, member);
  }
  // Well-known types whose definitions restrict their values beyond the field types.
  const ranges = rangeChecks[message.typeName];
  if (ranges !== undefined) f.print("  ", runtimeSymbol(ranges), "(m);");
  f.print("  w.leave(m);");
  f.print("}");
  f.print();
}

function emitField(f: GeneratedFile, field: DescField): void {
  const name = propertyName(field);
  const v = `f${field.number}`;
  const kind = valueKind(field);
  f.print(`  const ${v} = m.${name};`);
  if (field.fieldKind === "map") {
    emitMap(f, field, v, kind);
  } else if (field.fieldKind === "list") {
    f.print(`  if (!Array.isArray(${v})) `, fail("m", name, "array", v));
    if (field.packed && isPackable(kind) && kind.kind === "scalar") {
      f.print(`  if (${v}.length !== 0) {`);
      f.print(`    ${writeTag(tagOf(field.number, Wire.Len))}`);
      f.print("    const at = w.fork();");
      f.print(`    for (const v of ${v}) { `, checkScalar(kind.scalar, "v", "m", name), ` w.${kind.scalar.write}(v); }`);
      f.print("    w.join(at);");
      f.print("  }");
    } else {
      f.print(`  for (const v of ${v}) { `, inline(writeValue(field.number, kind, "v", "m", name)), " }");
    }
  } else if (field.proto.proto3Optional || kind.kind !== "scalar") {
    f.print(`  if (${v} !== undefined) { `, inline(writeValue(field.number, kind, v, "m", name)), " }");
  } else if (kind.scalar.write === "bytes") {
    // Checked before its length is read.
    f.print("  ", checkScalar(kind.scalar, v, "m", name));
    f.print(`  if (${presentCondition(kind, v)}) { `, writeChecked(field.number, kind, v, "m", name), " }");
  } else {
    f.print(`  if (${presentCondition(kind, v)}) { `, inline(writeValue(field.number, kind, v, "m", name)), " }");
  }
}

function emitMap(f: GeneratedFile, field: DescField & { fieldKind: "map" }, v: string, kind: ValueKind): void {
  const name = propertyName(field);
  const key = scalars[field.mapKey];
  f.print(`  if (!(${v} instanceof Map)) `, fail("m", name, "Map", v));
  f.print(`  for (const [k, v] of ${v}) {`);
  f.print("    ", ["if (", key.invalid("k"), ") ", fail("m", name, `${key.expected} key`, "k")]);
  // ts-proto leaves out entries whose unwrapped well-known value is undefined; so does protocache.
  if (kind.kind === "wkt") f.print("    if (v === undefined) continue;");
  f.print(`    ${writeTag(tagOf(field.number, Wire.Len))}`);
  f.print("    const at = w.fork();");
  f.print(`    ${writeTag(tagOf(1, key.wire))} w.${key.write}(k);`);
  for (const line of writeValue(2, kind, "v", "m", name)) f.print("    ", line);
  f.print("    w.join(at);");
  f.print("  }");
}

function emitOneof(f: GeneratedFile, oneof: DescOneof): void {
  const name = oneofPropertyName(oneof);
  const cases = oneof.fields.map((field) => JSON.stringify(propertyName(field))).join(" | ");
  f.print(`  const o${oneof.fields[0]?.number ?? 0} = m.${name};`);
  const o = `o${oneof.fields[0]?.number ?? 0}`;
  f.print(`  if (${o} !== undefined) {`);
  f.print(`    if (typeof ${o} !== "object" || ${o} === null) `, fail("m", name, `{ $case: ${cases}, ... }`, o));
  f.print(`    switch (${o}.$case) {`);
  for (const field of oneof.fields) {
    const prop = propertyName(field);
    const kind = valueKind(field);
    f.print(`      case "${prop}": {`);
    f.print(`        const v = ${o}.${prop};`);
    if (kind.kind === "wkt") {
      // A selected member whose unwrapped value is undefined is written as the empty message.
      const tag = writeTag(tagOf(field.number, Wire.Len));
      f.print(`        ${tag} const at = w.fork(); if (v !== undefined) `, kind.wkt.encode, `(w, v, ${o}, ${JSON.stringify(prop)}); w.join(at);`);
    } else {
      for (const line of writeValue(field.number, kind, "v", o, prop)) f.print("        ", line);
    }
    f.print("        break;");
    f.print("      }");
  }
  f.print("      default:");
  f.print("        ", fail("m", name, `$case ${cases}`, `(${o} as { $case: unknown }).$case`));
  f.print("    }");
  f.print("  }");
}
