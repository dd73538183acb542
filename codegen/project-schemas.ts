import type { DescField } from "@bufbuild/protobuf";
import { findBuf, parseBufDiagnostics, runBuf } from "./buf.js";
import { loadConfig, type GenConfig } from "./config.js";
import { collectEntities, type DeclaredDefault, type EntityModel } from "./entities.js";
import { GenError, GenErrors } from "./errors.js";
import { readLock } from "./gen.js";
import { parseImage } from "./image.js";
import { revisionsOf, type LockRevision } from "./lock.js";
import { schemaIdOf } from "./schema-id.js";
import { closureDescriptorSet } from "./descriptor-set.js";
import { assembleWorkspace } from "./workspace.js";

/** An entity as the operations commands need it: its model from proto/ and its revisions from the lock. */
export interface LockedEntity {
  readonly model: EntityModel;
  /** Entity name from the key template. */
  readonly entity: string;
  /** The lock entry of the schema in proto/ now (what the current code writes). */
  readonly current: LockRevision;
  /** Every locked revision of the message, oldest first. */
  readonly revisions: readonly LockRevision[];
}

/** The project's schemas for operations: entities with their declared defaults, and the whole lock. */
export interface ProjectSchemas {
  readonly config: GenConfig;
  /** Every revision in the lock, of every message (retired ones too), and the one revision of each example entity. */
  readonly lock: readonly LockRevision[];
  readonly entities: readonly LockedEntity[];
  readonly defaults: ReadonlyMap<DescField, DeclaredDefault>;
}

/** The revision gen generates for an example entity (revision 1, never written to the lock). */
function exampleRevision(model: EntityModel): LockRevision {
  const descriptor = Buffer.from(closureDescriptorSet(model.message)).toString("base64");
  return { kind: "revision", id: schemaIdOf(model.message), message: model.message.typeName, major: model.major, revision: 1, firstGenerated: "", descriptor };
}

/** Only the lock (no buf run): what decoding any stored entry needs. */
export async function loadLockRevisions(root: string): Promise<{ config: GenConfig; lock: LockRevision[] }> {
  const config = await loadConfig(root);
  return { config, lock: revisionsOf(await readLock(config.root, config.lockFile)) };
}

/** proto/ compiled with buf (no lint, no code generation) and its entities collected; a GenErrors when it does not compile. */
async function compiledEntities(root: string): Promise<{ config: GenConfig; set: ReturnType<typeof collectEntities> }> {
  const config = await loadConfig(root);
  findBuf();
  const workspace = assembleWorkspace(config.root, config.protoDir);
  try {
    const built = await runBuf(["build", "-o", "-"], workspace.dir);
    if (built.code !== 0) throw new GenErrors(parseBufDiagnostics("compile", built.stderr || built.stdout.toString()));
    return { config, set: collectEntities(parseImage(built.stdout, config.protoDir)) };
  } finally {
    workspace.dispose();
  }
}

/**
 * The entities declared in proto/ now, by full message name (compiled with
 * buf, nothing else checked): what `retire` must not retire.
 */
export async function entityMessagesInProto(root: string): Promise<ReadonlySet<string>> {
  return new Set((await compiledEntities(root)).set.entities.map((e) => e.message.typeName));
}

/**
 * Compiles proto/ (buf build, no lint, no code generation) and pairs every
 * entity with its locked revisions. Fails with a GenError when the sources
 * do not compile, or when an entity's schema is not in the lock yet (run
 * gen first: operations work on what was locked).
 */
export async function loadProjectSchemas(root: string): Promise<ProjectSchemas> {
  const { config, set } = await compiledEntities(root);
  if (set.errors.length > 0) throw new GenErrors(set.errors);
  const lock = revisionsOf(await readLock(config.root, config.lockFile));
  // An example (`example: true`) is never locked: its one revision is what gen generates for it.
  for (const model of set.entities.filter((e) => e.example)) lock.push(exampleRevision(model));
  const entities = set.entities.map((model): LockedEntity => {
    const id = schemaIdOf(model.message);
    const current = lock.find((r) => r.id === id);
    if (current === undefined) {
      throw new GenError("config", `${model.message.typeName} in ${config.protoDir}/ is not in ${config.lockFile} yet: run ${config.commands.gen} first`, { file: config.lockFile });
    }
    const revisions = lock.filter((r) => r.message === current.message).sort((a, b) => a.revision - b.revision);
    return { model, entity: model.key.entity, current, revisions };
  });
  return { config, lock, entities, defaults: set.defaults };
}
