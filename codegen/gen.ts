import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { parseBufDiagnostics, runBuf } from "./buf.js";
import { closureDescriptorSet } from "./descriptor-set.js";
import { collectEntities } from "./entities.js";
import { emitAll } from "./emit.js";
import { GenError, GenErrors, throwIfAny } from "./errors.js";
import { parseImage, type ProtoImage } from "./image.js";
import { appendRevisions, parseLock, serializeLock, verifyLock, type LockRevision, type SchemaLock } from "./lock.js";
import { listFiles } from "./output.js";
import { schemaIdOf } from "./schema-id.js";
import { checkTemplate } from "./template.js";
import { loadConfig, type GenConfig } from "./config.js";
import { typesDir } from "./naming.js";

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
}

/** Options of {@link planGeneration}. */
export interface GenOptions {
  /** UTC date (YYYY-MM-DD) recorded for new lock entries; defaults to SOURCE_DATE_EPOCH or today. */
  readonly date?: string;
}

/**
 * The whole generator pipeline without touching the output: buf lint and
 * build (in parallel) → entities → schema IDs → lock (verified, appended) →
 * ts-proto types → protocache modules. Errors are {@link GenErrors}.
 */
export async function planGeneration(root: string, options: GenOptions = {}): Promise<GenPlan> {
  const config = await loadConfig(root);
  const template = await checkTemplate(config);
  const image = await buildImage(config);
  const entities = collectEntities(image);

  const currentIds = new Map<string, number>();
  const current = entities.entities.map((e) => {
    const id = schemaIdOf(e.message);
    currentIds.set(e.message.typeName, id);
    return {
      id,
      message: e.message.typeName,
      major: e.major,
      descriptor: Buffer.from(closureDescriptorSet(e.message)).toString("base64"),
    };
  });

  const previous = await readLock(config);
  throwIfAny(verifyLock(previous, config.lockFile));
  const { lock, added, errors } = appendRevisions(previous, current, options.date ?? today());
  throwIfAny(errors.map((e) => locateCollision(e, image, entities.entities.map((x) => x.message))));

  const [types, ours] = await Promise.all([
    generateTypes(config, template, image),
    Promise.resolve(emitAll({ config, entities, currentIds, lock })),
  ]);
  const files = new Map<string, string>([...types, ...ours].sort(([a], [b]) => (a < b ? -1 : 1)));
  return { config, files, lock, lockText: serializeLock(lock), added };
}

async function buildImage(config: GenConfig): Promise<ProtoImage & { bytes: Uint8Array }> {
  const [lint, build] = await Promise.all([
    runBuf(["lint", "--error-format=text"], config.root),
    runBuf(["build", "-o", "-"], config.root),
  ]);
  if (build.code !== 0) throw new GenErrors(parseBufDiagnostics("compile", build.stderr || build.stdout.toString()));
  if (lint.code !== 0) throw new GenErrors(parseBufDiagnostics("lint", lint.stdout.toString() + lint.stderr));
  return { ...parseImage(build.stdout, config.protoDir), bytes: build.stdout };
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

/** ts-proto's output for the image, keyed by path relative to the output directory. */
async function generateTypes(config: GenConfig, template: string, image: { bytes: Uint8Array }): Promise<Map<string, string>> {
  const work = await mkdtemp(join(tmpdir(), "protocache-gen-"));
  try {
    const imagePath = join(work, "image.binpb");
    await writeFile(imagePath, image.bytes);
    const outRoot = join(work, "out");
    const result = await runBuf(
      ["generate", imagePath, "--template", join(config.root, template), "--output", outRoot, "--exclude-path", "protocache"],
      config.root,
    );
    if (result.code !== 0) throw new GenErrors(parseBufDiagnostics("ts-proto", result.stderr));
    const typesRoot = join(outRoot, config.outDir, typesDir);
    const files = new Map<string, string>();
    for (const rel of await listFiles(typesRoot)) {
      files.set(posix.join(typesDir, rel), await readFile(join(typesRoot, rel), "utf8"));
    }
    return files;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
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
