import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runBuf } from "../buf.js";
import { collectEntities, declaredRenames, packageFamily, type EntityModel } from "../entities.js";
import { formatLocation, GenError } from "../errors.js";
import { loadConfig } from "../config.js";
import { analyzeProject, lineOf, readLock } from "../gen.js";
import { renamer } from "../history.js";
import { parseImage } from "../image.js";
import { lockLineage, retiredMessages, revisionsOf, type SchemaLock } from "../lock.js";
import { diffOutput } from "../output.js";
import { formatSchemaId } from "../schema-id.js";
import { readFile, writeFile } from "node:fs/promises";
import { renameInImage } from "./rename-image.js";
import { assembleWorkspace } from "../workspace.js";
import { breakingFindings } from "./breaking.js";
import { baseEntities, entityFindings } from "./entity-diff.js";
import { findingOfGenError, type Finding } from "./finding.js";
import { CheckEnvironmentError, exportPaths, resolveRef } from "./git.js";
import { lockFindings } from "./lock-diff.js";
import { valueChanges, valueFinding } from "./value-preservation.js";

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
  /** Changes accepted but worth knowing (a reserved name made free again matters to JSON clients only), `file:line: …`. */
  readonly warnings: readonly string[];
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
  const project = { lockFile: config.lockFile, genCommand: config.commands.gen };
  const findings: Finding[] = analysis.errors.map((e) => findingOfGenError(e, project));

  const warnings: string[] = [...(analysis.plan?.warnings ?? [])];
  for (const entity of analysis.entities?.entities ?? []) {
    if (!entity.example || analysis.image === undefined) continue;
    const location = analysis.image.locate(entity.message);
    findings.push({
      rule: "example-entity",
      location,
      message: `${entity.message.typeName} is an example (\`example: true\`): gen generates it but never locks it`,
      breaks: "an example has no history in the lock: nothing checks a change to it against the entries it wrote, so it must not ship",
      fix: `to keep it as your entity, remove \`example: true\` from its entity option and run ${config.commands.gen} (it locks revision 1); otherwise delete ${location.file} and run ${config.commands.gen}`,
    });
  }

  const plan = analysis.plan;
  if (plan !== undefined) {
    const lockFix = `run ${config.commands.gen} and commit the lock with the change`;
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
        fix: `run ${config.commands.gen} and commit ${config.outDir}/`,
      });
    }
  }

  const base = await loadBase(options, config.root, notes);
  try {
    if (base.image !== undefined && analysis.image !== undefined) {
      const baseBytes = await readFile(base.image);
      const baseImage = parseImage(baseBytes, config.protoDir);
      const currentLock = analysis.storedLock ?? { entries: [] };
      const current = analysis.entities?.entities ?? [];
      const lineage = lockLineage(currentLock, declaredRenames(current));
      // An example of the base (never locked there) is compared with nothing: it had no entries the gate ever accepted.
      // Without a base lock (--against-image), the marker alone says so: gen never lets a locked entity become an example.
      const locked = new Set((base.lock === undefined ? [] : revisionsOf(base.lock)).map((r) => lineage(r.message)));
      const allBase = collectEntities(baseImage).entities;
      const baseExamples = allBase.filter((b) => b.example && !locked.has(lineage(b.message.typeName)));
      const baseModels = allBase.filter((b) => !baseExamples.includes(b));
      // A renamed entity is compared with what it was: buf matches messages by name.
      const renames = new Map<string, string>();
      // buf has no WIRE rule for a deleted message: an example renamed out of the way is compared with nothing.
      for (const b of baseExamples) renames.set(b.message.typeName, `${b.message.typeName}_ProtocacheExampleOfBase`);
      for (const b of baseModels) {
        const name = b.message.typeName;
        const successor = current.find((c) => c.message.typeName !== name && lineage(c.message.typeName) === lineage(name));
        if (successor !== undefined && current.every((c) => c.message.typeName !== name)) renames.set(name, successor.message.typeName);
      }
      const against = renames.size === 0 ? base.image : join(base.dir, "renamed.binpb");
      if (renames.size > 0) await writeFile(against, renameInImage(baseBytes, renames));
      const currentImage = join(base.dir, "current.binpb");
      await writeFile(currentImage, analysis.image.bytes);
      const { findings: wire, warnings: nameWarnings } = await breakingFindings(base.dir, currentImage, against, analysis.image, config.protoDir);
      findings.push(...wire);
      warnings.push(...nameWarnings);
      const lockedIn = (lock: SchemaLock | undefined) => (message: string) => lock !== undefined && revisionsOf(lock).some((r) => r.message === message);
      const locks = { lockFile: config.lockFile, genCommand: config.commands.gen, inBase: lockedIn(base.lock), inCurrent: lockedIn(currentLock) };
      findings.push(...entityFindings(baseEntities(baseModels, baseImage), analysis.entities?.entities ?? [], analysis.image, retiredMessages(currentLock), lineage, base.label, locks));
      // A field buf already refuses is reported once, by buf.
      const refused = new Set(wire.map((f) => lineOf(f.location)));
      findings.push(...valueFindingsAgainstBase(baseModels, current, lineage, analysis.image).filter((f) => !refused.has(lineOf(f.location))));
    }
    if (base.lock !== undefined && analysis.storedLock !== undefined) findings.push(...lockFindings(base.lock, analysis.storedLock, config.lockFile, config.commands.gen));
  } finally {
    base.cleanup();
  }
  // gen's comparison with the last locked revision and buf's with the base often find the same change once each.
  const seen = new Set<string>();
  const unique = findings.filter((f) => {
    const key = `${f.rule}|${f.location === undefined ? "" : formatLocation(f.location)}|${f.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  return { findings: unique, notes, warnings: [...new Set(warnings)] };
}

/** protocache's value-preservation rule between each entity and what it was in the base (by name, or by lineage when renamed). */
function valueFindingsAgainstBase(base: readonly EntityModel[], current: readonly EntityModel[], lineage: (name: string) => string, image: NonNullable<Awaited<ReturnType<typeof analyzeProject>>["image"]>): Finding[] {
  const findings: Finding[] = [];
  for (const entity of current) {
    const name = entity.message.typeName;
    const was = base.find((b) => b.message.typeName === name) ?? base.find((b) => lineage(b.message.typeName) === lineage(name));
    if (was === undefined || was.major !== entity.major) continue;
    const context = { locate: image.locate, nextMajor: `${packageFamily(entity.message.file.proto.package)}.v${entity.major + 1}` };
    for (const change of valueChanges(was.message, entity.message, renamer(was.message.typeName, name))) findings.push(valueFinding(change, context));
  }
  return findings;
}

interface Base {
  /** Path of a base image file, if the base has schemas. */
  readonly image: string | undefined;
  /** A scratch directory that lives as long as the base. */
  readonly dir: string;
  readonly lock: SchemaLock | undefined;
  readonly label: string;
  cleanup(): void;
}

async function loadBase(options: CheckOptions, root: string, notes: string[]): Promise<Base> {
  const dir = mkdtempSync(join(tmpdir(), "protocache-base-"));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    if (options.againstImage !== undefined) {
      const given = resolve(options.againstImage);
      if (!existsSync(given)) throw new CheckEnvironmentError(`--against-image ${options.againstImage} does not exist`, "build it on the base with: buf build -o <file>");
      // Normalise any image format buf reads (binpb, json, txtpb) to binary.
      const image = join(dir, "base.binpb");
      const converted = await runBuf(["build", given, "-o", image], dir);
      if (converted.code !== 0) throw new CheckEnvironmentError(`--against-image ${options.againstImage} is not a buf image: ${converted.stderr.trim().split("\n")[0] ?? ""}`, "build it on the base with: buf build -o <file>");
      notes.push(`compared with image ${options.againstImage}; the lock history is not compared (an image carries no lock; use --against <ref>)`);
      return { image, dir, lock: undefined, label: options.againstImage, cleanup };
    }
    const ref = options.against ?? "main";
    const commit = resolveRef(root, ref);
    notes.push(`compared with ${ref} (${commit.slice(0, 12)})`);
    // The base's own configuration says where its schemas and lock were.
    const tree = join(dir, "tree");
    exportPaths(root, commit, ["package.json", "buf.yaml", "buf.lock"], tree);
    const baseConfig = await loadConfig(tree, { lenient: true });
    exportPaths(root, commit, [baseConfig.protoDir, baseConfig.lockFile], tree);
    let lock: SchemaLock | undefined;
    try {
      lock = await readLock(tree, baseConfig.lockFile);
    } catch (error) {
      if (!(error instanceof GenError)) throw error;
      notes.push(`the lock at ${ref} does not parse (${error.message}); its history is not compared`);
    }
    if (!existsSync(join(tree, baseConfig.protoDir))) {
      notes.push(`${ref} has no schemas yet: nothing to compare for breaking changes`);
      return { image: undefined, dir, lock, label: ref, cleanup };
    }
    const image = join(dir, "base.binpb");
    const workspace = assembleWorkspace(tree, baseConfig.protoDir, { allowOwnOptions: true });
    const built = await runBuf(["build", "-o", image], workspace.dir).finally(() => workspace.dispose());
    if (built.code !== 0) {
      throw new CheckEnvironmentError(`the schemas at ${ref} do not build, so nothing can be compared with them: ${built.stderr.trim().split("\n")[0] ?? ""}`, "fix the base branch, or compare with another ref (--against) or a saved image (--against-image)");
    }
    return { image, dir, lock, label: ref, cleanup };
  } catch (error) {
    cleanup();
    throw error;
  }
}
