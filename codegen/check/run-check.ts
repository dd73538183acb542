import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { runBuf } from "../buf.js";
import { collectEntities } from "../entities.js";
import { GenError } from "../errors.js";
import { analyzeProject, readLock } from "../gen.js";
import { parseImage } from "../image.js";
import { retiredMessages, type SchemaLock } from "../lock.js";
import { diffOutput } from "../output.js";
import { formatSchemaId } from "../schema-id.js";
import { readFile } from "node:fs/promises";
import { breakingFindings } from "./breaking.js";
import { baseEntities, entityFindings } from "./entity-diff.js";
import { findingOfGenError, type Finding } from "./finding.js";
import { CheckEnvironmentError, exportPaths, resolveRef } from "./git.js";
import { lockFindings } from "./lock-diff.js";

/** What to compare the working tree with. */
export interface CheckOptions {
  readonly root: string;
  /** A git ref (default `main`). Ignored when `againstImage` is set. */
  readonly against?: string;
  /** A base image built with `buf build -o <file>` (no lock: the lock history is then not compared). */
  readonly againstImage?: string;
}

/** Everything `protocache check` found. */
export interface CheckReport {
  readonly findings: readonly Finding[];
  /** What was compared with, and anything skipped. */
  readonly notes: readonly string[];
}

/**
 * The CI gate: buf lint, buf breaking (WIRE) against the base, the lock's
 * append-only history, `generated/` freshness, and protocache's own rules.
 * Throws {@link CheckEnvironmentError} when the base cannot be found.
 */
export async function runCheck(options: CheckOptions): Promise<CheckReport> {
  const notes: string[] = [];
  const analysis = await analyzeProject(options.root);
  const { config } = analysis;
  const findings: Finding[] = analysis.errors.map(findingOfGenError);

  const plan = analysis.plan;
  if (plan !== undefined) {
    const lockFix = "run npm run gen and commit the lock with the change";
    for (const rev of plan.added) {
      findings.push({ rule: "lock-out-of-sync", location: { file: config.lockFile }, message: `${rev.message} revision ${formatSchemaId(rev.id)} is not in the lock: gen was not run`, breaks: "entries written by this revision would carry a schema ID no deployed reader knows (read as unknown, never upgraded)", fix: lockFix });
    }
    for (const { from, to } of plan.renumbered) {
      findings.push({ rule: "lock-out-of-sync", location: { file: config.lockFile }, message: `${from.message} r${from.revision} should be r${to} (two branches added revisions, or a rename)`, breaks: "revision policies (minRevision) would see the wrong ordinals", fix: lockFix });
    }
    const diff = await diffOutput(join(config.root, config.outDir), plan.files);
    const stale = [...diff.changed.map((p) => `${config.outDir}/${p}`), ...diff.stale.map((p) => `${config.outDir}/${p} (no longer generated)`)];
    if (stale.length > 0) {
      findings.push({
        rule: "generated-stale",
        location: { file: `${config.outDir}/` },
        message: `${stale.length} generated file(s) differ from what gen writes (stale, missing or edited by hand): ${stale.join(", ")}`,
        breaks: "services would run accessors that do not match the schemas and lock (wrong schema IDs, codecs or defaults)",
        fix: "run npm run gen and commit generated/",
      });
    }
  }

  const base = await loadBase(options, config.root, config.protoDir, config.lockFile, notes);
  try {
    if (base.image !== undefined && analysis.image !== undefined) {
      findings.push(...(await breakingFindings(config.root, base.image, analysis.image, config.protoDir)));
      const baseImage = parseImage(await readFile(base.image), config.protoDir);
      const retired = retiredMessages(analysis.storedLock ?? { entries: [] });
      const baseModels = collectEntities(baseImage).entities;
      findings.push(...entityFindings(baseEntities(baseModels, baseImage, base.label), analysis.entities?.entities ?? [], analysis.image, retired));
    }
    if (base.lock !== undefined && analysis.storedLock !== undefined) findings.push(...lockFindings(base.lock, analysis.storedLock, config.lockFile));
  } finally {
    base.cleanup();
  }
  return { findings, notes };
}

interface Base {
  /** Path of a base image file, if the base has schemas. */
  readonly image: string | undefined;
  readonly lock: SchemaLock | undefined;
  readonly label: string;
  cleanup(): void;
}

async function loadBase(options: CheckOptions, root: string, protoDir: string, lockFile: string, notes: string[]): Promise<Base> {
  if (options.againstImage !== undefined) {
    if (!existsSync(options.againstImage)) throw new CheckEnvironmentError(`--against-image ${options.againstImage} does not exist`, "build it on the base with: buf build -o <file>");
    notes.push(`compared with image ${options.againstImage}; the lock history is not compared (an image carries no lock; use --against <ref>)`);
    return { image: options.againstImage, lock: undefined, label: options.againstImage, cleanup: () => {} };
  }
  const ref = options.against ?? "main";
  const commit = resolveRef(root, ref);
  const dir = exportPaths(root, commit, ["buf.yaml", "package.json", protoDir, lockFile]);
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  notes.push(`compared with ${ref} (${commit.slice(0, 12)})`);
  try {
    let lock: SchemaLock | undefined;
    try {
      lock = await readLock(dir, lockFile);
    } catch (error) {
      if (!(error instanceof GenError)) throw error;
      notes.push(`the lock at ${ref} does not parse (${error.message}); its history is not compared`);
    }
    if (!existsSync(join(dir, "buf.yaml")) || !existsSync(join(dir, protoDir))) {
      notes.push(`${ref} has no schemas yet: nothing to compare for breaking changes`);
      return { image: undefined, lock, label: ref, cleanup };
    }
    const image = join(dir, "base.binpb");
    const built = await runBuf(["build", "-o", image], dir);
    if (built.code !== 0) {
      notes.push(`the schemas at ${ref} do not compile; breaking changes are not checked (${built.stderr.trim().split("\n")[0] ?? ""})`);
      return { image: undefined, lock, label: ref, cleanup };
    }
    return { image, lock, label: ref, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}
