import { internalsOf, type AccessorInternals } from "../accessor/internals.js";
import { ConfigError } from "../errors.js";
import { keyBase, validatePrefix } from "../keys.js";
import type { MetricRecorder, MetricsSink } from "../metrics/sink.js";
import type { SchemaRegistry } from "../registry.js";
import { isScanCapable, type ScanCapable } from "../stores/bulk.js";
import type { CacheStore } from "../stores/store.js";

/**
 * The keys of one entity and major (optionally one variant) on a store:
 * what census and cleanup walk. Every key handled starts with `namespace`,
 * whatever SCAN returns.
 */
export interface KeySpace {
  readonly store: CacheStore & ScanCapable;
  /** `{prefix}{entity}:v{major}:` (or `…:{variant}:`). */
  readonly namespace: string;
  /** The SCAN pattern: `namespace` with glob characters escaped, then `*`. */
  readonly match: string;
  readonly entity: string;
  readonly major: number;
  /** Full name of the key space's message, when known. */
  readonly message: string | undefined;
  /** The lock's ID table: names schema IDs in reports. */
  readonly registry: SchemaRegistry;
  /** Receives operation outcomes. */
  readonly recorder: MetricRecorder | undefined;
}

/** How to name a key space without an accessor (what the CLI does from the schema lock). */
export interface KeySpaceSpec {
  readonly store: CacheStore;
  /** Entity name from the key template, e.g. `user`. */
  readonly entity: string;
  readonly major: number;
  readonly prefix?: string;
  readonly variant?: string;
  readonly registry: SchemaRegistry;
  readonly metrics?: MetricsSink;
  /** The message of this entity and major, if known (for metrics). */
  readonly message?: string;
}

const entityName = /^[a-z][a-z0-9_-]*$/;

/** Escapes Redis glob characters, so a pattern matches exactly this text. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** A key space from an accessor (its store, prefix, entity, major and variant) or from a spec. */
export function keySpaceOf(target: unknown): KeySpace {
  const internals = internalsOf<unknown>(target);
  if (internals !== undefined) return fromInternals(internals);
  if (typeof target !== "object" || target === null || !("entity" in target) || !("store" in target)) {
    throw new ConfigError("target", "expected an accessor made by protocache (e.g. userCache(store)) or a key space { store, entity, major, registry }");
  }
  const spec = target as KeySpaceSpec;
  if (typeof spec.entity !== "string" || !entityName.test(spec.entity) || /^v[0-9]+$/.test(spec.entity)) {
    throw new ConfigError("entity", `expected an entity name like "user" ([a-z][a-z0-9_-]*), got ${JSON.stringify(spec.entity)}`);
  }
  if (!Number.isSafeInteger(spec.major) || spec.major < 1) throw new ConfigError("major", `expected a major version >= 1, got ${String(spec.major)}`);
  const store = scanCapable(spec.store);
  const namespace = keyBase(validatePrefix(spec.prefix ?? ""), spec.entity, spec.major, spec.variant);
  const recorder = spec.metrics?.bind({ message: spec.message ?? "", entity: spec.entity, major: spec.major, schemaId: 0, variant: spec.variant });
  return { store, namespace, match: `${globEscape(namespace)}*`, entity: spec.entity, major: spec.major, message: spec.message, registry: spec.registry, recorder };
}

function fromInternals(internals: AccessorInternals<unknown>): KeySpace {
  return {
    store: scanCapable(internals.store),
    namespace: internals.keyBase,
    match: `${globEscape(internals.keyBase)}*`,
    entity: internals.entity.entity,
    major: internals.entity.major,
    message: internals.entity.typeName,
    registry: internals.entity.registry,
    recorder: internals.recorder,
  };
}

/** The store, checked to offer bulk primitives. */
export function scanCapable(store: CacheStore): CacheStore & ScanCapable {
  if (!isScanCapable(store)) throw new ConfigError("store", "operations need a store with bulk primitives (RedisStore, NodeRedisStore or MemoryStore)");
  return store;
}
