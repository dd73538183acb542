import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (for buf.yaml, buf.gen.yaml and options.proto). */
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
 * Creates a project with the repo's buf.yaml, buf.gen.yaml and
 * protocache/v1/options.proto, plus the given files (paths relative to root).
 */
export function tempProject(files: Record<string, string> = {}): TempProject {
  const root = mkdtempSync(join(tmpdir(), "protocache-project-"));
  cpSync(join(repoRoot, "buf.yaml"), join(root, "buf.yaml"));
  cpSync(join(repoRoot, "buf.gen.yaml"), join(root, "buf.gen.yaml"));
  mkdirSync(join(root, "proto", "protocache", "v1"), { recursive: true });
  cpSync(join(repoRoot, "proto", "protocache", "v1", "options.proto"), join(root, "proto", "protocache", "v1", "options.proto"));
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

/** A one-entity proto file in package `acme.<pkg>.v<major>`, with the given message body. */
export function entityProto(pkg: string, body: string, major = 1): string {
  return `syntax = "proto3";

package acme.${pkg}.v${major};

import "protocache/v1/options.proto";

${body}
`;
}
