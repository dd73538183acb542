import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { bufVersion, parseBufDiagnostics, runBuf, type BufResult } from "./buf.js";
import { ToolCache } from "./cache.js";
import { loadConfig, type GenConfig } from "./config.js";
import { closureDescriptorSet } from "./descriptor-set.js";
import { collectEntities } from "./entities.js";
import { emitAll } from "./emit.js";
import { GenError, GenErrors, throwIfAny } from "./errors.js";
import { parseImage, type ProtoImage } from "./image.js";
import { appendRevisions, normalizeRevisions, parseLock, serializeLock, verifyLock, type LockRevision, type SchemaLock } from "./lock.js";
import { schemaIdOf } from "./schema-id.js";
import { checkTemplate } from "./template.js";
import { runTsProto, startTsProto, tsProtoRequest } from "./ts-proto.js";

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
  /** Entries whose ordinal was corrected (after a merge of two branches). */
  readonly renumbered: readonly { readonly from: LockRevision; readonly to: number }[];
  /** True when the lock file must be written. */
  readonly lockChanged: boolean;
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
  const config = await loadConfig(root);
  const template = await checkTemplate(config);
  const cache = new ToolCache(root);
  // buf lint and the ts-proto plugin start with buf build; a cache hit cancels them.
  const speculative = new AbortController();
  const plugin = startTsProto();
  const lintRun = runBuf(["lint", "--error-format=text"], config.root, speculative.signal);
  lintRun.catch(() => {});
  try {
    const built = await runBuf(["build", "-o", "-"], config.root);
    if (built.code !== 0) throw new GenErrors(parseBufDiagnostics("compile", built.stderr || built.stdout.toString()));
    const image = parseImage(built.stdout, config.protoDir);
    const lint = lintImage(config, built.stdout, cache, lintRun, speculative);
    const types = runTsProto(tsProtoRequest(image, template.opts), cache, plugin);
    types.catch(() => {});
    throwIfAny(await lint);
    return await finishPlan(config, image, types, options);
  } finally {
    plugin.cancel();
    speculative.abort();
  }
}

async function finishPlan(config: GenConfig, image: ProtoImage, types: Promise<Map<string, string>>, options: GenOptions): Promise<GenPlan> {
  const entities = collectEntities(image);

  const currentIds = new Map<string, number>();
  const current = entities.entities.map((e) => {
    const id = schemaIdOf(e.message);
    currentIds.set(e.message.typeName, id);
    return { id, message: e.message.typeName, major: e.major, descriptor: Buffer.from(closureDescriptorSet(e.message)).toString("base64") };
  });

  const stored = await readLock(config);
  throwIfAny(verifyLock(stored, config.lockFile));
  const { lock: previous, renumbered } = normalizeRevisions(stored);
  const { lock, added, errors } = appendRevisions(previous, current, options.date ?? today());
  throwIfAny(errors.map((e) => locateCollision(e, image, entities.entities.map((x) => x.message))));

  const ours = emitAll({ config, entities, currentIds, lock });
  const files = new Map<string, string>([...(await types), ...ours].sort(([a], [b]) => (a < b ? -1 : 1)));
  return { config, files, lock, lockText: serializeLock(lock), added, renumbered, lockChanged: added.length + renumbered.length > 0 };
}

/** buf lint's findings; a clean verdict is cached for the exact image bytes and lint configuration. */
async function lintImage(config: GenConfig, imageBytes: Uint8Array, cache: ToolCache, running: Promise<BufResult>, stop: AbortController): Promise<GenError[]> {
  const bufYaml = await readFile(join(config.root, "buf.yaml")).catch(() => Buffer.alloc(0));
  const key = ToolCache.key("lint", bufVersion(), bufYaml, imageBytes);
  if ((await cache.get<boolean>("lint", key)) === true) {
    stop.abort();
    return [];
  }
  const lint = await running;
  if (lint.code === 0) {
    await cache.set("lint", key, true);
    return [];
  }
  return parseBufDiagnostics("lint", lint.stdout.toString() + lint.stderr);
}

async function readLock(config: GenConfig): Promise<SchemaLock> {
  let text: string;
  try {
    text = await readFile(join(config.root, config.lockFile), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { entries: [] };
    throw error;
  }
  return parseLock(text, config.lockFile);
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
