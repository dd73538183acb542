/**
 * An accessor's setup, checked and resolved before the facade
 * (entity-cache.ts) builds its parts: the store, the options, the previous
 * major.
 */
import { describeValue } from "../describe-value.js";
import { ConfigError } from "../errors.js";
import { keyBase } from "../keys.js";
import { describeClient } from "../stores/clients.js";
import type { CacheStore } from "../stores/store.js";
import type { Entity } from "./entity.js";
import type { PreviousSide } from "./key-space.js";
import { migrationsOf } from "./migrations.js";
import { resolveOptions, type AccessorOptions, type ResolvedOptions } from "./options.js";

/** The methods that make an object a CacheStore (what `checkStore` looks for). */
const storeMethods = ["get", "getMany", "set", "setMany", "delete", "replaceIfEqual", "deleteIfEqual", "getWithExpiry", "createIfAbsent"] as const;

/**
 * What `createEntityCache` checks before it builds an accessor: the store,
 * every option (resolved, with defaults), and that they fit the entity
 * (its revision, its previous major and migrations). Throws a ConfigError.
 */
export function setupOf<T, K>(entity: Entity<T, K>, store: CacheStore, options?: AccessorOptions<T, K>): ResolvedOptions<T> {
  checkStore(store);
  const resolved = resolveOptions(options, entity.ttlSeconds, entity.keyFields);
  if (resolved.minRevision > entity.current.revision) {
    throw new ConfigError("minRevision", `${entity.typeName} is at revision ${entity.current.revision}; minRevision ${resolved.minRevision} would reject every entry`);
  }
  const previousMajor = (options as Record<string, unknown> | undefined)?.["previousMajor"];
  if (entity.previous === undefined && previousMajor !== undefined) {
    throw new ConfigError("previousMajor", `${entity.typeName} has no migrates_from: there is no previous major to read through or dual-write`);
  }
  if (entity.previous !== undefined) {
    const m = migrationsOf(entity);
    if (m?.fromPrevious === undefined) {
      throw new ConfigError("migrations", `${entity.typeName} migrates from ${entity.previous.entity.typeName}: create its accessors with the generated define…Cache({ fromPrevious, … }) factory`);
    }
    if (resolved.previousMajor === "dual-write" && m.toPrevious === undefined) {
      throw new ConfigError("previousMajor", `"dual-write" needs toPrevious in ${entity.typeName}'s migrations`);
    }
  }
  return resolved;
}

/** Rejects anything but a CacheStore, naming the usual mistake (passing the Redis client itself). */
function checkStore(store: unknown): void {
  if (typeof store === "object" && store !== null && storeMethods.every((m) => typeof (store as Record<string, unknown>)[m] === "function")) return;
  const given = typeof store === "object" && store !== null ? describeClient(store, true) : describeValue(store);
  // A Redis client itself is named with the store that wraps it ("an ioredis client: use new RedisStore(client)").
  throw new ConfigError("store", `expected a RedisStore, NodeRedisStore, GlideStore or MemoryStore, got ${given.includes(": use new ") ? given : typeof store === "object" && store !== null ? "an object without the CacheStore methods" : given}`);
}

/** The previous major of a `migrates_from` entity, resolved once for one accessor. */
export function previousSide<T, K>(entity: Entity<T, K>, options: ResolvedOptions<T>): PreviousSide<T, K> | undefined {
  const previous = entity.previous;
  const migrations = migrationsOf(entity);
  if (previous === undefined || migrations === undefined) return undefined;
  return {
    entity: previous.entity,
    base: keyBase(options.prefix, previous.entity.entity, previous.entity.major, options.variant),
    // The previous major's entries are read as its own accessors read them, without side effects.
    options: { ...options, legacy: undefined, rewriteLegacy: false, minRevision: 1, onOlderRevision: "upgrade", writeBack: false, deleteCorrupt: false, deleteRejected: false },
    migrations,
    mapKey: previous.key ?? (migrations.previousKey as (fields: K) => unknown),
  };
}
