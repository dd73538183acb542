import type { DescField, DescMessage, FileRegistry } from "@bufbuild/protobuf";
import type { DeclaredDefault } from "./entities.js";
import { oneofPropertyName, propertyName, tsTypeName, typeSymbol } from "./naming.js";
import { literal, type GeneratedFile } from "./printer.js";

/** The declared defaults one revision's readers must fill, and the fields of that revision. */
export interface FillPlan {
  /** Name of the generated function, e.g. `fillUserR1`. */
  readonly name: string;
  /** Descriptors of the revision that wrote the entries (undefined: assume every current field). */
  readonly written: FileRegistry | undefined;
  readonly revisionLabel: string;
}

/**
 * Prints a function that fills declared defaults into a value decoded from
 * entries of one revision: implicit-presence fields that revision did not
 * have (when still zero), and unset `optional` fields. Returns false (and
 * prints nothing) when there is nothing to fill. Nested messages are
 * followed one level per type, so recursive types terminate.
 */
export function emitFill(
  f: GeneratedFile,
  root: DescMessage,
  defaults: ReadonlyMap<DescField, DeclaredDefault>,
  plan: FillPlan,
): boolean {
  const body = fillLines(root, "m", { defaults, written: plan.written, visiting: new Set([root.typeName]) }, 1);
  if (body.length === 0) return false;
  f.declare(plan.name);
  f.print(`/** Declared defaults for \`${root.typeName}\` values read from ${plan.revisionLabel} entries. */`);
  f.print(`function ${plan.name}(m: `, typeSymbol(root), "): void {");
  for (const line of body) f.print(line);
  f.print("}");
  f.print();
  return true;
}

/** What every level of a fill function needs to know. */
interface FillContext {
  readonly defaults: ReadonlyMap<DescField, DeclaredDefault>;
  readonly written: FileRegistry | undefined;
  /** Message types on the current path, so recursive types terminate. */
  readonly visiting: Set<string>;
}

function fillLines(message: DescMessage, v: string, ctx: FillContext, depth: number): string[] {
  const { defaults, written } = ctx;
  const indent = "  ".repeat(depth);
  const old = written?.getMessage(message.typeName);
  const lines: string[] = [];
  for (const field of message.fields) {
    const declared = defaults.get(field);
    if (declared !== undefined) {
      const target = `${v}.${propertyName(field)}`;
      if (field.proto.proto3Optional) {
        lines.push(`${indent}if (${target} === undefined) ${target} = ${literal(declared.value)};`);
      } else if (!isZeroValue(declared) && written !== undefined && (old === undefined || !old.fields.some((o) => o.number === field.number))) {
        lines.push(`${indent}if (${isZero(target, declared)}) ${target} = ${literal(declared.value)};`);
      }
    }
    lines.push(...nestedLines(field, v, ctx, depth));
  }
  return lines;
}

function nestedLines(field: DescField, v: string, ctx: FillContext, depth: number): string[] {
  const visiting = ctx.visiting;
  const nested =
    field.fieldKind === "message" ? field.message
    : field.fieldKind === "list" && field.listKind === "message" ? field.message
    : field.fieldKind === "map" && field.mapKind === "message" ? field.message
    : undefined;
  if (nested === undefined || visiting.has(nested.typeName)) return [];
  visiting.add(nested.typeName);
  const child = `c${depth}`;
  const inner = fillLines(nested, child, ctx, depth + 1);
  visiting.delete(nested.typeName);
  if (inner.length === 0) return [];
  const indent = "  ".repeat(depth);
  const prop = `${v}.${propertyName(field)}`;
  let open: string;
  if (field.fieldKind === "list") open = `for (const ${child} of ${prop}) {`;
  else if (field.fieldKind === "map") open = `for (const ${child} of ${prop}.values()) {`;
  else if (field.oneof !== undefined && !field.proto.proto3Optional) {
    const group = `${v}.${oneofPropertyName(field.oneof)}`;
    const name = propertyName(field);
    open = `if (${group}?.$case === "${name}") { const ${child} = ${group}.${name};`;
  } else open = `if (${prop} !== undefined) { const ${child} = ${prop};`;
  return [`${indent}${open}`, ...inner, `${indent}}`];
}

/** A default equal to the zero value changes nothing for an implicit-presence field. */
export function isZeroValue(declared: DeclaredDefault): boolean {
  switch (declared.kind) {
    case "string":
      return declared.value === "";
    case "bigint":
      return declared.value === 0n;
    case "bool":
      return !declared.value;
    case "bytes":
      return declared.value.length === 0;
    case "number":
      return declared.value === 0 && !Object.is(declared.value, -0);
  }
}

function isZero(target: string, declared: DeclaredDefault): string {
  switch (declared.kind) {
    case "string":
      return `${target} === ""`;
    case "bigint":
      return `${target} === 0n`;
    case "bool":
      return `${target} === false`;
    case "bytes":
      return `${target}.length === 0`;
    case "number":
      return `${target} === 0`;
  }
}

/** Name of the fill function for revision `revision` of an entity. */
export function fillName(root: DescMessage, revision: number): string {
  return `fill${tsTypeName(root)}R${revision}`;
}

/**
 * The declared defaults `createX()` applies to a message's own fields, in
 * field order: every `optional` field's, and every implicit-presence
 * field's that differs from the zero value (a zero default changes nothing).
 */
export function createDefaults(message: DescMessage, defaults: ReadonlyMap<DescField, DeclaredDefault>): [DescField, DeclaredDefault][] {
  return message.fields.flatMap((field): [DescField, DeclaredDefault][] => {
    const declared = defaults.get(field);
    return declared === undefined || (!field.proto.proto3Optional && isZeroValue(declared)) ? [] : [[field, declared]];
  });
}

/** Bytes of a `default_bytes` a doc comment shows before it summarises the rest. */
const SHOWN_BYTES = 16;

/**
 * A declared default as doc comments show it, in TypeScript terms:
 * `"en-US"`, `true`, `5000000000n`, `DeviceKind.DEVICE_KIND_MOBILE` (an
 * enum's value by name), `Uint8Array [1, 2]`. Never contains a comment end.
 */
export function describeDefault(field: DescField, declared: DeclaredDefault): string {
  let text: string;
  if (field.fieldKind === "enum") {
    const value = field.enum.values.find((v) => v.number === declared.value);
    text = value === undefined ? literal(declared.value) : `${tsTypeName(field.enum)}.${value.name}`;
  } else if (declared.kind === "bytes") {
    const shown = [...declared.value.subarray(0, SHOWN_BYTES)].join(", ");
    text = `Uint8Array [${shown}${declared.value.length > SHOWN_BYTES ? `, … (${declared.value.length} bytes)` : ""}]`;
  } else text = literal(declared.value);
  return text.replace(/\*\//g, "* /");
}

/**
 * The text added to the doc comment of every field with a declared default
 * (ts-proto prints it on the field of the generated interface), for fields
 * of messages that get a `createX()` (`constructors`: messages an entity
 * uses); fields of other messages are not cached, and their defaults do
 * nothing.
 */
export function defaultDocs(defaults: ReadonlyMap<DescField, DeclaredDefault>, constructors: ReadonlySet<string>): Map<DescField, string> {
  const docs = new Map<DescField, string>();
  for (const [field, declared] of defaults) {
    if (!constructors.has(field.parent.typeName)) continue;
    const create = `create${tsTypeName(field.parent)}()`;
    const read = field.proto.proto3Optional
      ? "an entry without it (unset, or written by a revision without the field) reads as it"
      : "entries written by a revision without the field read as it";
    docs.set(field, `Default: \`${describeDefault(field, declared)}\` (declared): \`${create}\` gives it when the field is not passed, and ${read}.`);
  }
  return docs;
}
