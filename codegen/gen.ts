import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bufVersion, findBuf, parseBufDiagnostics, runBuf, type BufResult } from "./buf.js";
import { ToolCache } from "./cache.js";
import { loadConfig, type GenConfig } from "./config.js";
import { closureDescriptorSet } from "./descriptor-set.js";
import { collectEntities, declaredRenames, type EntitySet } from "./entities.js";
import { emitAll } from "./emit.js";
import { constructedMessages } from "./emit-create.js";
import { defaultDocs } from "./emit-defaults.js";
import { FindingError } from "./check/finding.js";
import { GenError, GenErrors, type SourceLocation } from "./errors.js";
import { parseImage, type ProtoImage } from "./image.js";
import {
  appendRevisions,
  lockLineage,
  normalizeRevisions,
  parseLock,
  retiredMessages,
  revisionsOf,
  serializeLock,
  verifyLock,
  type LineageOf,
  type LockRevision,
  type SchemaLock,
} from "./lock.js";
import { formatSchemaId, schemaIdOf } from "./schema-id.js";
import { compatibilityWithLocked, numberReuseErrors, valueChangesAgainstLocked } from "./history.js";
import { lazyTsProto, runTsProto, startTsProto, tsProtoRequest, type TsProtoProcess } from "./ts-proto.js";
import { tsProtoOptions } from "./ts-proto-options.js";
import { assembleWorkspace, type BufWorkspace } from "./workspace.js";
import { listFiles } from "./output.js";

/** Everything one generator run produced, before anything is written. */
export interface GenPlan {
  readonly config: GenConfig;
  /** Generated files by path relative to the output directory. */
  readonly files: ReadonlyMap<string, string>;
  /** The lock after appending this run's new revisions. */
  readonly lock: SchemaLock;
  readonly lockText: string;
  /** Revisions appended by this run. */
  readonly added: readonly LockRevision[];
  /**
   * The current revision of each example entity (`example: true`): generated
   * as revision 1, never written to the lock (not in {@link lock}).
   */
  readonly examples: readonly LockRevision[];
  /** Changes gen accepts but reports, e.g. a reserved field name made free again (it matters only to JSON clients). */
  readonly warnings: readonly string[];
  /**
   * Messages with revisions in the lock that are neither in the schemas (under
   * any name of their lineage) nor retired: `check` reports them as
   * `entity-removed` until they are retired or restored.
   */
  readonly orphaned: readonly string[];
  /** Entries whose ordinal was corrected (after a merge of two branches, or a rename). */
  readonly renumbered: readonly { readonly from: LockRevision; readonly to: number }[];
  /** True when the lock file must be written. */
  readonly lockChanged: boolean;
}

/** What an analysis of the project found: the plan when there were no errors, and every error otherwise. */
export interface GenAnalysis {
  readonly config: GenConfig;
  /** The compiled schemas, unless they did not compile. */
  readonly image: ProtoImage | undefined;
  readonly entities: EntitySet | undefined;
  /** The lock as stored, if it could be read. */
  readonly storedLock: SchemaLock | undefined;
  readonly errors: readonly GenError[];
  readonly plan: GenPlan | undefined;
}

/** Options of {@link planGeneration}. */
export interface GenOptions {
  /** UTC date (YYYY-MM-DD) recorded for new lock entries; defaults to SOURCE_DATE_EPOCH or today. */
  readonly date?: string;
}

/**
 * The whole generator pipeline without touching the output: buf build →
 * (buf lint ‖ ts-proto, both cached by content) → entities → schema IDs →
 * lock (verified, appended) → protocache modules. Errors are {@link GenErrors}.
 */
export async function planGeneration(root: string, options: GenOptions = {}): Promise<GenPlan> {
  const analysis = await analyzeProject(root, options);
  if (analysis.plan === undefined) throw new GenErrors(analysis.errors);
  return analysis.plan;
}

/**
 * Runs the pipeline and collects every problem it can find in one pass
 * (lint, entities, lock) instead of stopping at the first kind; `gen` and
 * `check` both build on it. Configuration problems (no buf, a broken
 * buf.yaml) still throw.
 */
export async function analyzeProject(root: string, options: GenOptions = {}): Promise<GenAnalysis> {
  const config = await loadConfig(root);
  const cache = new ToolCache(root);
  findBuf(); // fails fast (buf-missing) before any child process is started
  if (!(await listFiles(join(config.root, config.protoDir))).some((f) => f.endsWith(".proto"))) {
    throw new GenError("config", `${config.protoDir}/ has no .proto files: add an entity there (\`npx protocache init\` writes an example)`, { file: config.protoDir });
  }
  const workspace = assembleWorkspace(config.root, config.protoDir);
  const speculative = new AbortController();
  let plugin: TsProtoProcess | undefined;
  const none = { config, image: undefined, entities: undefined, storedLock: undefined, plan: undefined };
  try {
    // When these exact sources were seen before, lint and ts-proto will be cache hits: start nothing
    // extra. Otherwise start buf lint and the ts-proto plugin together with buf build.
    const fingerprint = await sourceFingerprint(config, workspace);
    const warm = (await cache.get<boolean>("sources", fingerprint)) === true;
    plugin = warm ? lazyTsProto() : startTsProto();
    const lintRun = warm ? undefined : runBuf(["lint", "--error-format=text"], workspace.dir, speculative.signal);
    lintRun?.catch(() => {});
    const built = await runBuf(["build", "-o", "-"], workspace.dir);
    if (built.code !== 0) return { ...none, errors: parseBufDiagnostics("compile", built.stderr || built.stdout.toString()) };
    const image = parseImage(built.stdout, config.protoDir);
    const lint = lintImage(workspace, built.stdout, cache, lintRun, speculative);
    const entities = collectEntities(image);
    const types = runTsProto(tsProtoRequest(image, tsProtoOptions, defaultDocs(entities.defaults, constructedMessages(entities))), cache, plugin);
    types.catch(() => {});
    const errors = [...(await lint)];
    errors.push(...entities.errors);
    let stored: SchemaLock | undefined;
    try {
      stored = await readLock(config.root, config.lockFile);
      errors.push(...verifyLock(stored, config.lockFile, config.commands.gen));
    } catch (error) {
      if (!(error instanceof GenError)) throw error;
      errors.push(error);
    }
    if (stored === undefined || errors.length > 0) return { ...none, image, entities, storedLock: stored, errors };
    const planned = await finishPlan(config, image, entities, stored, types, options);
    if (planned.plan !== undefined) await cache.set("sources", fingerprint, true);
    return { config, image, entities, storedLock: stored, errors: planned.errors, plan: planned.plan };
  } finally {
    plugin?.cancel();
    speculative.abort();
    workspace.dispose();
  }
}

async function finishPlan(
  config: GenConfig,
  image: ProtoImage,
  entities: EntitySet,
  stored: SchemaLock,
  types: Promise<Map<string, string>>,
  options: GenOptions,
): Promise<{ plan: GenPlan | undefined; errors: GenError[] }> {
  const errors: GenError[] = [];
  const declared = declaredRenames(entities.entities);
  const lineage = lockLineage(stored, declared);
  const retired = retiredMessages(stored);
  const lockedNames = new Set(revisionsOf(stored).map((e) => e.message));
  for (const e of entities.entities) {
    const at = image.locate(e.message);
    if (retired.has(e.message.typeName)) {
      errors.push(new GenError("retired-entity", `${e.message.typeName} was retired in the lock and cannot come back: give the entity a new name or a new major`, at));
    }
    if (e.renamedFrom !== undefined && !lockedNames.has(e.renamedFrom)) {
      errors.push(new GenError("renamed-from", `${e.message.typeName}: renamed_from "${e.renamedFrom}" has no revision in the lock, so there are no entries to carry over: remove the option`, at));
    }
    const first = revisionsOf(stored).find((r) => r.message === e.message.typeName);
    if (e.renamedFrom !== undefined && lockedNames.has(e.renamedFrom) && first !== undefined && lineage(e.message.typeName) !== lineage(e.renamedFrom)) {
      // The rename is recorded on the new name's first lock line only: declared later, it would silently change nothing.
      errors.push(
        new FindingError({
          rule: "renamed-from",
          location: at,
          message: `${e.message.typeName}: renamed_from "${e.renamedFrom}" comes after ${e.message.typeName} r${first.revision} (${formatSchemaId(first.id)}) was locked without it, so the rename is not recorded`,
          breaks: `entries written as ${e.renamedFrom} would read as wrong_type misses under the new name, and check keeps reporting ${e.renamedFrom} as removed`,
          fix: `if ${e.message.typeName} was locked only on this branch, restore ${config.lockFile} from the base branch and run ${config.commands.gen} (it records the rename); if it was released, remove renamed_from and run \`protocache retire ${e.renamedFrom}\``,
        }),
      );
    }
  }

  const currentIds = new Map<string, number>();
  const current = entities.entities.map((e) => {
    const id = schemaIdOf(e.message);
    currentIds.set(e.message.typeName, id);
    return { id, message: e.message.typeName, major: e.major, descriptor: Buffer.from(closureDescriptorSet(e.message)).toString("base64"), renamedFrom: e.renamedFrom };
  });
  const examples = new Set(entities.entities.filter((e) => e.example).map((e) => e.message.typeName));
  const { lock: previous, renumbered } = normalizeRevisions(stored, lineage);
  for (const name of examples) {
    const locked = revisionsOf(previous).find((r) => lineage(r.message) === lineage(name));
    if (locked === undefined) continue;
    const desc = image.registry.getMessage(name);
    errors.push(
      new FindingError({
        rule: "example-entity",
        location: desc === undefined ? undefined : image.locate(desc),
        message: `${name} is marked \`example: true\` but ${locked.message} r${locked.revision} (${formatSchemaId(locked.id)}) is in the lock`,
        breaks: "entries of its locked revisions may be cached: as an example it would be generated without that history, and its next change would go unchecked against them",
        fix: "remove `example: true`: a locked entity cannot become an example again",
      }),
    );
  }
  // Examples are generated like any entity but never locked: the lock on disk gets only the others' revisions.
  const appended = appendRevisions(previous, current.filter((c) => !examples.has(c.message)), options.date ?? today(), lineage);
  const withExamples = appendRevisions(appended.lock, current.filter((c) => examples.has(c.message)), options.date ?? today(), lineage);
  const messages = entities.entities.map((x) => x.message);
  errors.push(...[...appended.errors, ...withExamples.errors].map((e) => locateCollision(e, image, messages)));
  // The lock's whole history: numbers reused after a gap, and (before locking anything) value preservation against every
  // locked revision of the major and wire compatibility with the last one.
  errors.push(...numberReuseErrors({ lock: previous, lineageOf: lineage, entities: entities.entities.filter((e) => !e.example), currentIds, image }));
  const warnings: string[] = [];
  if (errors.length === 0) {
    const wire = await compatibilityWithLocked(appended.added, appended.lock, lineage, image, config.protoDir);
    warnings.push(...wire.warnings);
    // A field buf already refuses is reported once, by buf.
    const refused = new Set(wire.errors.map((e) => lineOf(e.location)));
    errors.push(...wire.errors, ...valueChangesAgainstLocked(appended.added, appended.lock, lineage, entities.entities, image).filter((e) => !refused.has(lineOf(e.location))));
  }
  if (errors.length > 0) return { plan: undefined, errors };

  const lock = appended.lock;
  const ours = emitAll({ config, entities, currentIds, lock: withExamples.lock, lineageOf: lockLineage(withExamples.lock) });
  const files = new Map<string, string>([...(await types), ...ours].sort(([a], [b]) => (a < b ? -1 : 1)));
  const added = appended.added;
  return {
    plan: { config, files, lock, lockText: serializeLock(lock), added, examples: withExamples.added, renumbered, lockChanged: added.length + renumbered.length > 0, warnings, orphaned: orphanedMessages(lock, entities.entities, lineage) },
    errors,
  };
}

/** Locked, not retired, and gone from the schemas under every name of its lineage. */
function orphanedMessages(lock: SchemaLock, entities: readonly { readonly message: { readonly typeName: string } }[], lineage: LineageOf): string[] {
  const retired = retiredMessages(lock);
  const present = new Set(entities.map((e) => lineage(e.message.typeName)));
  const names = [...new Set(revisionsOf(lock).map((r) => r.message))];
  return names.filter((name) => !retired.has(name) && !present.has(lineage(name)) && !names.some((other) => other !== name && retired.has(other) && lineage(other) === lineage(name)));
}

/** `file:line` of a location, to tell two rules' findings on one declaration. */
export function lineOf(location: SourceLocation | undefined): string {
  return location === undefined ? "" : `${location.file}:${location.line ?? ""}`;
}

/** buf lint's findings; a clean verdict is cached for the exact image bytes and lint configuration. */
async function lintImage(workspace: BufWorkspace, imageBytes: Uint8Array, cache: ToolCache, running: Promise<BufResult> | undefined, stop: AbortController): Promise<GenError[]> {
  const key = ToolCache.key("lint", bufVersion(), workspace.config, imageBytes);
  if ((await cache.get<boolean>("lint", key)) === true) {
    stop.abort();
    return [];
  }
  const lint = await (running ?? runBuf(["lint", "--error-format=text"], workspace.dir));
  if (lint.code === 0) {
    await cache.set("lint", key, true);
    return [];
  }
  return parseBufDiagnostics("lint", lint.stdout.toString() + lint.stderr);
}

/** A hash of everything lint and ts-proto read: the workspace's buf.yaml, ts-proto's options and every .proto file. */
async function sourceFingerprint(config: GenConfig, workspace: BufWorkspace): Promise<string> {
  const parts: (string | Uint8Array)[] = [bufVersion(), workspace.config, tsProtoOptions.join(",")];
  for (const file of (await listFiles(join(config.root, config.protoDir))).filter((f) => f.endsWith(".proto"))) {
    parts.push(file, await readFile(join(config.root, config.protoDir, file)));
  }
  return ToolCache.key(...parts);
}

/** Reads and parses the lock file (relative to `root`); a missing file is an empty lock. */
export async function readLock(root: string, lockFile: string): Promise<SchemaLock> {
  let text: string;
  try {
    text = await readFile(join(root, lockFile), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [] };
    throw error;
  }
  return parseLock(text, lockFile);
}

function locateCollision(error: GenError, image: ProtoImage, messages: readonly { typeName: string }[]): GenError {
  const named = messages.find((m) => error.message.includes(` of ${m.typeName} `));
  const desc = named === undefined ? undefined : image.registry.getMessage(named.typeName);
  return desc === undefined ? error : new GenError(error.rule, error.message, image.locate(desc));
}

/** Date for new lock entries: SOURCE_DATE_EPOCH (reproducible builds) or today, UTC. */
export function today(): string {
  const epoch = process.env["SOURCE_DATE_EPOCH"];
  const ms = epoch !== undefined && /^\d+$/.test(epoch) ? Number(epoch) * 1000 : Date.now();
  return new Date(ms).toISOString().slice(0, 10);
}

export { loadConfig };
