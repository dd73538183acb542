import { ConfigError } from "../errors.js";
import type { Entity } from "./entity.js";
import { checkKeys } from "./options.js";

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
  if (typeof migrations !== "object" || migrations === null || Array.isArray(migrations)) {
    throw new ConfigError("migrations", `expected an object like { upgrades: { 1: (old, upgraded) => ... } }, got ${migrations === null ? "null" : typeof migrations}`);
  }
  const previous = entity.previous;
  const allowed = previous === undefined ? ["upgrades"] : ["upgrades", "fromPrevious", "toPrevious", "previousKey"];
  checkKeys(migrations as Record<string, unknown>, "migrations", allowed);
  const upgrades = migrations.upgrades;
  if (upgrades !== undefined) {
    if (typeof upgrades !== "object" || upgrades === null || Array.isArray(upgrades)) throw new ConfigError("migrations.upgrades", `expected an object keyed by revision, got ${String(upgrades)}`);
    const older = entity.others.filter((r) => r.revision < entity.current.revision).map((r) => String(r.revision));
    for (const [revision, hook] of Object.entries(upgrades)) {
      if (!older.includes(revision)) {
        throw new ConfigError(`migrations.upgrades.${revision}`, `${entity.typeName} has no older revision ${revision} (older revisions: ${older.join(", ") || "none"}; current: ${entity.current.revision})`);
      }
      if (hook !== undefined && typeof hook !== "function") throw new ConfigError(`migrations.upgrades.${revision}`, `expected a function, got ${typeof hook}`);
    }
  }
  if (previous !== undefined) {
    if (typeof migrations.fromPrevious !== "function") throw new ConfigError("migrations.fromPrevious", `${entity.typeName} migrates from ${previous.entity.typeName}: a function converting its values is required`);
    if (migrations.toPrevious !== undefined && typeof migrations.toPrevious !== "function") throw new ConfigError("migrations.toPrevious", `expected a function, got ${typeof migrations.toPrevious}`);
    if (previous.key === undefined && typeof migrations.previousKey !== "function") {
      throw new ConfigError("migrations.previousKey", `${entity.typeName}'s key fields differ from ${previous.entity.typeName}'s: a function mapping them is required`);
    }
    if (migrations.previousKey !== undefined && typeof migrations.previousKey !== "function") throw new ConfigError("migrations.previousKey", `expected a function, got ${typeof migrations.previousKey}`);
  }
  return migrations;
}
