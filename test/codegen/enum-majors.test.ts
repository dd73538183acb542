import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planGeneration, syncOutput } from "../../codegen/index.js";
import { repoRoot } from "../support/project.js";

/**
 * A new major that declares its enums anew (as a new package must): v2's
 * generated module imports v1's types under readable names and maps each
 * enum both ways, by value name.
 */

const product = (major: number, body: string): string => `syntax = "proto3";
package acme.product.v${major};
import "protocache/v1/options.proto";
enum Status {
  STATUS_UNSPECIFIED = 0;
  STATUS_ACTIVE = 1;
  STATUS_RETIRED = 2;
}
${body}
`;

const v1 = product(1, `message Product {
  option (protocache.v1.entity) = { key: "product:{sku}" ttl_seconds: 600 };
  enum Kind { KIND_UNSPECIFIED = 0; KIND_BOOK = 1; KIND_TEA = 2; KIND_MUG = 3; }
  string sku = 1;
  string name = 2;
  Status status = 3;
  Kind kind = 4;
}`);

const v2 = product(2, `message Product {
  option (protocache.v1.entity) = { key: "product:{sku}" ttl_seconds: 600 migrates_from: "acme.product.v1.Product" };
  enum Kind { KIND_UNSPECIFIED = 0; KIND_TEA = 1; KIND_BOOK = 2; KIND_CUP = 3; }
  string sku = 1;
  string title = 2;
  Status status = 3;
  Kind kind = 4;
}`);

let root: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

beforeAll(async () => {
  mkdirSync(join(repoRoot, ".tmp"), { recursive: true });
  root = mkdtempSync(join(repoRoot, ".tmp", "enum-majors-"));
  write("buf.yaml", readFileSync(join(repoRoot, "buf.yaml"), "utf8"));
  write("package.json", JSON.stringify({ name: "enum-majors", private: true, type: "module", protocache: { runtime: relative(root, join(repoRoot, "src", "runtime", "index.js")) } }));
  write("proto/acme/product/v1/product.proto", v1);
  write("proto/acme/product/v2/product.proto", v2);
  const plan = await planGeneration(root, { date: "2026-01-02" });
  await syncOutput(join(root, plan.config.outDir), plan.files);
  write(plan.config.lockFile, plan.lockText);
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("enums and types across majors", () => {
  it("v2's module imports v1's types as ProductV1, StatusV1, Product_KindV1 and productEntityV1, never as numbered aliases", () => {
    const text = readFileSync(join(root, "generated", "acme", "product", "v2", "product.cache.ts"), "utf8");
    expect(text).toContain('import type { Product as ProductV1, Product_Kind as Product_KindV1, Status as StatusV1 } from "../../../types/acme/product/v1/product.js";');
    expect(text).toContain('import { productEntity as productEntityV1 } from "../v1/product.cache.js";');
    expect(text).toContain("readonly fromPrevious: (old: ProductV1) => Product;");
    expect(text).not.toMatch(/\$\d/);
  });

  it("maps an enum with the same values as the identity and a changed one by value name, unnamed values to the zero value, unknown numbers kept, in both directions", async () => {
    const m = (await import(pathToFileURL(join(root, "generated", "acme", "product", "v2", "product.cache.ts")).href)) as Record<string, (v: number) => number>;
    const statusFromV1 = m["statusFromV1"] as (v: number) => number;
    const statusToV1 = m["statusToV1"] as (v: number) => number;
    const kindFromV1 = m["product_KindFromV1"] as (v: number) => number;
    const kindToV1 = m["product_KindToV1"] as (v: number) => number;
    expect([0, 1, 2, 9, -1].map(statusFromV1)).toEqual([0, 1, 2, 9, -1]);
    expect([0, 1, 2, 9].map(statusToV1)).toEqual([0, 1, 2, 9]);
    // v1: BOOK 1, TEA 2, MUG 3; v2: TEA 1, BOOK 2, CUP 3.
    expect([0, 1, 2, 3, 9].map(kindFromV1)).toEqual([0, 2, 1, 0, 9]);
    expect([0, 1, 2, 3, 9].map(kindToV1)).toEqual([0, 2, 1, 0, 9]);
    const text = readFileSync(join(root, "generated", "acme", "product", "v2", "product.cache.ts"), "utf8");
    expect(text).toContain("KIND_MUG (3) has no value of that name there: it becomes KIND_UNSPECIFIED (0), the zero value.");
    expect(text).toContain("Both enums hold the same values, name for name and number for number: every value is kept.");
  });

  it("a fromPrevious and toPrevious that convert enums with the generated mappings compile with no cast (tsc)", () => {
    write(
      "service.ts",
      `import { MemoryStore } from "${relative(root, join(repoRoot, "src", "index.js"))}";
import { createProduct as createProductV1 } from "./generated/acme/product/v1/product.cache.js";
import { createProduct, defineProductCache, product_KindFromV1, product_KindToV1, statusFromV1, statusToV1 } from "./generated/acme/product/v2/product.cache.js";
export const productCache = defineProductCache({
  fromPrevious: (old) => createProduct({ sku: old.sku, title: old.name, status: statusFromV1(old.status), kind: product_KindFromV1(old.kind) }),
  toPrevious: (p) => createProductV1({ sku: p.sku, name: p.title, status: statusToV1(p.status), kind: product_KindToV1(p.kind) }),
});
export const products = productCache(new MemoryStore());
`,
    );
    write("tsconfig.json", JSON.stringify({ extends: relative(root, join(repoRoot, "tsconfig.json")), include: ["service.ts", "generated"], compilerOptions: { noEmit: true, rootDir: relative(root, repoRoot) } }));
    const r = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(root, "tsconfig.json")], { encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});
