import { RedisReplyError } from "../../errors.js";

/**
 * What the Redis store reads from replies and errors, the same for every
 * client library: transports hand reply errors over as
 * {@link RedisReplyError} in batches, and with the server's own text as
 * their message when a single command rejects.
 */

/** True for Redis's NOSCRIPT reply: the server has not cached the script (restart, SCRIPT FLUSH, new node). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** True when an ACL refused a command, directly (NOPERM) or inside a script. */
export function isNoPermission(error: unknown): boolean {
  return error instanceof Error && (error.message.startsWith("NOPERM") || error.message.includes("can't run this command"));
}

/** True when the ACL refused a command run inside a script (not the EVALSHA itself). */
export function isInsideScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes("can't run this command");
}

/** True for the replies of a server without IFEQ or DELEX (older than 8.4). */
export function isUnsupported(error: unknown): boolean {
  return error instanceof Error && /^ERR (syntax error|unknown command)/i.test(error.message);
}

/**
 * True for an error reply of the server (a per-command answer); anything
 * else (a closed connection, a client timeout) means the server was not
 * reached.
 */
export function isReplyError(error: unknown): boolean {
  return error instanceof RedisReplyError;
}

/** Error replies worth retrying after a pause: the server is loading, busy, failing over or resharding. */
export function isTransientReply(error: unknown): boolean {
  return error instanceof Error && /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK|MASTERDOWN|READONLY)\b/.test(error.message);
}

/** A reply as text (bulk strings arrive as Buffers, simple strings as strings or Buffers). */
export function text(reply: unknown): string {
  return Buffer.isBuffer(reply) ? reply.toString("utf8") : String(reply);
}
