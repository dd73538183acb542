import { afterAll, describe, expect, it } from "vitest";
import { parseImage } from "../../codegen/image.js";
import { appendRevisions } from "../../codegen/lock.js";
import { canonicalClosure, schemaIdOf } from "../../codegen/schema-id.js";
import { buildImage, tempProject, type TempProject } from "../support/project.js";

const base = `syntax = "proto3";
package acme.shop.v1;
import "protocache/v1/options.proto";

enum State {
  STATE_UNSPECIFIED = 0;
  STATE_OPEN = 1;
}

// A cart.
message Cart {
  option (protocache.v1.entity) = { key: "cart:{id}" ttl_seconds: 60 };
  message Line {
    string sku = 1;
    int32 qty = 2;
  }
  string id = 1;
  repeated Line lines = 2;
  State state = 3;
  map<string, int64> totals = 4;
  oneof payment {
    string card = 5;
    string voucher = 6;
  }
  optional string note = 7;
}

message Unrelated {
  string x = 1;
}
`;

const projects: TempProject[] = [];
afterAll(() => projects.forEach((p) => p.remove()));

async function idOf(proto: string, message = "acme.shop.v1.Cart"): Promise<number> {
  const project = tempProject({ "proto/acme/shop/v1/cart.proto": proto });
  projects.push(project);
  const desc = parseImage(await buildImage(project.root), "proto").registry.getMessage(message);
  if (desc === undefined) throw new Error(`no ${message}`);
  return schemaIdOf(desc);
}

describe("schema IDs", () => {
  it("are deterministic and never 0", async () => {
    const a = await idOf(base);
    expect(await idOf(base)).toBe(a);
    expect(a).not.toBe(0);
  });

  it.each([
    ["a comment changes", base.replace("// A cart.", "// A shopping cart.")],
    ["an entity option changes", base.replace("ttl_seconds: 60", "ttl_seconds: 61")],
    ["a declared default is added", base.replace("string id = 1;", 'string id = 1 [(protocache.v1.field).default_string = "x"];')],
    ["fields are reordered in the source", base.replace("  string id = 1;\n  repeated Line lines = 2;", "  repeated Line lines = 2;\n  string id = 1;")],
    ["an unrelated message changes", base.replace("string x = 1;", "string x = 1;\n  int32 y = 2;")],
    ["a json_name is set", base.replace("string id = 1;", 'string id = 1 [json_name = "ident"];')],
  ])("stay the same when %s", async (_, changed) => {
    expect(await idOf(changed)).toBe(await idOf(base));
  });

  it.each([
    ["a field is added", base.replace("optional string note = 7;", "optional string note = 7;\n  bool gift = 8;")],
    ["a field is renamed", base.replace("string id = 1;", "string cart_id = 1;").replace("cart:{id}", "cart:{cart_id}")],
    ["a field is renumbered", base.replace("State state = 3;", "State state = 9;")],
    ["a field type changes", base.replace("int32 qty = 2;", "int64 qty = 2;")],
    ["a field becomes repeated", base.replace("State state = 3;", "repeated State state = 3;")],
    ["optional presence is dropped", base.replace("optional string note = 7;", "string note = 7;")],
    ["a field moves out of a oneof", base.replace("    string voucher = 6;\n  }", "  }\n  string voucher = 6;")],
    ["a nested message changes", base.replace("int32 qty = 2;", "int32 qty = 2;\n    string unit = 3;")],
    ["an enum value is added", base.replace("STATE_OPEN = 1;", "STATE_OPEN = 1;\n  STATE_PAID = 2;")],
    ["a map value type changes", base.replace("map<string, int64>", "map<string, int32>")],
    ["the package changes", base.replace("package acme.shop.v1;", "package acme.store.v1;")],
  ])("change when %s", async (_, changed) => {
    const name = changed.includes("package acme.store.v1;") ? "acme.store.v1.Cart" : "acme.shop.v1.Cart";
    expect(await idOf(changed, name)).not.toBe(await idOf(base));
  });

  it("hash a readable canonical text of the closure only", async () => {
    const project = tempProject({ "proto/acme/shop/v1/cart.proto": base });
    projects.push(project);
    const cart = parseImage(await buildImage(project.root), "proto").registry.getMessage("acme.shop.v1.Cart");
    const text = canonicalClosure(cart as NonNullable<typeof cart>);
    expect(text).toContain("message acme.shop.v1.Cart.Line\n  field 1 sku singular string\n  field 2 qty singular int32\n");
    expect(text).toContain("  field 4 totals map <string,int64>\n");
    expect(text).toContain("  field 7 note optional string\n");
    expect(text).toContain("  oneof payment 5,6\n");
    expect(text).toContain("enum acme.shop.v1.State\n  value 0 STATE_UNSPECIFIED\n  value 1 STATE_OPEN\n");
    expect(text).not.toContain("Unrelated");
    expect(text).not.toContain("ttl");
  });
});

describe("lock collisions", () => {
  it("an ID already locked for another message is a collision, never an append", () => {
    const lock = { entries: [{ kind: "revision" as const, id: 42, message: "acme.a.v1.A", major: 1, revision: 1, firstGenerated: "2026-01-01", descriptor: "" }] };
    const result = appendRevisions(lock, [{ id: 42, message: "acme.b.v1.B", major: 1, descriptor: "" }], "2026-01-02");
    expect(result.added).toEqual([]);
    expect(result.errors[0]?.toLine()).toBe(
      "schema ID 0x0000002a of acme.b.v1.B collides with acme.a.v1.A r1 in the lock: rename a field or message of acme.b.v1.B to get a new ID [schema-id-collision]",
    );
  });
});
