import type { CacheStore } from "../stores/store.js";
import type { Entity } from "./entity.js";
import { createEntityCache, type EntityCache } from "./entity-cache.js";
import type { AccessorOptions } from "./options.js";

/**
 * Key under which an accessor factory made by {@link accessorFactory} names
 * its entity. `Symbol.for`, so the operations CLI (which bundles its own copy
 * of the runtime) recognizes the factories of a service's compiled code.
 */
export const factoryEntity: unique symbol = Symbol.for("protocache.factoryEntity");

/** An accessor factory, as `defineUserCache(...)` returns it. */
export type AccessorFactory<T, K> = (store: CacheStore, options?: AccessorOptions<T, K>) => EntityCache<T, K>;

/**
 * The accessor factory of an entity: what the generated `defineXCache`
 * returns once the service's migrations are recorded. It carries its entity
 * (under {@link factoryEntity}), so tools given a service's module find the
 * factory of an entity among its exports without calling anything
 * (`protocache migrate --module`).
 */
export function accessorFactory<T, K>(entity: Entity<T, K>): AccessorFactory<T, K> {
  const factory: AccessorFactory<T, K> = (store, options) => createEntityCache(entity, store, options);
  Object.defineProperty(factory, factoryEntity, { value: entity, enumerable: false });
  return factory;
}

/** The entity of an accessor factory made by {@link accessorFactory} (by any copy of the runtime); undefined for anything else. */
export function entityOfFactory(value: unknown): Entity<unknown, unknown> | undefined {
  if (typeof value !== "function" || !(factoryEntity in value)) return undefined;
  const entity = (value as unknown as Record<symbol, unknown>)[factoryEntity];
  return typeof entity === "object" && entity !== null ? (entity as Entity<unknown, unknown>) : undefined;
}
