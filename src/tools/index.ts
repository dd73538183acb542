/**
 * `protocache/tools`: for tools built on protocache (the operations
 * commands, inspectors, the generator's configuration), not for
 * application code and not for generated code:
 *
 * - the one validation module: the checks every options object of the
 *   runtime, the CLI and the generator is made of (`options`, `integer`,
 *   `oneOf`, …), the closest-name search behind "did you mean", the
 *   store-option validators, and the checks of the walking operations'
 *   shared options (`walkOptionChecks`, whose ranges the CLI's flags take);
 * - an accessor's internals (`internalsOf(accessor)`): its entity, store,
 *   key space and the very read path `get` runs (`interpret`), so a tool
 *   reads entries exactly as the accessor does;
 * - the migrations defined for an entity (`migrationsOf`) and the types of
 *   an entity definition (what a tool building an entity from descriptors
 *   returns).
 * @packageDocumentation
 */
export {
  arrayOf,
  boolean,
  closestName,
  compareModes,
  editDistance,
  finite,
  func,
  integer,
  invalid,
  MAX_TTL_SECONDS,
  memoryStoreOptionsOf,
  oneOf,
  optional,
  options,
  pathOf,
  refine,
  satisfies,
  schemaId,
  storeOptionsOf,
  text,
  ttlSeconds,
  unknownOption,
  withDefault,
  type Check,
  type Checked,
  type OptionsOf,
  type OptionsSettings,
  type ResolvedMemoryStoreOptions,
  type ResolvedStoreOptions,
  type Shape,
  type ShapeOf,
} from "../validation/index.js";
export { ConfigError, type ConfigErrorDetails } from "../errors.js";
export { walkOptionChecks } from "../ops/walk.js";
export { accessorInternals, internalsOf, type AccessorInternals, type PreviousMajor } from "../accessor/internals.js";
export { migrationsOf, type Migrations } from "../accessor/migrations.js";
export { entityOfFactory, factoryEntity } from "../accessor/factory.js";
export { interpret, type Interpretation } from "../accessor/read.js";
export type { EntityDefinition, RevisionInfo } from "../accessor/entity.js";
