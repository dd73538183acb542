import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { consumerEnv, ok, packPackages } from "../support/consumer.js";
import { repoRoot } from "../support/project.js";
import { freePort, startRedis, type RedisProcess } from "../support/redis-server.js";
import { waitFor } from "../support/wait.js";

/**
 * The README's "Use it in your service" section, run as a reader would run
 * it, on the packed tarballs and a real redis-server: its shell blocks
 * verbatim (the folder, the installs, init, gen, tsc), its `main.ts` as
 * written (an HTTP service answering from the cache as JSON, asked with the
 * request and compared with the answer the README shows), and each later
 * TypeScript block run as the continuation of `main.ts` it says it is.
 */

const work = mkdtempSync(join(tmpdir(), "protocache-readme-"));
const clone = join(work, "protocache"); // where the README's `npm pack` leaves the tarballs
const service = join(work, "my-service");
let redis: RedisProcess;

/** Runs shell text (a README block, or lines of one) in `cwd` with bash -e; returns stdout, throws with the output on failure. */
function bash(cwd: string, script: string): string {
  return ok(cwd, "bash", "-e", "-c", script);
}

interface Block {
  lang: string;
  body: string;
}

/** The fenced blocks of the README section that starts with `heading`, in order. */
function sectionBlocks(heading: string): Block[] {
  const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
  const start = readme.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no section ${heading}`);
  const end = readme.indexOf("\n## ", start + heading.length + 2);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1] ?? "", body: m[2] ?? "" }));
}

const blocks = sectionBlocks("## Use it in your service");
const shBlock = (marker: string): string => {
  const found = blocks.find((b) => b.lang === "sh" && b.body.includes(marker));
  if (found === undefined) throw new Error(`no sh block with ${marker} in the README's service section`);
  return found.body;
};
const tsBlocks = blocks.filter((b) => b.lang === "ts").map((b) => b.body);
const mainTs = tsBlocks[0] ?? "";
/** main.ts up to the HTTP server: what the later blocks continue. */
const mainPrelude = mainTs.slice(0, mainTs.indexOf("const server = createServer"));

beforeAll(async () => {
  packPackages(clone);
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe("the README's service section, run as written", () => {
  it("makes the folder, installs the packed tarballs, inits and generates; main.ts compiles with the README's tsc line, answers GET /profiles/42 with the JSON the README shows (404 for an unknown id) and exits 0 on SIGTERM", async () => {
    // The build-from-a-clone block: the clone and its `npm ci && npm run build && npm pack` are this repository and beforeAll.
    const install = shBlock("npm pack").split("\n");
    const after = install.findIndex((line) => line.startsWith("npm ci"));
    expect(after).toBeGreaterThan(0);
    bash(clone, install.slice(after + 1).join("\n"));
    expect(JSON.parse(readFileSync(join(service, "package.json"), "utf8"))).toMatchObject({ type: "module", dependencies: { protocache: expect.any(String), ioredis: expect.any(String) } });

    bash(service, shBlock("protocache init"));
    writeFileSync(join(service, "main.ts"), mainTs);
    const run = shBlock("node dist/main.js").split("\n").filter((l) => l.trim() !== "");
    expect(run).toHaveLength(3);
    bash(service, run[0] ?? "");
    expect(run[1]).toMatch(/^node dist\/main\.js &\s+# listening on http:\/\/localhost:3000$/);
    const curl = /^curl localhost:3000(\S+)\s+# (.*)$/.exec(run[2] ?? "");
    expect(curl).not.toBeNull();
    const [, path, shown] = curl as RegExpExecArray;

    const port = await freePort();
    const server = spawn(process.execPath, ["dist/main.js"], { cwd: service, env: { ...consumerEnv, REDIS_URL: redis.url, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    server.stdout.on("data", (d: Buffer) => (out += d.toString()));
    server.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => server.once("exit", (code) => resolve(code)));
    try {
      await waitFor("main.js to listen", () => out.includes(`listening on http://localhost:${port}`));
      const answer = await fetch(`http://localhost:${port}${path}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(await answer.json()).toEqual(JSON.parse(shown ?? ""));
      expect((await fetch(`http://localhost:${port}/profiles/1`)).status).toBe(404);
    } finally {
      server.kill("SIGTERM");
    }
    expect(await exited, out).toBe(0);
  });

  it("runs each later TypeScript block of the section as a continuation of main.ts (set, get, delete; the L1; tags and clear) against Redis, exiting 0 with nothing on stderr", () => {
    const later = tsBlocks.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(3);
    later.forEach((block, i) => {
      const file = `continued-${i}.ts`;
      writeFileSync(join(service, file), `${mainPrelude}\n${block}\nawait profiles.close();\nredis.disconnect();\n`);
      bash(service, `npx tsc --module nodenext --target es2022 --outDir dist ${file}`);
      const r = spawnSync(process.execPath, [`dist/${file.replace(/\.ts$/, ".js")}`], { cwd: service, env: { ...consumerEnv, REDIS_URL: redis.url }, encoding: "utf8", timeout: 60_000 });
      expect({ block: i, status: r.status, stderr: r.stderr }).toEqual({ block: i, status: 0, stderr: "" });
      if (i === 0) expect(r.stdout).toMatch(/^Ada L\. \{/);
    });
  });
});
