import type { Reader } from "../codec/reader.js";
import type { Writer } from "../codec/writer.js";
import { ConfigError } from "../errors.js";
import { validateEntityName } from "../keys.js";
import type { SchemaRegistry } from "../registry.js";

/** One revision of an entity message, as generated from the schema lock. */
export interface RevisionInfo<T> {
  readonly schemaId: number;
  /** 1-based revision ordinal. */
  readonly revision: number;
  /**
   * Applies declared defaults to a value read from an entry of this
   * revision: fields the revision did not have, and unset `optional` fields.
   * Absent when there is nothing to fill.
   */
  readonly fill?: ((value: T) => void) | undefined;
}

/** Everything the runtime needs about one entity; written by the generator, not by hand. */
export interface EntityDefinition<T, K> {
  /** Full message name, e.g. `acme.user.v1.User`. */
  readonly typeName: string;
  /** Entity name from the key template, e.g. `user`. */
  readonly entity: string;
  readonly major: number;
  readonly current: RevisionInfo<T>;
  /** Every other locked revision of this message (older ones, in practice). */
  readonly others: readonly RevisionInfo<T>[];
  /** Default TTL from the schema; 0 for none. */
  readonly ttlSeconds: number;
  /** Key field property names, in template order. */
  readonly keyFields: readonly string[];
  /** The key after `{prefix}{entity}:v{major}[:{variant}]:`, escaped. */
  readonly key: (fields: K) => string;
  readonly encode: (w: Writer, value: T) => void;
  readonly decode: (r: Reader, end: number) => T;
  /** The whole schema lock, to tell IDs of other messages from unknown ones. */
  readonly registry: SchemaRegistry;
}

/** A validated entity definition with its revisions indexed by schema ID. */
export interface Entity<T, K> extends EntityDefinition<T, K> {
  readonly revisionsById: ReadonlyMap<number, RevisionInfo<T>>;
}

/** Validates a generated entity definition and indexes its revisions; called by generated modules. */
export function defineEntity<T, K>(definition: EntityDefinition<T, K>): Entity<T, K> {
  validateEntityName(definition.entity, definition.typeName);
  const revisionsById = new Map<number, RevisionInfo<T>>();
  for (const rev of [definition.current, ...definition.others]) {
    if (revisionsById.has(rev.schemaId)) throw new ConfigError("revisions", `${definition.typeName} lists schema ID ${rev.schemaId} twice`);
    revisionsById.set(rev.schemaId, rev);
  }
  return { ...definition, revisionsById };
}
