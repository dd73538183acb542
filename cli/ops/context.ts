import { GenError, GenErrors, loadProjectSchemas, type LockedEntity, type LockRevision, type ProjectSchemas } from "../../codegen/index.js";
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
