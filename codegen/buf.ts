import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { GenError, type SourceLocation } from "./errors.js";

const require = createRequire(import.meta.url);

/** Output of one buf invocation. */
export interface BufResult {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

const platformPackages: Record<string, string> = {
  "linux x64": "@bufbuild/buf-linux-x64",
  "linux arm64": "@bufbuild/buf-linux-aarch64",
  "darwin x64": "@bufbuild/buf-darwin-x64",
  "darwin arm64": "@bufbuild/buf-darwin-arm64",
  "win32 x64": "@bufbuild/buf-win32-x64",
  "win32 arm64": "@bufbuild/buf-win32-arm64",
};

/**
 * Finds the buf binary: `PROTOCACHE_BUF`, else the native binary of the
 * installed `@bufbuild/buf` package (skipping its Node wrapper saves ~90 ms
 * per call), else the wrapper itself.
 */
export function findBuf(): string {
  const fromEnv = process.env["PROTOCACHE_BUF"];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const native = platformPackages[`${process.platform} ${process.arch}`];
  const exe = process.platform === "win32" ? "buf.exe" : "buf";
  if (native !== undefined) {
    try {
      return join(dirname(require.resolve(`${native}/package.json`)), "bin", exe);
    } catch {
      // fall through to the wrapper
    }
  }
  try {
    return join(dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
  } catch (cause) {
    throw new GenError(
      "buf-missing",
      "buf not found: run `npm ci` (the @bufbuild/buf package provides it) or set PROTOCACHE_BUF",
      undefined,
      { cause },
    );
  }
}

/** Identity of the buf in use (package version, or the PROTOCACHE_BUF override): part of cache keys of buf's results. */
export function bufVersion(): string {
  const override = process.env["PROTOCACHE_BUF"] ?? "";
  try {
    return `${(require("@bufbuild/buf/package.json") as { version: string }).version}:${override}`;
  } catch {
    return `unknown:${override}`;
  }
}

/** Directory holding `protoc-gen-ts_proto`, put on PATH so buf.gen.yaml can name it. */
export function tsProtoPluginDir(): string {
  return dirname(require.resolve("ts-proto/package.json"));
}

/** Runs buf with the given arguments in `cwd`, collecting its output; `signal` kills it. */
export function runBuf(args: readonly string[], cwd: string, signal?: AbortSignal): Promise<BufResult> {
  const bin = findBuf();
  const pathSep = process.platform === "win32" ? ";" : ":";
  const env = { ...process.env, PATH: `${tsProtoPluginDir()}${pathSep}${process.env["PATH"] ?? ""}` };
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"], ...(signal === undefined ? {} : { signal }) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (cause) =>
      signal?.aborted === true ? resolve({ code: 1, stdout: Buffer.alloc(0), stderr: "aborted" }) : reject(new GenError("buf-missing", `cannot run buf (${bin}): ${cause.message}; run \`npm ci\``, undefined, { cause })),
    );
    child.on("close", (code) =>
      resolve({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString("utf8") }),
    );
  });
}

const locatedLine = /^(?<file>[^:\s][^:]*\.proto):(?<line>\d+):(?<column>\d+):\s*(?<message>.*)$/;

/**
 * Turns buf's text diagnostics (`file:line:col:message`) into errors; lines
 * without a location become one error carrying the whole text.
 */
export function parseBufDiagnostics(rule: string, text: string): GenError[] {
  const errors: GenError[] = [];
  const loose: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const match = locatedLine.exec(line);
    const groups = match?.groups;
    if (groups?.["file"] !== undefined) {
      const location: SourceLocation = {
        file: groups["file"],
        line: Number(groups["line"]),
        column: Number(groups["column"]),
      };
      errors.push(new GenError(rule, groups["message"] ?? line, location));
    } else {
      loose.push(line);
    }
  }
  if (loose.length > 0) errors.push(new GenError(rule, loose.join("; ")));
  return errors;
}
