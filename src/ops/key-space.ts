import { internalsOf, type AccessorInternals } from "../accessor/internals.js";
import { ConfigError } from "../errors.js";
import { metricsCheck, prefixCheck, variantCheck } from "../accessor/options.js";
import { keyBase } from "../keys.js";
import type { MetricRecorder, MetricsSink } from "../metrics/sink.js";
import type { SchemaRegistry } from "../registry.js";
import { isScanCapable, type ScanCapable } from "../stores/bulk.js";
import type { CacheStore } from "../stores/store.js";
import { boolean, integer, optional, options, satisfies, text, type ShapeOf } from "../validation/index.js";

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
  /** Named with `retired: true` (no code reads or writes it any more); an accessor's key space never is. */
  readonly retired: boolean;
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
  /** The message of this entity and major, if known (for metrics, and for the revision cleanup treats as written now). */
  readonly message?: string;
  /**
   * This major is retired (`protocache retire`): no code reads or writes
   * it any more, so `cleanup` may delete all of it. Default false: the key
   * space is live, and `cleanup` refuses to delete everything in it or its
   * newest revision without `includeLive: true`.
   */
  readonly retired?: boolean;
}

const entityName = /^[a-z][a-z0-9_-]*$/;

/** The spec of {@link KeySpaceSpec}: what names a key space without an accessor (a misspelt `prefix` would walk another key space). */
const keySpaceSpec = options(
  {
    store: satisfies<CacheStore>((v) => typeof v === "object" && v !== null, "a store (RedisStore, NodeRedisStore or MemoryStore)"),
    entity: satisfies<string>((v) => typeof v === "string" && entityName.test(v) && !/^v[0-9]+$/.test(v), 'an entity name like "user" ([a-z][a-z0-9_-]*, not v<digits>)'),
    major: integer(1, Number.MAX_SAFE_INTEGER, "a major version >= 1"),
    prefix: optional(prefixCheck),
    variant: optional(variantCheck),
    registry: satisfies<SchemaRegistry>(
      (v) => typeof v === "object" && v !== null && typeof (v as SchemaRegistry).get === "function" && typeof (v as SchemaRegistry).revisionsOf === "function",
      "a SchemaRegistry (the generated schemaRegistry)",
    ),
    metrics: optional(metricsCheck),
    message: optional(text({ nonEmpty: true, expected: "a full message name, e.g. acme.user.v1.User" })),
    retired: optional(boolean()),
  } satisfies ShapeOf<KeySpaceSpec>,
  { name: "key space", optional: false },
);

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
  const spec = keySpaceSpec(target, "");
  const store = scanCapable(spec.store);
  const namespace = keyBase(spec.prefix ?? "", spec.entity, spec.major, spec.variant);
  const recorder = spec.metrics?.bind({ message: spec.message ?? "", entity: spec.entity, major: spec.major, schemaId: 0, variant: spec.variant });
  return { store, namespace, match: `${globEscape(namespace)}*`, entity: spec.entity, major: spec.major, message: spec.message, registry: spec.registry, recorder, retired: spec.retired ?? false };
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
    retired: false,
  };
}

/** The store, checked to offer bulk primitives. */
export function scanCapable(store: CacheStore): CacheStore & ScanCapable {
  if (!isScanCapable(store)) throw new ConfigError("store", "operations need a store with bulk primitives (RedisStore, NodeRedisStore or MemoryStore)");
  return store;
}
