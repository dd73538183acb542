import type { Reader } from "../codec/reader.js";
import type { Writer } from "../codec/writer.js";
import { ConfigError } from "../errors.js";
import { validateEntityName } from "../keys.js";
import { ttlSeconds } from "../validation/index.js";
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
  /**
   * The value as this (older) revision wrote it: its fields under its own
   * names, copied from the value decoded with the current codec, before
   * declared defaults. Upgrade hooks receive it. Absent for the current revision.
   */
  readonly view?: ((value: T) => unknown) | undefined;
}

/** The previous major an entity migrates from (`migrates_from`), as generated. */
export interface PreviousMajor<K> {
  /** The previous major's entity (its own revisions, key template and codec). */
  readonly entity: Entity<unknown, unknown>;
  /**
   * The previous major's key fields for this major's key fields, when the
   * generator could derive them (same names and types); otherwise the
   * service's migrations supply `previousKey`.
   */
  readonly key: ((fields: K) => unknown) | undefined;
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
  /** Default TTL from the schema; 0 for none; at most `MAX_TTL_SECONDS` (10 years). */
  readonly ttlSeconds: number;
  /** Key field property names, in template order. */
  readonly keyFields: readonly string[];
  /** The key after `{prefix}{entity}:v{major}[:{variant}]:`, escaped. */
  readonly key: (fields: K) => string;
  readonly encode: (w: Writer, value: T) => void;
  readonly decode: (r: Reader, end: number) => T;
  /** A value with every field at its zero value (`newUser`): where legacy values are built. */
  readonly newValue?: (() => T) | undefined;
  /** Declared defaults of top-level fields by property name: what a legacy value lacking the field gets. */
  readonly defaults?: Readonly<Record<string, unknown>> | undefined;
  /** The previous major, for an entity with `migrates_from`. */
  readonly previous?: PreviousMajor<K> | undefined;
  /** The whole schema lock, to tell IDs of other messages from unknown ones. */
  readonly registry: SchemaRegistry;
}

/** Links an entity to the previous major it migrates from (generated code calls it; it erases the previous major's types). */
export function previousMajor<K, P, PK>(entity: Entity<P, PK>, key: ((fields: K) => PK) | undefined): PreviousMajor<K> {
  return { entity: entity as unknown as Entity<unknown, unknown>, key };
}

/** A validated entity definition with its revisions indexed by schema ID. */
export interface Entity<T, K> extends EntityDefinition<T, K> {
  readonly revisionsById: ReadonlyMap<number, RevisionInfo<T>>;
}

/** Validates a generated entity definition and indexes its revisions; called by generated modules. */
export function defineEntity<T, K>(definition: EntityDefinition<T, K>): Entity<T, K> {
  validateEntityName(definition.entity, definition.typeName);
  ttlSeconds("no expiry")(definition.ttlSeconds, `ttl_seconds of ${definition.typeName}`);
  const revisionsById = new Map<number, RevisionInfo<T>>();
  for (const rev of [definition.current, ...definition.others]) {
    if (revisionsById.has(rev.schemaId)) throw new ConfigError("revisions", `${definition.typeName} lists schema ID ${rev.schemaId} twice`);
    revisionsById.set(rev.schemaId, rev);
  }
  return { ...definition, revisionsById };
}
