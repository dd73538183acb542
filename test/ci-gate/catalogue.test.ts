import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheck } from "../../codegen/check/index.js";
import { baselineRepo, cli, copyRepo, type TempRepo } from "../support/git-repo.js";

const session = "proto/acme/session/v1/session.proto";
const user = "proto/acme/user/v1/user.proto";

let base: TempRepo;
beforeAll(() => {
  base = baselineRepo();
});
afterAll(() => base?.remove());

interface Case {
  readonly name: string;
  /** Applies the edit to a fresh copy of the baseline. */
  readonly edit: (repo: TempRepo) => void;
  /** Run `protocache gen` after the edit, as a developer should (default true). */
  readonly gen?: boolean;
  /** Rules expected among the findings; [] means a clean check. */
  readonly expect: readonly string[];
}

const cases: Case[] = [
  { name: "add a field", edit: (r) => r.edit(user, "string locale = 6", 'string nickname = 7;\n  string locale = 6'), expect: [] },
  { name: "rename a field", edit: (r) => r.edit(session, "string user_id = 3;", "string account_id = 3;"), expect: [] },
  { name: "delete a field without reserved", edit: (r) => r.edit(session, "  double risk_score = 15;\n", ""), expect: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"] },
  { name: "delete a field with reserved", edit: (r) => r.edit(session, "  double risk_score = 15;\n", '  reserved 15;\n  reserved "risk_score";\n'), expect: [] },
  { name: "int64 to uint64 (wire-compatible, changes negative values)", edit: (r) => r.edit(session, "int64 created_at_ms = 4;", "uint64 created_at_ms = 4;"), expect: ["field-value-changed"] },
  { name: "int64 to int32 (wire-compatible, truncates)", edit: (r) => r.edit(session, "int64 created_at_ms = 4;", "int32 created_at_ms = 4;"), expect: ["field-value-changed"] },
  { name: "int64 to bool (wire-compatible, collapses)", edit: (r) => r.edit(session, "int64 created_at_ms = 4;", "bool created_at_ms = 4;"), expect: ["field-value-changed"] },
  { name: "uint64 to int64 (wire-compatible, changes large values)", edit: (r) => r.edit(session, "uint64 request_count = 9;", "int64 request_count = 9;"), expect: ["field-value-changed"] },
  { name: "repeated int32 to repeated uint32 (elements change sign)", edit: (r) => r.edit(session, "repeated int32 recent_status_codes = 13;", "repeated uint32 recent_status_codes = 13;"), expect: ["field-value-changed"] },
  { name: "a map key int64 to int32 (keys truncate and can merge)", edit: (r) => r.edit(session, "map<int64, Client> previous_clients = 16;", "map<int32, Client> previous_clients = 16;"), expect: ["field-value-changed"] },
  { name: "optional to implicit presence", edit: (r) => r.edit(session, "optional string impersonator_id = 10;", "string impersonator_id = 10;"), expect: ["field-value-changed"] },
  { name: "implicit to optional presence", edit: (r) => r.edit(session, "string user_id = 3;", "optional string user_id = 3;"), expect: ["field-value-changed"] },
  { name: "repeated int32 to repeated int64 (widening keeps every value)", edit: (r) => r.edit(session, "repeated int32 recent_status_codes = 13;", "repeated int64 recent_status_codes = 13;"), expect: [] },
  { name: "packed to unpacked", edit: (r) => r.edit(session, "repeated int32 recent_status_codes = 13;", "repeated int32 recent_status_codes = 13 [packed = false];"), expect: [] },
  { name: "string to bytes (wire-compatible)", edit: (r) => r.edit(session, "string user_id = 3;", "bytes user_id = 3;"), expect: [] },
  { name: "int64 to string", edit: (r) => r.edit(session, "int64 created_at_ms = 4;", "string created_at_ms = 4;"), expect: ["FIELD_WIRE_COMPATIBLE_TYPE"] },
  { name: "int32 to sint32", edit: (r) => r.edit(session, "repeated int32 recent_status_codes = 13;", "repeated sint32 recent_status_codes = 13;"), expect: ["FIELD_WIRE_COMPATIBLE_TYPE"] },
  { name: "bytes to string", edit: (r) => r.edit(session, "bytes csrf_token = 14;", "string csrf_token = 14;"), expect: ["FIELD_WIRE_COMPATIBLE_TYPE"] },
  { name: "repeated to singular", edit: (r) => r.edit(session, "repeated string scopes = 6;", "string scopes = 6;"), expect: ["FIELD_WIRE_COMPATIBLE_CARDINALITY"] },
  { name: "singular to repeated", edit: (r) => r.edit(session, "uint64 request_count = 9;", "repeated uint64 request_count = 9;"), expect: ["FIELD_WIRE_COMPATIBLE_CARDINALITY"] },
  { name: "move a field out of a oneof", edit: (r) => r.edit(session, "    string sso_provider = 12;\n  }", "  }\n  string sso_provider = 12;"), expect: ["FIELD_SAME_ONEOF"] },
  { name: "add a field to a oneof", edit: (r) => r.edit(session, "    string sso_provider = 12;\n", "    string sso_provider = 12;\n    string api_key_id = 19;\n"), expect: [] },
  { name: "delete an enum value", edit: (r) => r.edit(session, "  DEVICE_KIND_CLI = 3;\n", ""), expect: ["ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"] },
  { name: "add an enum value", edit: (r) => r.edit(session, "  DEVICE_KIND_CLI = 3;\n", "  DEVICE_KIND_CLI = 3;\n  DEVICE_KIND_TV = 4;\n"), expect: [] },
  { name: "change a map's value type", edit: (r) => r.edit(session, "map<string, string> attributes = 7;", "map<string, int64> attributes = 7;"), expect: ["FIELD_WIRE_COMPATIBLE_TYPE"] },
  { name: "change a nested message's field", edit: (r) => r.edit(session, "string ip = 1;", "int64 ip = 1;"), expect: ["FIELD_WIRE_COMPATIBLE_TYPE"] },
  { name: "renumber a field", edit: (r) => r.edit(session, "double risk_score = 15;", "double risk_score = 20;"), expect: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"] },
  { name: "rename an entity message", edit: (r) => r.edit(user, "message User {", "message Account {"), expect: ["entity-removed"] },
  { name: "rename an entity message with renamed_from", edit: (r) => { r.edit(user, "message User {", "message Account {"); r.edit(user, "ttl_seconds: 3600", 'ttl_seconds: 3600\n    renamed_from: "acme.user.v1.User"'); }, expect: [] },
  {
    name: "rename an entity message with renamed_from and change a field's type",
    edit: (r) => {
      r.edit(user, "message User {", "message Account {");
      r.edit(user, "ttl_seconds: 3600", 'ttl_seconds: 3600\n    renamed_from: "acme.user.v1.User"');
      r.edit(user, "string email = 3;", "int64 email = 3;");
    },
    expect: ["FIELD_WIRE_COMPATIBLE_TYPE"],
  },
  {
    name: "renamed_from across majors",
    edit: (r) => {
      r.edit(user, "package acme.user.v1;", "package acme.user.v2;");
      r.edit(user, "ttl_seconds: 3600", 'ttl_seconds: 3600\n    renamed_from: "acme.user.v1.User"');
    },
    expect: ["renamed-from", "lint", "FILE_SAME_PACKAGE"],
  },
  { name: "rename the key field (same number) with its template", edit: (r) => { r.edit(user, "string id = 1;", "string user_id = 1;"); r.edit(user, 'key: "user:{id}"', 'key: "user:{user_id}"'); }, expect: [] },
  { name: "another field under the key field's old name", edit: (r) => { r.edit(user, "string id = 1;", "string legacy_id = 1;"); r.edit(user, "string locale = 6", "string id = 7;\n  string locale = 6"); }, expect: ["key-template-changed"] },
  { name: "an entity that no longer validates is not reported as removed", edit: (r) => r.edit(user, 'key: "user:{id}"', 'key: "user:{nope}"'), expect: ["key-template"] },
  { name: "weaken buf.yaml's breaking rules in the same change", edit: (r) => { r.edit("buf.yaml", "    - WIRE", "    - WIRE\n  except:\n    - FIELD_WIRE_COMPATIBLE_TYPE"); r.edit(session, "int64 created_at_ms = 4;", "string created_at_ms = 4;"); }, expect: ["FIELD_WIRE_COMPATIBLE_TYPE"] },
  { name: "remove an entity", edit: (r) => r.write(user, 'syntax = "proto3";\n\npackage acme.user.v1;\n'), expect: ["entity-removed"] },
  { name: "change a key template", edit: (r) => r.edit(user, 'key: "user:{id}"', 'key: "user:{email}"'), expect: ["key-template-changed"] },
  { name: "move an entity to a package without a version", edit: (r) => r.edit(user, "package acme.user.v1;", "package acme.user;"), expect: ["lint", "entity-version-suffix", "FILE_SAME_PACKAGE", "entity-removed"] },
  { name: "migrates_from a message that does not exist", edit: (r) => r.edit(user, "ttl_seconds: 3600", 'ttl_seconds: 3600\n    migrates_from: "acme.user.v0.User"'), expect: ["migrates-from"] },
  { name: "edit the lock by hand", edit: (r) => r.edit("proto/protocache.lock.json", /"firstGenerated":"[0-9-]+"/, '"firstGenerated":"2020-01-01"'), gen: false, expect: ["lock-append-only"] },
  { name: "tamper with a lock descriptor", edit: (r) => r.edit("proto/protocache.lock.json", /"descriptor":"(.{20})/, '"descriptor":"AAAAAAAAAAAAAAAAAAAA'), gen: false, expect: ["lock-tampered", "lock-append-only"] },
  { name: "edit a generated file by hand", edit: (r) => r.edit("generated/acme/user/v1/user.cache.ts", "ttlSeconds: 3600", "ttlSeconds: 60"), gen: false, expect: ["generated-stale"] },
  { name: "forget to run gen", edit: (r) => r.edit(user, "string locale = 6", 'string nickname = 7;\n  string locale = 6'), gen: false, expect: ["lock-out-of-sync", "generated-stale"] },
];

describe("protocache check --against main: a catalogue of edits", () => {
  it.each(cases)("$name → $expect", async ({ edit, gen, expect: expected }) => {
    const repo = copyRepo(base);
    try {
      edit(repo);
      if (gen !== false) cli(repo.root, "gen", "-q");
      const report = await runCheck({ root: repo.root, against: "main" });
      const rules = [...new Set(report.findings.map((f) => f.rule))].sort();
      expect(rules, report.findings.map((f) => `${f.rule}: ${f.message}`).join("\n")).toEqual([...expected].sort());
      for (const f of report.findings) {
        expect(f.breaks.length).toBeGreaterThan(10);
        expect(f.fix.length).toBeGreaterThan(10);
      }
    } finally {
      repo.remove();
    }
  });
});

describe("renames over time", () => {
  it("keep one lineage across two renames: the accessor still reads the first name's entries", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(user, "message User {", "message Account {");
      repo.edit(user, "ttl_seconds: 3600", 'ttl_seconds: 3600\n    renamed_from: "acme.user.v1.User"');
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      expect(repo.read("proto/protocache.lock.json")).toMatch(/"message":"acme.user.v1.Account","major":1,"revision":3,"firstGenerated":"[0-9-]+","descriptor":"[^"]+","renamedFrom":"acme.user.v1.User"/);
      repo.commit("rename User to Account");
      repo.edit(user, "message Account {", "message Member {");
      repo.edit(user, 'renamed_from: "acme.user.v1.User"', 'renamed_from: "acme.user.v1.Account"');
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      const report = await runCheck({ root: repo.root, against: "main" });
      expect(report.findings).toEqual([]);
      const cache = repo.read("generated/acme/user/v1/user.cache.ts");
      const ids = [...repo.read("proto/protocache.lock.json").matchAll(/"id":"(0x[0-9a-f]{8})","message":"acme.user.v1.(User|Account)"/g)].map((m) => m[1]);
      expect(ids).toHaveLength(3);
      for (const id of ids) expect(cache).toContain(`schemaId: ${id}`);
      expect(cache).toMatch(/current: \{ schemaId: 0x[0-9a-f]{8}, revision: 4,/);
    } finally {
      repo.remove();
    }
  });
});

describe("retire", () => {
  it("refuses a message still declared in proto/ (exit 2, the lock unchanged): a retired live major could be deleted by cleanup --all", async () => {
    const repo = copyRepo(base);
    try {
      const lock = repo.read("proto/protocache.lock.json");
      const refused = cli(repo.root, "retire", "acme.user.v1.User");
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/acme\.user\.v1\.User is still declared in proto\/: it is live .*Remove the message from proto\/ first/);
      expect(repo.read("proto/protocache.lock.json")).toBe(lock);
    } finally {
      repo.remove();
    }
  });

  it("makes an intended removal pass, and only then", async () => {
    const repo = copyRepo(base);
    try {
      repo.write(user, 'syntax = "proto3";\n\npackage acme.user.v1;\n');
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      expect(cli(repo.root, "check").status).toBe(1);
      const retired = cli(repo.root, "retire", "acme.user.v1.User");
      expect(retired.status).toBe(0);
      expect(repo.read("proto/protocache.lock.json")).toMatch(/\{"kind":"retired","message":"acme.user.v1.User","date":"\d{4}-\d{2}-\d{2}"\}\n {2}\]/);
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      const check = cli(repo.root, "check");
      expect(check.stderr).toMatch(/no findings/);
      expect(check.status).toBe(0);
    } finally {
      repo.remove();
    }
  });
});
