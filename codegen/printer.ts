import { posix } from "node:path";

/** Where an imported symbol comes from. */
export type ModuleRef =
  /** A file generated into the output directory (path relative to it, ending in `.js`). */
  | { readonly kind: "generated"; readonly path: string }
  /** protocache's runtime entry point for generated code. */
  | { readonly kind: "runtime" };

/** A name imported into a generated file; printing it records the import. */
export interface ImportSymbol {
  readonly kind: "import";
  readonly name: string;
  readonly from: ModuleRef;
  readonly typeOnly: boolean;
  /** The name to import it under (`User as UserV1`), for names that would otherwise need a numbered alias. */
  readonly as?: string;
}

/** Anything `print` accepts: text, numbers, imported symbols, and lists of them. */
export type Printable = string | number | bigint | boolean | ImportSymbol | readonly Printable[];

/** Creates a reference to `name` exported by `from`. */
export function symbol(name: string, from: ModuleRef, typeOnly = false): ImportSymbol {
  return { kind: "import", name, from, typeOnly };
}

/** The same symbol, imported under `as` (`User as UserV1`) whenever it is imported at all. */
export function importedAs(sym: ImportSymbol, as: string): ImportSymbol {
  return { ...sym, as };
}

interface ImportEntry {
  readonly name: string;
  local: string;
  typeOnly: boolean;
}

/**
 * One generated TypeScript file, built from typed pieces: imports are
 * collected from the symbols actually printed, deduplicated, aliased on
 * clashes and sorted, so no import is ever missing or unused.
 */
export class GeneratedFile {
  readonly path: string;
  private readonly lines: string[] = [];
  private readonly imports = new Map<string, Map<string, ImportEntry>>();
  private readonly taken = new Set<string>();
  private readonly reexports: string[] = [];

  /** `path` is relative to the output directory; `runtimeSpecifier` resolves `{kind: "runtime"}`. */
  constructor(path: string, private readonly runtimeSpecifier: (fromFile: string) => string) {
    this.path = path;
  }

  /** Reserves names declared in this file so imports never shadow them. */
  declare(...names: string[]): void {
    for (const n of names) this.taken.add(n);
  }

  /** Re-exports names from another module (printed after the imports). */
  reexport(names: readonly string[], from: ModuleRef, typeOnly: boolean): void {
    if (names.length === 0) return;
    const list = [...names].sort().join(", ");
    this.reexports.push(`export ${typeOnly ? "type " : ""}{ ${list} } from "${this.specifierOf(from)}";`);
  }

  /** Re-exports everything of another module. */
  reexportAll(from: ModuleRef, as?: string): void {
    this.reexports.push(`export * ${as === undefined ? "" : `as ${as} `}from "${this.specifierOf(from)}";`);
  }

  /** Appends one line made of the given pieces (no pieces: an empty line). */
  print(...parts: Printable[]): void {
    this.lines.push(this.render(parts));
  }

  /** Renders pieces to text, recording imports, without appending a line. */
  render(parts: readonly Printable[]): string {
    let text = "";
    for (const part of parts) {
      if (Array.isArray(part)) text += this.render(part);
      else if (typeof part === "object") text += this.use(part as ImportSymbol);
      else text += String(part);
    }
    return text;
  }

  private use(sym: ImportSymbol): string {
    if (sym.from.kind === "generated" && sym.from.path.replace(/\.js$/, ".ts") === this.path) return sym.name;
    const specifier = this.specifierOf(sym.from);
    let byName = this.imports.get(specifier);
    if (byName === undefined) this.imports.set(specifier, (byName = new Map()));
    let entry = byName.get(sym.name);
    if (entry === undefined) {
      const wanted = sym.as ?? sym.name;
      let local = wanted;
      for (let i = 1; this.taken.has(local); i++) local = `${wanted}$${i}`;
      this.taken.add(local);
      entry = { name: sym.name, local, typeOnly: sym.typeOnly };
      byName.set(sym.name, entry);
    } else if (!sym.typeOnly) {
      entry.typeOnly = false;
    }
    return entry.local;
  }

  private specifierOf(from: ModuleRef): string {
    if (from.kind === "runtime") return this.runtimeSpecifier(this.path);
    const rel = posix.relative(posix.dirname(this.path), from.path);
    return rel.startsWith(".") ? rel : `./${rel}`;
  }

  /** The whole file: header comment, sorted imports, then the body. */
  content(header: readonly string[]): string {
    const importLines: string[] = [];
    for (const specifier of [...this.imports.keys()].sort()) {
      const entries = [...(this.imports.get(specifier)?.values() ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1));
      const allTypes = entries.every((e) => e.typeOnly);
      const names = entries.map((e) => {
        const alias = e.local === e.name ? e.name : `${e.name} as ${e.local}`;
        return !allTypes && e.typeOnly ? `type ${alias}` : alias;
      });
      importLines.push(`import ${allTypes ? "type " : ""}{ ${names.join(", ")} } from "${specifier}";`);
    }
    const body = this.lines.join("\n").replace(/\n{3,}/g, "\n\n").trim();
    const blocks = [header.join("\n"), importLines.join("\n"), this.reexports.join("\n"), body].filter((b) => b !== "");
    return `${blocks.join("\n\n")}\n`;
  }
}

/** A TypeScript literal for a string, number, bigint, boolean or byte array. */
export function literal(value: string | number | bigint | boolean | Uint8Array): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : Number.isNaN(value) ? "NaN" : String(value);
  if (typeof value === "boolean") return String(value);
  return `new Uint8Array([${[...value].join(", ")}])`;
}
