import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planGeneration, syncOutput } from "../../codegen/index.js";
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { entityProto, repoRoot } from "../support/project.js";

/**
 * Declared defaults of every kind (string, bytes, bool, int32, int64,
 * uint64, double, float, enum, `optional`, a nested message's field, a zero
 * default) are what `createX()` gives, and what entries of a revision
 * without the fields read as: generated from two revisions of one entity.
 */
const work = join(repoRoot, ".tmp", "create-defaults");

const common = `enum Kind {
  KIND_UNSPECIFIED = 0;
  KIND_BOOK = 1;
  KIND_GAME = 2;
}

message Dim {
  int32 width = 1;
  int32 depth = 2 [(protocache.v1.field).default_int = 10];
}
`;

const itemR1 = entityProto(
  "item",
  `${common}
message Item {
  option (protocache.v1.entity) = { key: "item:{sku}" ttl_seconds: 60 };
  string sku = 1;
  string name = 2;
}`,
);

const itemR2 = itemR1.replace(
  "  string name = 2;\n",
  `  string name = 2;
  // The title.
  string title = 3 [(protocache.v1.field).default_string = "untitled */ ok"];
  bytes blob = 4 [(protocache.v1.field).default_bytes = "\\x01\\x02"];
  bool active = 5 [(protocache.v1.field).default_bool = true];
  int32 count = 6 [(protocache.v1.field).default_int = -3];
  int64 big = 7 [(protocache.v1.field).default_int = 5000000000];
  uint64 ubig = 8 [(protocache.v1.field).default_uint = 18446744073709551615];
  double ratio = 9 [(protocache.v1.field).default_double = 0.25];
  float weight = 10 [(protocache.v1.field).default_double = 0.1];
  Kind kind = 11 [(protocache.v1.field).default_enum = "KIND_GAME"];
  optional string note = 12 [(protocache.v1.field).default_string = "n/a"];
  optional int32 level = 13 [(protocache.v1.field).default_int = 0];
  int32 zero = 14 [(protocache.v1.field).default_int = 0];
  Dim dim = 15;
  uint32 trailing = 16 [(protocache.v1.field).default_uint = 7]; // Only a trailing comment.
`,
);

interface Item {
  sku: string;
  name: string;
  title: string;
  blob: Uint8Array;
  active: boolean;
  count: number;
  big: bigint;
  ubig: bigint;
  ratio: number;
  weight: number;
  kind: number;
  note?: string | undefined;
  level?: number | undefined;
  zero: number;
  dim?: { width: number; depth: number } | undefined;
  trailing: number;
}
interface ItemModule {
  createItem(init?: Partial<Item>): Item;
  newItem(): Item;
  createDim(init?: object): { width: number; depth: number };
  itemCache(store: MemoryStore): EntityCache<Item, { sku: string }>;
}

const declared = {
  title: "untitled */ ok",
  blob: new Uint8Array([1, 2]),
  active: true,
  count: -3,
  big: 5_000_000_000n,
  ubig: 2n ** 64n - 1n,
  ratio: 0.25,
  weight: Math.fround(0.1),
  kind: 2,
  note: "n/a",
  level: 0,
  trailing: 7,
};

let r1: { itemCache: ItemModule["itemCache"] };
let r2: ItemModule;

/** Generates `proto` into `.tmp/create-defaults/<name>` (the lock of `lockFrom` first), importing the runtime from src/. */
async function generation(name: string, proto: string, lockFrom?: string): Promise<string> {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "proto", "acme", "item", "v1"), { recursive: true });
  cpSync(join(repoRoot, "buf.yaml"), join(dir, "buf.yaml"));
  if (lockFrom !== undefined) cpSync(join(lockFrom, "proto", "protocache.lock.json"), join(dir, "proto", "protocache.lock.json"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name, private: true, type: "module", protocache: { runtime: "../../../src/runtime/index.js" } }));
  writeFileSync(join(dir, "proto", "acme", "item", "v1", "item.proto"), proto);
  const plan = await planGeneration(dir, { date: "2026-01-01" });
  await syncOutput(join(dir, "generated"), plan.files);
  writeFileSync(join(dir, "proto", "protocache.lock.json"), plan.lockText);
  return dir;
}

beforeAll(async () => {
  const first = await generation("r1", itemR1);
  await generation("r2", itemR2, first);
  r1 = (await import(join(work, "r1", "generated", "acme", "item", "v1", "item.cache.ts"))) as typeof r1;
  r2 = (await import(join(work, "r2", "generated", "acme", "item", "v1", "item.cache.ts"))) as ItemModule;
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("declared defaults of every kind in createX()", () => {
  it("fill every field not given; a zero default and fields without one keep the zero value", () => {
    expect(r2.createItem()).toEqual({ ...r2.newItem(), ...declared });
    expect(r2.createItem({ sku: "a" })).toEqual({ ...r2.newItem(), ...declared, sku: "a" });
    expect(r2.createItem().zero).toBe(0);
    expect(r2.createItem().dim).toBeUndefined();
    expect(r2.createDim()).toEqual({ width: 0, depth: 10 });
  });

  it("give every call its own bytes", () => {
    const a = r2.createItem();
    a.blob[0] = 99;
    expect(r2.createItem().blob).toEqual(new Uint8Array([1, 2]));
  });

  it("lose to every value given, zero values included; undefined is not given", () => {
    const zeros = { title: "", blob: new Uint8Array(0), active: false, count: 0, big: 0n, ubig: 0n, ratio: 0, weight: 0, kind: 0, note: "", level: 7, trailing: 0 };
    expect(r2.createItem({ sku: "z", ...zeros })).toEqual({ ...r2.newItem(), sku: "z", ...zeros });
    expect(r2.createItem({ note: undefined, level: undefined })).toMatchObject({ note: "n/a", level: 0 });
  });

  it("round-trip through the cache, and read the same as entries of the revision without the fields", async () => {
    const store = new MemoryStore();
    const items = r2.itemCache(store);
    const made = r2.createItem({ sku: "made", name: "N", dim: r2.createDim({ width: 3 }) });
    await items.set(made);
    expect(await items.getEntry({ sku: "made" })).toMatchObject({ outcome: "hit", value: made });
    const zeros = r2.createItem({ sku: "zeros", title: "", active: false, count: 0, kind: 0, ratio: 0, weight: 0, big: 0n, ubig: 0n, trailing: 0, blob: new Uint8Array(0) });
    await items.set(zeros);
    expect(await items.getEntry({ sku: "zeros" })).toMatchObject({ outcome: "hit", value: zeros });
    // An entry revision 1 wrote (before the fields existed) reads as createItem gives them.
    await r1.itemCache(store).set({ sku: "old", name: "O" } as Item);
    expect(await items.getEntry({ sku: "old" })).toMatchObject({ outcome: "upgraded", value: r2.createItem({ sku: "old", name: "O" }) });
  });
});

describe("the generated documentation of declared defaults", () => {
  it("says each field's default on the interface, and createX's defaults on it", () => {
    const types = tempFile("r2", "generated/types/acme/item/v1/item.ts");
    expect(types).toContain(["  /**", "   * The title.", "   *", "   * Default: `\"untitled * / ok\"` (declared): `createItem()` gives it when the field is not passed, and entries written by a revision without the field read as it.", "   */", "  title: string;"].join("\n"));
    expect(types).toContain("Default: `Kind.KIND_GAME` (declared)");
    expect(types).toContain("Default: `Uint8Array [1, 2]` (declared)");
    expect(types).toContain("Default: `5000000000n` (declared)");
    expect(types).toContain("Default: `0.10000000149011612` (declared)");
    expect(types).toContain("Default: `\"n/a\"` (declared): `createItem()` gives it when the field is not passed, and an entry without it (unset, or written by a revision without the field) reads as it.");
    expect(types).toContain(["   * Only a trailing comment.", "   *", "   * Default: `7` (declared)"].join("\n"));
    expect(types).toContain("Default: `10` (declared): `createDim()` gives it");
    // A zero default is still said (createItem gives it: the zero value), though nothing fills or writes it.
    expect(types).toContain("Default: `0` (declared): `createItem()` gives it when the field is not passed, and entries written by a revision without the field read as it. */\n  zero: number;");
    const cache = tempFile("r2", "generated/acme/item/v1/item.cache.ts");
    expect(cache).toContain("  m.kind = 2; // Kind.KIND_GAME\n");
    expect(cache).toContain("  m.level = 0;\n");
    expect(cache).not.toContain("  m.zero = 0;");
    expect(cache).toContain('(`title: "untitled * / ok"`, `blob: Uint8Array [1, 2]`, `active: true`');
  });

  it("compiles under the strictest settings", () => {
    const file = join(work, "r2", "generated", "acme", "item", "v1", "item.cache.ts");
    const program = ts.createProgram([file], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
    });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(problems).toEqual([]);
  });
});

function tempFile(generationName: string, path: string): string {
  return readFileSync(join(work, generationName, path), "utf8");
}
