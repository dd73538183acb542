import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { findingOfGenError } from "../../codegen/check/finding.js";
import { GenError } from "../../codegen/errors.js";
import { repoRoot } from "../support/project.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheck, type Finding } from "../../codegen/check/index.js";
import { baselineRepo, cli, copyRepo, git, type TempRepo } from "../support/git-repo.js";

const session = "proto/acme/session/v1/session.proto";
const user = "proto/acme/user/v1/user.proto";
const lock = "proto/protocache.lock.json";

let base: TempRepo;
beforeAll(() => {
  base = baselineRepo();
});
afterAll(() => base?.remove());

/** The short name of the message or enum a finding is about. */
function ownerOf(f: Finding): string {
  const named = /on (?:message|enum) "(\w+)"/.exec(f.message) ?? /(?:number \d+|entity) of [\w.]*?\.?(\w+) is/.exec(f.message) ?? /\.(\w+) is (?:an example|marked)/.exec(f.message);
  if (named?.[1] === undefined) throw new Error(`no message or enum named in: ${f.message}`);
  return named[1];
}

/** The file a finding's location names (a `.proto` the fix edits). */
function fileOf(f: Finding): string {
  if (f.location === undefined) throw new Error(`${f.rule} has no location`);
  return f.location.file;
}

/**
 * Appliers of fix texts, each recognising one instruction a fix gives (every
 * one that matches is applied, in this order) and doing exactly what it says
 * to the working tree: what a developer following the line would do.
 */
const appliers: { readonly pattern: RegExp; apply(repo: TempRepo, m: RegExpExecArray, f: Finding): void }[] = [
  {
    // number-reused: `give "fraud_score" number 19, …`
    pattern: /give "(\w+)" number (\d+)/,
    apply: (repo, [, name, number], f) => repo.edit(fileOf(f), new RegExp(`\\b${name} = \\d+`), `${name} = ${number}`),
  },
  {
    // `add \`reserved 15;\` to the message` (FIELD_NO_DELETE…, ENUM_VALUE_NO_DELETE…, RESERVED_…_NO_DELETE, number-reused)
    pattern: /add `(reserved [^`]+;)` to the (message|enum)/,
    apply: (repo, [, statement, kind], f) => repo.edit(fileOf(f), new RegExp(`^(\\s*)${kind} ${ownerOf(f)} \\{\\n`, "m"), (whole: string, indent: string) => `${whole}${indent}  ${statement}\n`),
  },
  {
    pattern: /run `protocache retire ([\w.]+)`/,
    apply: (repo, [, message]) => expect(cli(repo.root, "retire", message as string).status).toBe(0),
  },
  {
    pattern: /add `(renamed_from: "[\w.]+")` to the entity option of/,
    apply: (repo, [, option], f) => repo.edit(fileOf(f), /ttl_seconds: (\d+)/, `ttl_seconds: $1\n    ${option}`),
  },
  {
    // key-template-changed: `keep "user:{id}", …`
    pattern: /^keep "([^"]+)"/,
    apply: (repo, [, template], f) => repo.edit(fileOf(f), /key: "[^"]+"/, `key: "${template}"`),
  },
  {
    // field-value-changed: `keep \`int64\`; …`, `keep \`optional\`; …`, `keep implicit presence (no \`optional\`); …`
    pattern: /^keep (`optional`|implicit presence \(no `optional`\)|`(\w+)`);/,
    apply: (repo, [, kind, type], f) => {
      const field = /with name "(\w+)"/.exec(f.message)?.[1] as string;
      const declaration = new RegExp(`(optional )?(\\w+) ${field} = `);
      if (kind === "`optional`") repo.edit(fileOf(f), declaration, (_: string, _o: string, t: string) => `optional ${t} ${field} = `);
      else if (kind?.startsWith("implicit") === true) repo.edit(fileOf(f), declaration, (_: string, _o: string, t: string) => `${t} ${field} = `);
      else repo.edit(fileOf(f), declaration, (_: string, optional: string | undefined) => `${optional ?? ""}${type} ${field} = `);
    },
  },
  {
    pattern: /remove `example: true`/,
    apply: (repo, _m, f) => repo.edit(fileOf(f), /\n\s*example: true/, ""),
  },
  {
    pattern: /restore (\S+) from the base branch/,
    apply: (repo, [, file]) => git(repo.root, "checkout", "main", "--", file as string),
  },
  {
    // lock-out-of-sync, generated-stale, and the step after most of the others: gen runs after every fix anyway.
    pattern: /run npx protocache gen/,
    apply: () => {},
  },
];

/** Applies every instruction of one finding's fix; fails when none is recognised (the fix is not mechanical). */
function applyFix(repo: TempRepo, f: Finding): void {
  let applied = 0;
  for (const { pattern, apply } of appliers) {
    const m = pattern.exec(f.fix);
    if (m === null) continue;
    apply(repo, m, f);
    applied++;
  }
  expect(applied, `no applier for the fix of [${f.rule}]: ${f.fix}`).toBeGreaterThan(0);
}

interface Case {
  readonly name: string;
  /** Steps before the edit (gen runs after them; nothing is committed: the base stays main). */
  readonly setup?: (repo: TempRepo) => void;
  readonly edit: (repo: TempRepo) => void;
  /** Run gen after the edit (default true). */
  readonly gen?: boolean;
  /** The rules refused, each with a fix that can be applied as written. */
  readonly rules: readonly string[];
}

const cases: Case[] = [
  { name: "a field deleted without reserving its number", edit: (r) => r.edit(session, "  double risk_score = 15;\n", ""), rules: ["FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED"] },
  { name: "an enum value deleted without reserving its number", edit: (r) => r.edit(session, "  DEVICE_KIND_CLI = 3;\n", ""), rules: ["ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"] },
  {
    name: "a field number reused after a gap",
    setup: (r) => r.edit(session, "  double risk_score = 15;\n", "  reserved 15;\n"),
    edit: (r) => r.edit(session, "  reserved 15;\n", "  double fraud_score = 15;\n"),
    rules: ["number-reused"],
  },
  {
    name: "an enum value number reused after a gap",
    setup: (r) => r.edit(session, "  DEVICE_KIND_CLI = 3;\n", "  reserved 3;\n"),
    edit: (r) => r.edit(session, "  reserved 3;\n", "  DEVICE_KIND_TV = 3;\n"),
    rules: ["number-reused"],
  },
  { name: "an entity removed", edit: (r) => r.write(user, 'syntax = "proto3";\n\npackage acme.user.v1;\n'), rules: ["entity-removed"] },
  { name: "an entity renamed without renamed_from, gen run", edit: (r) => r.edit(user, "message User {", "message Account {"), rules: ["entity-removed"] },
  { name: "an entity renamed without renamed_from, gen not run", edit: (r) => r.edit(user, "message User {", "message Account {"), gen: false, rules: ["entity-removed", "generated-stale", "lock-out-of-sync"] },
  { name: "a key template changed", edit: (r) => r.edit(user, 'key: "user:{id}"', 'key: "user:{email}"'), rules: ["key-template-changed"] },
  { name: "int64 narrowed to int32", edit: (r) => r.edit(session, "int64 created_at_ms = 4;", "int32 created_at_ms = 4;"), rules: ["field-value-changed"] },
  { name: "implicit presence made optional", edit: (r) => r.edit(session, "string user_id = 3;", "optional string user_id = 3;"), rules: ["field-value-changed"] },
  { name: "optional made implicit", edit: (r) => r.edit(session, "optional string impersonator_id = 10;", "string impersonator_id = 10;"), rules: ["field-value-changed"] },
  { name: "gen not run", edit: (r) => r.edit(user, "string locale = 6", "string nickname = 7;\n  string locale = 6"), gen: false, rules: ["generated-stale", "lock-out-of-sync"] },
  { name: "the lock edited by hand", edit: (r) => r.edit(lock, /"firstGenerated":"[0-9-]+"/, '"firstGenerated":"2020-01-01"'), gen: false, rules: ["lock-append-only"] },
  { name: "a generated file edited by hand", edit: (r) => r.edit("generated/acme/user/v1/user.cache.ts", "ttlSeconds: 3600", "ttlSeconds: 60"), gen: false, rules: ["generated-stale"] },
  {
    name: "an example entity",
    edit: (r) => {
      mkdirSync(join(r.root, "proto", "acme", "sample", "v1"), { recursive: true });
      r.write("proto/acme/sample/v1/sample.proto", 'syntax = "proto3";\n\npackage acme.sample.v1;\n\nimport "protocache/v1/options.proto";\n\nmessage Sample {\n  option (protocache.v1.entity) = {\n    key: "sample:{id}"\n    example: true\n  };\n  string id = 1;\n}\n');
    },
    rules: ["example-entity"],
  },
];

describe("every refusal says what it breaks and how to fix it", () => {
  /** Rules of a broken environment, not of the schemas: one line and exit 2, no fix of the schemas. */
  const environment = new Set(["buf-missing", "config", "buf-breaking"]);
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []));
  const rules = [
    ...new Set(
      sources(join(repoRoot, "codegen"))
        .map((file) => readFileSync(file, "utf8"))
        .filter((text) => text.includes("GenError")) // another module's fail() is not gen's
        .flatMap((text) => [...text.matchAll(/(?:new GenError|fail|parseBufDiagnostics)\(\s*"([\w-]+)"/g)].map((m) => m[1] as string)),
    ),
  ].filter((rule) => !environment.has(rule));

  it("finds the rules gen raises in codegen/", () => {
    expect(rules).toEqual(expect.arrayContaining(["compile", "lint", "key-template", "key-collision", "entity-ttl", "entity-version-suffix", "lock-tampered", "schema-id-collision"]));
  });

  it.each(rules)("gen's %s has its own breaks and fix lines", (rule) => {
    const finding = findingOfGenError(new GenError(rule, "x"), { lockFile: "proto/protocache.lock.json", genCommand: "npm run gen" });
    expect(finding.breaks).not.toBe("gen cannot produce the accessors");
    expect(finding.fix).not.toMatch(/^fix the reported problem and run/);
  });
});

describe("every fix the gate suggests, applied as written, makes the gate pass", () => {
  it.each(cases)("$name: the fix of $rules", async ({ setup, edit, gen, rules }) => {
    const repo = copyRepo(base);
    try {
      if (setup !== undefined) {
        setup(repo);
        expect(cli(repo.root, "gen", "-q").status).toBe(0);
      }
      edit(repo);
      if (gen !== false) cli(repo.root, "gen", "-q");
      const before = await runCheck({ root: repo.root, against: "main" });
      expect([...new Set(before.findings.map((f) => f.rule))].sort()).toEqual([...rules].sort());
      for (const finding of before.findings) applyFix(repo, finding);
      const regenerated = cli(repo.root, "gen", "-q");
      expect(regenerated.stderr).toBe("");
      expect(regenerated.status).toBe(0);
      const after = await runCheck({ root: repo.root, against: "main" });
      expect(after.findings.map((f) => `[${f.rule}] ${f.message}`)).toEqual([]);
    } finally {
      repo.remove();
    }
  });
});

describe("a rename declared after gen locked the new name", () => {
  it("is refused by gen (it would change nothing), and restoring the lock as the fix says records it", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(user, "message User {", "message Account {");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(user, "ttl_seconds: 3600", 'ttl_seconds: 3600\n    renamed_from: "acme.user.v1.User"');
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(gen.stderr).toMatch(
        /\[renamed-from\] acme\.user\.v1\.Account: renamed_from "acme\.user\.v1\.User" comes after acme\.user\.v1\.Account r1 \(0x[0-9a-f]{8}\) was locked without it, so the rename is not recorded\n {4}breaks: .*\n {4}fix: if acme\.user\.v1\.Account was locked only on this branch, restore proto\/protocache\.lock\.json from the base branch and run npx protocache gen \(it records the rename\); if it was released, remove renamed_from and run `protocache retire acme\.user\.v1\.User`$/m,
      );
      git(repo.root, "checkout", "main", "--", lock);
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      expect(repo.read(lock)).toMatch(/"message":"acme\.user\.v1\.Account","major":1,"revision":3,.*"renamedFrom":"acme\.user\.v1\.User"/);
      const report = await runCheck({ root: repo.root, against: "main" });
      expect(report.findings).toEqual([]);
    } finally {
      repo.remove();
    }
  });
});

describe("a field name is never refused, only a number", () => {
  it("after the suggested `reserved 15;`, a new field may take the old name under a new number: gen and check pass without a warning", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "  double risk_score = 15;\n", "  reserved 15;\n");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(session, "  reserved 15;\n", "  reserved 15;\n  string risk_score = 19;\n");
      const gen = cli(repo.root, "gen");
      expect(gen.stderr).toBe("");
      expect(gen.status).toBe(0);
      const report = await runCheck({ root: repo.root, against: "main" });
      expect(report.findings).toEqual([]);
      expect(report.warnings).toEqual([]);
    } finally {
      repo.remove();
    }
  });

  it("a deleted `reserved \"risk_score\";` is accepted by gen and check with a warning naming JSON clients", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "  double risk_score = 15;\n", '  reserved 15;\n  reserved "risk_score";\n');
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.commit("risk_score removed, its number and name reserved");
      repo.edit(session, '  reserved "risk_score";\n', "  string risk_score = 19;\n");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(0);
      const warning = /^warning: proto\/acme\/session\/v1\/session\.proto:\d+:1: reserved field name "risk_score" on message "Session" was removed: accepted, the cache stores binary, where names never appear; only JSON clients see names, .*$/m;
      expect(gen.stderr).toMatch(warning);
      expect(gen.stdout).toMatch(/^locked acme\.session\.v1\.Session r4 as 0x[0-9a-f]{8}$/m);
      const check = cli(repo.root, "check");
      expect(check.stderr).toMatch(warning);
      expect(check.stderr).toMatch(/protocache check: no findings/);
      expect(check.status).toBe(0);
      const json = JSON.parse(cli(repo.root, "check", "--json").stdout) as { ok: boolean; warnings: string[] };
      expect(json.ok).toBe(true);
      expect(json.warnings).toHaveLength(1);
    } finally {
      repo.remove();
    }
  });

  it("a deleted reserved number is still refused by check, with a fix that restores it", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "  double risk_score = 15;\n", "  reserved 15;\n");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.commit("risk_score removed, its number reserved");
      repo.edit(session, "  reserved 15;\n", "");
      // Reservations are not part of the schema ID: no new revision, nothing for gen to compare.
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      const check = cli(repo.root, "check");
      expect(check.status).toBe(1);
      expect(check.stderr).toMatch(/\[RESERVED_MESSAGE_NO_DELETE\] Previously present reserved range "\[15\]" on message "Session" .*\n {4}breaks: a reserved field number is free again: .*\n {4}fix: restore the reservation: add `reserved 15;` to the message$/m);
    } finally {
      repo.remove();
    }
  });
});
