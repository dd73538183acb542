import { ConfigError } from "../errors.js";
import { func, optional, options, pathOf, refine, satisfies, type Shape } from "../validation/index.js";
import type { Entity } from "./entity.js";

/**
 * A service's migration code for one entity, as the generated
 * `defineUserCache({...})` receives it (typed there per revision and
 * major; loosely typed here, where the runtime only calls it).
 */
export interface Migrations<T, K> {
  /** Per older revision: (the value as that revision wrote it, the value after declared defaults) → current value. */
  readonly upgrades?: Readonly<Record<number, ((old: never, upgraded: T) => T) | undefined>> | undefined;
  /** Previous major's value → this major's (required when the entity has `migrates_from`). */
  readonly fromPrevious?: ((old: never) => T) | undefined;
  /** This major's value → the previous major's, for dual-write. */
  readonly toPrevious?: ((value: T) => unknown) | undefined;
  /** This major's key fields → the previous major's (required when the generator could not derive them). */
  readonly previousKey?: ((fields: K) => unknown) | undefined;
}

const defined = new WeakMap<object, Migrations<unknown, unknown>>();

/**
 * Records a service's migrations for an entity, once per process: every
 * accessor of the entity (whichever factory made it, including tools such
 * as `migrate` that take an accessor) then uses the same hooks. Defining
 * different migrations for the same entity again is a ConfigError; the same
 * object again is a no-op. Validates the shape (known revisions only).
 */
export function defineMigrations<T, K>(entity: Entity<T, K>, migrations: object): void {
  const m = checkMigrations(entity, migrations as Migrations<T, K>);
  const existing = defined.get(entity);
  if (existing === m) return;
  if (existing !== undefined) {
    throw new ConfigError(
      "migrations",
      `${entity.typeName} already has migrations from another define call: define them once, in one module, and import that factory everywhere`,
    );
  }
  defined.set(entity, m as Migrations<unknown, unknown>);
}

/** The migrations defined for an entity, if any. */
export function migrationsOf<T, K>(entity: Entity<T, K>): Migrations<T, K> | undefined {
  return defined.get(entity) as Migrations<T, K> | undefined;
}

function checkMigrations<T, K>(entity: Entity<T, K>, migrations: Migrations<T, K>): Migrations<T, K> {
  const older = entity.others.filter((r) => r.revision < entity.current.revision).map((r) => String(r.revision));
  const hook = optional(func());
  const upgrades = refine(satisfies<Record<string, unknown>>(isRecord, "an object keyed by revision, like { 1: (old, upgraded) => ... }"), (byRevision, path) => {
    for (const [revision, fn] of Object.entries(byRevision)) {
      if (!older.includes(revision)) {
        throw new ConfigError(pathOf(path, revision), `${entity.typeName} has no older revision ${revision} (older revisions: ${older.join(", ") || "none"}; current: ${entity.current.revision})`);
      }
      hook(fn, pathOf(path, revision));
    }
    return byRevision;
  });
  const previous = entity.previous;
  const shape: Shape =
    previous === undefined
      ? { upgrades: optional(upgrades) }
      : {
          upgrades: optional(upgrades),
          fromPrevious: func(`a function converting ${previous.entity.typeName} values (${entity.typeName} migrates from it)`),
          toPrevious: hook,
          previousKey: previous.key === undefined ? func(`a function mapping ${entity.typeName}'s key fields to ${previous.entity.typeName}'s (they differ)`) : hook,
        };
  options(shape, { expected: "an object like { upgrades: { 1: (old, upgraded) => ... } }", optional: false })(migrations, "migrations");
  return migrations;
}

function isRecord(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
