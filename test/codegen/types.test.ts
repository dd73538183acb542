import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../support/project.js";

const dir = join(repoRoot, ".tmp", "typecheck");

const good = `import { MemoryStore } from "../../src/index.js";
import { createUser, userCache } from "../../generated/acme/user/v1/user.cache.js";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
const users = userCache(new MemoryStore());
export const a = users.get({ id: "42" });
export const b = sessionCache(new MemoryStore()).get({ tenantId: "t", sessionId: "s" });
export const c = users.set({ id: "1", name: "", email: "", fullName: "", verified: false, locale: "" });
export const d = users.set(createUser({ id: "1", verified: true }));
`;

const bad: Record<string, string> = {
  "unknown key field": 'users.get({ idd: "42" });',
  "missing key field": 'sessions.get({ tenantId: "t" });',
  "key field of the wrong type": "users.get({ id: 42 });",
  "value missing a field": 'users.set({ id: "1" });',
  "constructor given an unknown field": 'createUser({ idd: "1" });',
  "constructor given a field of the wrong type": "createUser({ verified: 1 });",
};

function tsc(files: Record<string, string>): { status: number | null; out: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", include: ["*.ts"], compilerOptions: { noUnusedLocals: false } }));
  const result = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
  return { status: result.status, out: result.stdout + result.stderr };
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("generated accessor types (checked with tsc)", () => {
  it("accept correct key fields and values, and reject wrong ones", () => {
    const header = `import { MemoryStore } from "../../src/index.js";
import { createUser, userCache } from "../../generated/acme/user/v1/user.cache.js";
import { sessionCache } from "../../generated/acme/session/v1/session.cache.js";
const users = userCache(new MemoryStore());
const sessions = sessionCache(new MemoryStore());
void sessions;
void createUser;
`;
    const files: Record<string, string> = { "good.ts": good };
    Object.values(bad).forEach((line, i) => (files[`bad${i}.ts`] = `${header}// @ts-expect-error must not compile\n${line}\n`));
    const result = tsc(files);
    // Each bad line carries @ts-expect-error: tsc passes only if every one of them is an error.
    expect(result.out).toBe("");
    expect(result.status).toBe(0);
    const unguarded = tsc({ "bad.ts": `${header}${bad["unknown key field"]}\n` });
    expect(unguarded.status).not.toBe(0);
    expect(unguarded.out).toMatch(/Object literal may only specify known properties, and 'idd' does not exist in type 'UserKey'/);
  }, 120_000);
});
