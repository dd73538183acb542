import type { DescEnum, DescMessage } from "@bufbuild/protobuf";
import { closureOf } from "./closure.js";
import { tsTypeName, typesModule } from "./naming.js";
import { importedAs, symbol, type GeneratedFile, type ImportSymbol } from "./printer.js";

/** An enum of the previous major and the enum of this major with the same name in its package. */
export interface EnumPair {
  readonly previous: DescEnum;
  readonly current: DescEnum;
}

/** One enum value's number in one direction, and where it goes. */
interface Move {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  /** The value has no value of the same name on the other side: it goes to the zero value. */
  readonly unnamed: boolean;
  readonly toName: string;
}

/** The name of an enum (or message) relative to its package: `Status`, `Product.Kind`. */
function relativeName(desc: DescEnum | DescMessage): string {
  const pkg = desc.file.proto.package;
  return pkg === "" ? desc.typeName : desc.typeName.slice(pkg.length + 1);
}

/**
 * The enums the two majors' entity messages use that have the same name in
 * their packages but are declared anew (so TypeScript sees two unrelated
 * enum types, although the values are usually the same). An enum both
 * majors import from a third package is one type already: not a pair.
 */
export function enumPairs(previous: DescMessage, current: DescMessage): EnumPair[] {
  const currentEnums = new Map(closureOf(current).enums.map((e) => [relativeName(e), e]));
  const pairs: EnumPair[] = [];
  for (const p of closureOf(previous).enums) {
    const c = currentEnums.get(relativeName(p));
    if (c !== undefined && c.typeName !== p.typeName) pairs.push({ previous: p, current: c });
  }
  return pairs;
}

/** Type name of a previous major's type in this major's module: `UserV1`, `StatusV1`. */
export function previousTypeName(desc: DescEnum | DescMessage, major: number): string {
  return `${tsTypeName(desc)}V${major}`;
}

/** The previous major's type, imported under its readable name (`import type { User as UserV1 }`). */
export function previousTypeSymbol(desc: DescEnum | DescMessage, major: number): ImportSymbol {
  return importedAs(symbol(tsTypeName(desc), typesModule(desc.file), true), previousTypeName(desc, major));
}

/** `statusFromV1` / `product_KindToV1`: the mapping functions of an enum pair. */
export function enumMappingNames(pair: EnumPair, previousMajor: number): { from: string; to: string } {
  const name = tsTypeName(pair.current);
  const lower = `${name.charAt(0).toLowerCase()}${name.slice(1)}`;
  return { from: `${lower}FromV${previousMajor}`, to: `${lower}ToV${previousMajor}` };
}

/** Each number of `source` that must change to mean the same value in `target` (matched by value name; unmatched: target's zero value). */
function movesOf(source: DescEnum, target: DescEnum): Move[] {
  const zero = target.values.find((v) => v.number === 0) ?? target.values[0];
  const moves: Move[] = [];
  const seen = new Set<number>();
  for (const value of source.values) {
    if (seen.has(value.number)) continue;
    seen.add(value.number);
    const names = source.values.filter((v) => v.number === value.number).map((v) => v.name);
    const match = target.values.find((v) => names.includes(v.name));
    const to = match ?? zero;
    if (to === undefined || to.number === value.number) continue;
    moves.push({ name: value.name, from: value.number, to: to.number, unnamed: match === undefined, toName: to.name });
  }
  return moves;
}

/** True when the two enums hold the same values, name for name and number for number. */
function sameValues(a: DescEnum, b: DescEnum): boolean {
  const text = (e: DescEnum): string => e.values.map((v) => `${v.name}=${v.number}`).sort().join(",");
  return text(a) === text(b);
}

/**
 * Prints, for each enum pair, `statusFromV1(value)` and `statusToV1(value)`:
 * the value of one major's enum as the other major's. Values are matched by
 * name (what a value means), so a renumbered value keeps its meaning; a
 * value the other side has no name for becomes that side's zero value;
 * a number the source enum does not name (proto3 enums are open) is kept.
 * When both enums hold the same values the mapping is the identity, and the
 * generated comment says so. Each function's comment lists every value that
 * changes number.
 */
export function emitEnumMappings(f: GeneratedFile, pairs: readonly EnumPair[], previousMajor: number, currentMajor: number): void {
  for (const pair of pairs) {
    const names = enumMappingNames(pair, previousMajor);
    f.declare(names.from, names.to);
    const previousType = previousTypeSymbol(pair.previous, previousMajor);
    const currentType = symbol(tsTypeName(pair.current), typesModule(pair.current.file), true);
    const same = sameValues(pair.previous, pair.current);
    const directions = [
      { fn: names.from, source: pair.previous, target: pair.current, sourceType: previousType, targetType: currentType, use: "`fromPrevious`", major: currentMajor },
      { fn: names.to, source: pair.current, target: pair.previous, sourceType: currentType, targetType: previousType, use: "`toPrevious`", major: previousMajor },
    ];
    for (const d of directions) {
      const moves = movesOf(d.source, d.target);
      f.print("/**");
      f.print(` * A \`${d.source.typeName}\` value as \`${d.target.typeName}\` (major ${d.major}), for ${d.use}.`);
      if (same) f.print(" * Both enums hold the same values, name for name and number for number: every value is kept.");
      else {
        f.print(" * Values are matched by name; a number the source enum does not name is kept.");
        const renumbered = moves.filter((m) => !m.unnamed);
        const unnamed = moves.filter((m) => m.unnamed);
        if (renumbered.length > 0) f.print(` * Renumbered: ${renumbered.map((m) => `${m.name} ${m.from} → ${m.to}`).join(", ")}.`);
        for (const m of unnamed) f.print(` * ${m.name} (${m.from}) has no value of that name there: it becomes ${m.toName} (${m.to}), the zero value.`);
      }
      f.print(" */");
      f.print(`export function ${d.fn}(value: `, d.sourceType, "): ", d.targetType, " {");
      if (moves.length === 0) f.print("  return value as number as ", d.targetType, ";");
      else {
        f.print("  switch (value as number) {");
        for (const m of moves) f.print(`    case ${m.from}: return ${m.to} as `, d.targetType, `; // ${m.unnamed ? `${m.name} → ${m.toName}` : m.name}`);
        f.print("    default: return value as number as ", d.targetType, ";");
        f.print("  }");
      }
      f.print("}");
      f.print();
    }
  }
}
