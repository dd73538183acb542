/**
 * Valkey GLIDE (`@valkey/valkey-glide`) as a protocache Redis client: its
 * transport and the structural client types it accepts.
 */
export { glideTransport, type ValkeyGlideBatch, type ValkeyGlideClient, type ValkeyGlideCluster, type ValkeyGlideOptions, type ValkeyGlideRoute } from "./transport.js";
