/**
 * The one validation module: every options object of the runtime, the CLI
 * and the generator's configuration is checked by a spec built from these
 * checks (unknown names refused with the closest valid one, types and
 * ranges checked, a ConfigError naming the option). Public through
 * `protocache/tools`.
 * @packageDocumentation
 */
export {
  arrayOf,
  boolean,
  finite,
  func,
  integer,
  invalid,
  oneOf,
  optional,
  pathOf,
  refine,
  satisfies,
  schemaId,
  text,
  withDefault,
  type Check,
  type Checked,
} from "./checks.js";
export { closestName, editDistance } from "./closest.js";
export { options, unknownOption, type OptionsOf, type OptionsSettings, type Shape, type ShapeOf } from "./options-object.js";
export { MAX_TTL_SECONDS, ttlSeconds } from "./ttl.js";
export { tagList } from "./tags.js";
export { compareModes, memoryStoreOptionsOf, storeOptionsOf, type ResolvedMemoryStoreOptions, type ResolvedStoreOptions } from "./store-options.js";
