import { describeValue } from "../describe-value.js";
import { isIoredisClient } from "./ioredis/client.js";
import { isNodeRedisClient } from "./node-redis/client.js";
import { isGlideClient } from "./valkey-glide/client.js";

/**
 * The Redis client libraries protocache ships a store for: one line per
 * client (its folder has the transport, the store and the structural
 * client type). Store constructors use it to name the usual mix-ups.
 */
const clients: readonly { readonly name: string; readonly store: string; readonly is: (client: unknown) => boolean; readonly telltale: string }[] = [
  { name: "an ioredis client", store: "RedisStore", is: isIoredisClient, telltale: "getBuffer" },
  { name: "a node-redis client", store: "NodeRedisStore", is: isNodeRedisClient, telltale: "sendCommand" },
  { name: "a Valkey GLIDE client", store: "GlideStore", is: isGlideClient, telltale: "customCommand" },
];

/**
 * What a store constructor (or an accessor, given a client instead of a
 * store) was given, for its ConfigError: a client of a library is named
 * with the store that takes it. `telltale`: one characteristic method is
 * enough to name it (for an accessor, which takes no client at all).
 */
export function describeClient(client: unknown, telltale = false): string {
  for (const c of clients) {
    if (c.is(client) || (telltale && typeof client === "object" && client !== null && c.telltale in client)) return `${c.name}: use new ${c.store}(client)`;
  }
  if (typeof client === "object" && client !== null && ["getMany", "replaceIfEqual"].every((m) => typeof (client as Record<string, unknown>)[m] === "function")) {
    return "a protocache store: pass the Redis client itself";
  }
  return describeValue(client);
}
