import { GenError, GenErrors, loadProjectSchemas, readLock, retiredMessages, type LockedEntity, type LockRevision, type ProjectSchemas } from "../../codegen/index.js";
import { ConfigError, SchemaRegistry } from "../../src/index.js";
import { ExitCode } from "../exit-codes.js";
import { ConnectionError } from "./connect.js";

/** A command-line mistake the user can fix: exit code 2 with this message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Options every key-space command shares. */
export interface KeySpaceArgs {
  readonly root: string;
  readonly entity: string;
  readonly major: number | undefined;
  readonly prefix: string | undefined;
  readonly variant: string | undefined;
  /** Full message name, for a major that is no longer in proto/ (a retired one). */
  readonly message: string | undefined;
}

/** A schema ID as `0x` and 8 hex digits. */
export const hex = (id: number): string => `0x${id.toString(16).padStart(8, "0")}`;

/** The lock's ID table. */
export function registryOf(lock: readonly LockRevision[]): SchemaRegistry {
  return new SchemaRegistry(lock.map((e) => ({ id: e.id, message: e.message, major: e.major, revision: e.revision })));
}

/** The project's schemas; a schema or configuration problem is a usage error. */
export async function projectSchemas(root: string): Promise<ProjectSchemas> {
  try {
    return await loadProjectSchemas(root);
  } catch (error) {
    if (error instanceof GenErrors) throw new UsageError(error.errors.map((e) => e.toLine()).join("\n"));
    if (error instanceof GenError) throw new UsageError(error.toLine());
    throw error;
  }
}

/** The entity in proto/ named `entity` (and of `major`, when given). */
export function findEntity(schemas: ProjectSchemas, entity: string, major: number | undefined): LockedEntity | undefined {
  const candidates = schemas.entities.filter((e) => e.entity === entity && (major === undefined || e.model.major === major));
  if (candidates.length > 1) throw new UsageError(`${entity} has majors ${candidates.map((c) => c.model.major).join(", ")} in proto/: pass --major`);
  return candidates[0];
}

/** The message of a key space: from proto/, or `--message` (checked against the lock) for a major no longer there. */
export function messageOf(schemas: ProjectSchemas, args: KeySpaceArgs): { message: string | undefined; major: number } {
  const found = findEntity(schemas, args.entity, args.major);
  if (found !== undefined) return { message: found.current.message, major: found.model.major };
  if (args.major === undefined) {
    throw new UsageError(`no entity "${args.entity}" in proto/ (entities: ${[...new Set(schemas.entities.map((e) => e.entity))].join(", ") || "none"}); for a retired major pass --major and --message`);
  }
  if (args.message !== undefined && !schemas.lock.some((r) => r.message === args.message && r.major === args.major)) {
    throw new UsageError(`${args.message} has no revision of major ${args.major} in the lock`);
  }
  return { message: args.message, major: args.major };
}

/** Whether code may still read or write a key space, from proto/ and the lock's retirements. */
export interface KeySpaceLiveness {
  /** No live message can be this key space: its major is retired (or nothing in the lock names it). */
  readonly retired: boolean;
  /** Why it is live, for messages, e.g. `acme.user.v1.User is in proto/ and not retired in the lock`. */
  readonly reason: string;
  /** The entity's newest major in proto/: the one services write now (retiring it is no way out). */
  readonly newest: boolean;
}

/**
 * A key space is live while its message is not retired in the lock (in
 * proto/ or not: removing it from proto/ without `protocache retire` is
 * what `check` refuses). Without a message (a major not in proto/ and no
 * `--message`), it is live while the lock has an unretired message of that
 * major that proto/ no longer has: it could be this one.
 */
export async function livenessOf(schemas: ProjectSchemas, entity: string, message: string | undefined, major: number): Promise<KeySpaceLiveness> {
  const retired = retiredMessages(await readLock(schemas.config.root, schemas.config.lockFile));
  const inProto = new Set(schemas.entities.map((e) => e.current.message));
  const majors = schemas.entities.filter((e) => e.entity === entity).map((e) => e.model.major);
  const newest = inProto.has(message ?? "") && majors.every((m) => m <= major);
  if (message !== undefined) {
    if (retired.has(message)) return { retired: true, reason: `${message} is retired in the lock`, newest: false };
    return { retired: false, reason: inProto.has(message) ? `${message} is in ${schemas.config.protoDir}/ and not retired in the lock` : `${message} is not retired in the lock`, newest };
  }
  const unretired = [...new Set(schemas.lock.filter((r) => r.major === major && !retired.has(r.message) && !inProto.has(r.message)).map((r) => r.message))];
  if (unretired.length === 0) return { retired: true, reason: `no unretired message of major ${major} left ${schemas.config.protoDir}/`, newest: false };
  return { retired: false, reason: `the lock has ${unretired.join(", ")} of major ${major}, not retired, which could be ${entity} v${major} (pass --message to name it)`, newest: false };
}

/** Maps what went wrong to the exit code, printing one line (or JSON). */
export function reportFailure(command: string, error: unknown, json: boolean): number {
  const usage = error instanceof UsageError || error instanceof ConnectionError || error instanceof ConfigError;
  const message = error instanceof Error ? error.message : String(error);
  if (json) console.log(JSON.stringify({ ok: false, error: message }, null, 2));
  else console.error(`protocache ${command}: ${message}`);
  return usage ? ExitCode.usage : ExitCode.findings;
}

/** Bytes for people. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
