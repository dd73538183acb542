import { func, integer, oneOf, withDefault } from "./checks.js";
import { options } from "./options-object.js";

/** How a Redis store runs compare-and-set and compare-and-delete: detected per connection (`"auto"`), or always Lua. */
export const compareModes = ["auto", "lua"] as const;

/** The options of a Redis store (`RedisStoreOptions`), checked, with defaults. */
export interface ResolvedStoreOptions {
  readonly compare: (typeof compareModes)[number];
  readonly tracking: { readonly heartbeatMs: number; readonly maxReconnectDelayMs: number };
}

const trackingOptions = options(
  {
    heartbeatMs: withDefault(integer(20, 60_000, "whole milliseconds from 20 to 60000"), 1000),
    maxReconnectDelayMs: withDefault(integer(10, 600_000, "whole milliseconds from 10 to 600000"), 2000),
  },
  { expected: "an object like { heartbeatMs: 1000 } or nothing" },
);

const redisStoreOptions = options(
  { compare: withDefault(oneOf(compareModes), "auto"), tracking: trackingOptions },
  { name: "store options", expected: 'an object like { compare: "auto" } or nothing' },
);

/**
 * Checks the options of a Redis store (`new RedisStore(client, options)`,
 * `new NodeRedisStore(client, options)`) and applies defaults: a misspelt
 * name (`{ comapre: "lua" }`) or a bad value is a ConfigError naming
 * `store options.<name>`, never silently the default.
 */
export function storeOptionsOf(value: unknown): ResolvedStoreOptions {
  return redisStoreOptions(value, "store options");
}

/** The options of a `MemoryStore`, checked, with defaults. */
export interface ResolvedMemoryStoreOptions {
  /** Clock in epoch milliseconds. */
  readonly now: () => number;
}

const memoryStoreOptions = options(
  {
    now: withDefault(func<() => number>("a clock function returning epoch milliseconds"), Date.now),
  },
  { name: "store options", expected: "an object like { now: () => Date.now() } or nothing" },
);

/** Checks the options of a `MemoryStore` (`{ now }`) and applies defaults. */
export function memoryStoreOptionsOf(value: unknown): ResolvedMemoryStoreOptions {
  return memoryStoreOptions(value, "store options");
}
