import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runBuf } from "../../codegen/buf.js";
import { assembleWorkspace } from "../../codegen/workspace.js";

/** The repository root (for buf.yaml). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A throwaway protocache project in a temp directory. */
export interface TempProject {
  readonly root: string;
  /** Writes (or overwrites) a file relative to the root. */
  write(path: string, content: string): void;
  read(path: string): string;
  remove(): void;
}

/**
 * Creates a project with the repo's buf.yaml plus the given files (paths
 * relative to root); protocache/v1/options.proto comes from the generator.
 */
export function tempProject(files: Record<string, string> = {}): TempProject {
  const root = mkdtempSync(join(tmpdir(), "protocache-project-"));
  cpSync(join(repoRoot, "buf.yaml"), join(root, "buf.yaml"));
  mkdirSync(join(root, "proto"), { recursive: true });
  const project: TempProject = {
    root,
    write(path, content) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    read: (path) => readFileSync(join(root, path), "utf8"),
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
  project.write("package.json", JSON.stringify({ name: "fixture", private: true, type: "module" }));
  for (const [path, content] of Object.entries(files)) project.write(path, content);
  return project;
}

/** `buf build` of a project's schemas (with protocache's options, as gen builds them); `out` is a file path or "-" for stdout. */
export async function buildImage(root: string, out = "-"): Promise<Buffer> {
  const workspace = assembleWorkspace(root, "proto");
  try {
    const built = await runBuf(["build", "-o", out], workspace.dir);
    if (built.code !== 0) throw new Error(`buf build failed: ${built.stderr}`);
    return built.stdout;
  } finally {
    workspace.dispose();
  }
}

/** A one-entity proto file in package `acme.<pkg>.v<major>`, with the given message body. */
export function entityProto(pkg: string, body: string, major = 1): string {
  return `syntax = "proto3";

package acme.${pkg}.v${major};

import "protocache/v1/options.proto";

${body}
`;
}
