export type { ValkeyGlideClient, ValkeyGlideCluster } from "./transport.js";
import type { ValkeyGlideClient, ValkeyGlideCluster } from "./transport.js";

/** True for a Valkey GLIDE `GlideClient` or `GlideClusterClient` (what `GlideStore` wraps). */
export function isGlideClient(client: unknown): client is ValkeyGlideClient | ValkeyGlideCluster {
  return typeof client === "object" && client !== null && ["customCommand", "exec"].every((m) => typeof (client as Record<string, unknown>)[m] === "function");
}
