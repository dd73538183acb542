import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheck } from "../../codegen/check/index.js";
import { baselineRepo, cli, copyRepo, type TempRepo } from "../support/git-repo.js";

const session = "proto/acme/session/v1/session.proto";
const lock = "proto/protocache.lock.json";

let base: TempRepo;
beforeAll(() => {
  base = baselineRepo();
});
afterAll(() => base?.remove());

/** The finding blocks (location, rule, message, breaks, fix) of a CLI output. */
function findingBlocks(text: string): string[] {
  return [...text.matchAll(/^\S+\.proto:\d+:\d+: \[[\w-]+\] .*\n {4}breaks: .*\n {4}fix: .*$/gm)].map((m) => m[0]);
}

describe("gen warns before check fails", () => {
  it("refuses to lock a revision that is not wire-compatible with the last locked one, with check's finding text", () => {
    const repo = copyRepo(base);
    try {
      const lockBefore = repo.read(lock);
      repo.edit(session, "int64 created_at_ms = 4;", "string created_at_ms = 4;");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(gen.stderr).toMatch(/^acme\.session\.v1\.Session: the new revision is not wire-compatible with r2 \(0x[0-9a-f]{8}\), the last one in the lock; gen did not lock it:$/m);
      expect(repo.read(lock)).toBe(lockBefore);
      const check = cli(repo.root, "check");
      expect(check.status).toBe(1);
      const fromGen = findingBlocks(gen.stderr);
      expect(fromGen).toHaveLength(1);
      expect(fromGen[0]).toMatch(/\[FIELD_WIRE_COMPATIBLE_TYPE\] Field "4" with name "created_at_ms"/);
      expect(findingBlocks(check.stderr)).toEqual(fromGen);
    } finally {
      repo.remove();
    }
  });

  it("refuses to lock a revision that changes cached values (int64 → int32), naming a cached value and what it reads as, with check's finding text", () => {
    const repo = copyRepo(base);
    try {
      const lockBefore = repo.read(lock);
      repo.edit(session, "int64 created_at_ms = 4;", "int32 created_at_ms = 4;");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(gen.stderr).toMatch(/^acme\.session\.v1\.Session: the new revision would change values cached by r2 \(0x[0-9a-f]{8}\); gen did not lock it:$/m);
      expect(repo.read(lock)).toBe(lockBefore);
      const fromGen = findingBlocks(gen.stderr);
      expect(fromGen).toHaveLength(1);
      expect(fromGen[0]).toMatch(/^proto\/acme\/session\/v1\/session\.proto:33:3: \[field-value-changed\] Field "4" with name "created_at_ms" on message "Session" changed type from "int64" to "int32": a cached 5000000000 reads as 705032704\.\n/);
      expect(fromGen[0]).toMatch(/fix: keep `int64`; to change it, add a new field with a new number .* or make the change in a new major: `acme\.session\.v2` with `migrates_from`$/);
      const check = cli(repo.root, "check");
      expect(check.status).toBe(1);
      expect(findingBlocks(check.stderr)).toEqual(fromGen);
    } finally {
      repo.remove();
    }
  });

  it("prints the heading of a refused revision once, above all of its findings", () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "int64 created_at_ms = 4;", "string created_at_ms = 4;");
      repo.edit(session, "double risk_score = 15;", "string risk_score = 15;");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(findingBlocks(gen.stderr)).toHaveLength(2);
      expect(gen.stderr.match(/the new revision is not wire-compatible/g)).toHaveLength(1);
      expect(gen.stderr).toMatch(/^acme\.session\.v1\.Session: the new revision is not wire-compatible with r2 \(0x[0-9a-f]{8}\), the last one in the lock; gen did not lock it:\n\S+\.proto:\d+:\d+: \[FIELD_WIRE_COMPATIBLE_TYPE\]/m);
    } finally {
      repo.remove();
    }
  });

  it("compares with the last locked revision even when the base branch never had it", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "double risk_score = 15;", "double risk_score = 15;\n  string note = 19;");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(session, "string note = 19;", "int64 note = 19;");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(gen.stderr).toMatch(/not wire-compatible with r3 .*\n.*\[FIELD_WIRE_COMPATIBLE_TYPE\] Field "19" with name "note"/);
      const report = await runCheck({ root: repo.root, against: "main" });
      expect(report.findings.map((f) => f.rule)).toEqual(["FIELD_WIRE_COMPATIBLE_TYPE"]);
    } finally {
      repo.remove();
    }
  });
});

describe("field numbers reused across the lock's history", () => {
  it("are reported by gen and check even with the same type, which buf's comparison with the base lets through", async () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "  double risk_score = 15;\n", '  reserved 15;\n  reserved "risk_score";\n');
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(session, '  reserved 15;\n  reserved "risk_score";\n', "  double fraud_score = 15;\n");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(gen.stderr).toMatch(
        /^proto\/acme\/session\/v1\/session\.proto:\d+:3: \[number-reused\] field number 15 of acme\.session\.v1\.Session is "fraud_score" \(singular double\) but was "risk_score" \(singular double\) in r2 \(0x[0-9a-f]{8}\) and removed in r3 \(0x[0-9a-f]{8}\)\n {4}breaks: entries written by r2 still carry values of "risk_score" \(singular double\) under number 15: .*\n {4}fix: give "fraud_score" number 19, which no revision used \(the lock remembers every number\), and add `reserved 15;` to the message$/m,
      );
      // Against main, where field 15 is still risk_score, buf sees only a rename; check prints gen's finding word for word.
      const report = await runCheck({ root: repo.root, against: "main" });
      expect(report.findings.map((f) => f.rule)).toEqual(["number-reused"]);
      expect(findingBlocks(cli(repo.root, "check").stderr)).toEqual(findingBlocks(gen.stderr));
    } finally {
      repo.remove();
    }
  });

  it("report an enum value number reused under another name", () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "  DEVICE_KIND_CLI = 3;\n", "  reserved 3;\n");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(session, "  reserved 3;\n", "  DEVICE_KIND_TV = 3;\n");
      const gen = cli(repo.root, "gen");
      expect(gen.status).toBe(1);
      expect(gen.stderr).toMatch(/\[number-reused\] enum value number 3 of acme\.session\.v1\.DeviceKind is "DEVICE_KIND_TV" but was "DEVICE_KIND_CLI" in r2 .*\n {4}breaks: .*\n {4}fix: give "DEVICE_KIND_TV" number 4, which no revision used .*, and add `reserved 3;` to the enum$/m);
    } finally {
      repo.remove();
    }
  });

  it("accept a renamed field (no gap) and a number that comes back as it was", () => {
    const repo = copyRepo(base);
    try {
      repo.edit(session, "string user_id = 3;", "string account_id = 3;");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(session, "  double risk_score = 15;\n", "  reserved 15;\n");
      expect(cli(repo.root, "gen", "-q").status).toBe(0);
      repo.edit(session, "  reserved 15;\n", "  double risk_score = 15;\n");
      const gen = cli(repo.root, "gen");
      expect(gen.stderr).toBe("");
      expect(gen.status).toBe(0);
    } finally {
      repo.remove();
    }
  });
});
