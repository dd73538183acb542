/**
 * The cases of the value-preservation oracle (test/ci-gate/value-oracle.test.ts):
 * every ordered pair of field types that share a wire type, each in every
 * position a field can take (singular, optional, repeated, oneof member,
 * field of a nested message, map value, map key), plus the presence
 * (implicit ↔ `optional`) and packing (packed ↔ unpacked) changes; and the
 * two `.proto` files, before and after, that hold one field per case.
 */

/** A field type as a `.proto` spells it, with what the oracle needs to know about it. */
export interface ProbeType {
  readonly proto: string;
  readonly wire: 0 | 1 | 2 | 5;
  /** May be a map key. */
  readonly key: boolean;
  /** A scalar that `repeated` packs by default. */
  readonly packable: boolean;
  readonly kind: "int" | "bool" | "enum" | "float" | "string" | "bytes" | "message";
}

const t = (proto: string, wire: 0 | 1 | 2 | 5, kind: ProbeType["kind"], key: boolean): ProbeType => ({ proto, wire, kind, key, packable: wire !== 2 });

/** Every type the oracle pairs: the 15 scalars, two enums and two messages of the same shape. */
export const probeTypes: readonly ProbeType[] = [
  t("int32", 0, "int", true),
  t("int64", 0, "int", true),
  t("uint32", 0, "int", true),
  t("uint64", 0, "int", true),
  t("sint32", 0, "int", true),
  t("sint64", 0, "int", true),
  t("bool", 0, "bool", true),
  t("E", 0, "enum", false),
  t("E2", 0, "enum", false),
  t("fixed32", 5, "int", true),
  t("sfixed32", 5, "int", true),
  t("float", 5, "float", false),
  t("fixed64", 1, "int", true),
  t("sfixed64", 1, "int", true),
  t("double", 1, "float", false),
  t("string", 2, "string", true),
  t("bytes", 2, "bytes", false),
  t("M", 2, "message", false),
  t("M2", 2, "message", false),
];

/** Where a case's field sits. */
export type Position = "singular" | "optional" | "repeated" | "oneof" | "nested" | "map value" | "map key";

/** One field of the probe message: a type change in one position. */
export interface TypeCase {
  /** Field number (and name suffix: `f<number>`). */
  readonly number: number;
  readonly from: ProbeType;
  readonly to: ProbeType;
  readonly position: Position;
  /** The label change, for the presence and packing cases. */
  readonly label?: "implicit → optional" | "optional → implicit" | "packed → unpacked" | "unpacked → packed";
  /** 1-based line of the field in the after file, and in the before file. */
  afterLine: number;
  beforeLine: number;
}

const positions: readonly Position[] = ["singular", "optional", "repeated", "oneof", "nested", "map value", "map key"];

function fits(type: ProbeType, position: Position): boolean {
  if (position === "map key") return type.key;
  if (position === "optional") return type.kind !== "message";
  return true;
}

/** All cases, numbered from 3 (1 is the key, 2 the nested message). */
export function typeCases(): TypeCase[] {
  const cases: TypeCase[] = [];
  let number = 3;
  const add = (c: Omit<TypeCase, "number" | "afterLine" | "beforeLine">): void => {
    cases.push({ ...c, number: number++, afterLine: 0, beforeLine: 0 });
  };
  for (const from of probeTypes) {
    for (const to of probeTypes) {
      if (from === to || from.wire !== to.wire) continue;
      for (const position of positions) if (fits(from, position) && fits(to, position)) add({ from, to, position });
    }
  }
  for (const type of probeTypes) {
    if (type.kind === "message") continue;
    add({ from: type, to: type, position: "singular", label: "implicit → optional" });
    add({ from: type, to: type, position: "singular", label: "optional → implicit" });
    if (type.packable) {
      add({ from: type, to: type, position: "repeated", label: "packed → unpacked" });
      add({ from: type, to: type, position: "repeated", label: "unpacked → packed" });
    }
  }
  return cases;
}

/** The declaration of one case's field on one side. */
function declaration(c: TypeCase, side: "before" | "after"): string {
  const type = side === "before" ? c.from : c.to;
  const name = `f${c.number}`;
  let optional = false;
  let unpacked = false;
  if (c.label === "implicit → optional") optional = side === "after";
  else if (c.label === "optional → implicit") optional = side === "before";
  else if (c.label === "packed → unpacked") unpacked = side === "after";
  else if (c.label === "unpacked → packed") unpacked = side === "before";
  switch (c.position) {
    case "singular":
    case "nested":
      return `${optional ? "optional " : ""}${type.proto} ${name} = ${c.number};`;
    case "optional":
      return `optional ${type.proto} ${name} = ${c.number};`;
    case "repeated":
      return `repeated ${type.proto} ${name} = ${c.number}${unpacked ? " [packed = false]" : ""};`;
    case "oneof":
      return `oneof o${c.number} { ${type.proto} ${name} = ${c.number}; }`;
    case "map value":
      return `map<int32, ${type.proto}> ${name} = ${c.number};`;
    case "map key":
      return `map<${type.proto}, string> ${name} = ${c.number};`;
  }
}

/**
 * The probe schema on one side: entity `oracle.probe.v1.Probe` with one
 * field per case (the nested ones in `Inner`). Records each case's line.
 */
export function probeProto(cases: readonly TypeCase[], side: "before" | "after"): string {
  const lines = [
    'syntax = "proto3";',
    "",
    "package oracle.probe.v1;",
    "",
    'import "protocache/v1/options.proto";',
    "",
    "// Two enums and two messages of the same shape, for the type pairs.",
    "enum E {",
    "  E_UNSPECIFIED = 0;",
    "  E_ONE = 1;",
    "  E_TWO = 2;",
    "}",
    "",
    "// The second enum.",
    "enum E2 {",
    "  E2_UNSPECIFIED = 0;",
    "  E2_ONE = 1;",
    "  E2_TWO = 2;",
    "}",
    "",
    "// A message.",
    "message M {",
    "  int32 a = 1;",
    "  string b = 2;",
    "}",
    "",
    "// The same shape under another name.",
    "message M2 {",
    "  int32 a = 1;",
    "  string b = 2;",
    "}",
    "",
    "// The nested position.",
    "message Inner {",
  ];
  const record = (c: TypeCase): void => {
    if (side === "after") c.afterLine = lines.length;
    else c.beforeLine = lines.length;
  };
  for (const c of cases) {
    if (c.position !== "nested") continue;
    lines.push(`  ${declaration(c, side)}`);
    record(c);
  }
  lines.push("}", "", "// One field per type change.", "message Probe {", '  option (protocache.v1.entity) = { key: "probe:{id}" ttl_seconds: 60 };', "  string id = 1;", "  Inner inner = 2;");
  for (const c of cases) {
    if (c.position === "nested") continue;
    lines.push(`  ${declaration(c, side)}`);
    record(c);
  }
  lines.push("}", "");
  return lines.join("\n");
}

/** The row label of a case's pair: `int64 → int32`, or the label change. */
export function pairLabel(c: TypeCase): string {
  return c.label === undefined ? `${c.from.proto} → ${c.to.proto}` : `${c.from.proto}: ${c.label}`;
}
