/**
 * GLIDE's replies mapped to protocache's {@link Reply} shape. GLIDE speaks
 * RESP3 by default and its Rust core (a fork of redis-rs) rewrites the
 * server's error text, so two things need undoing: RESP3 maps arrive as
 * `{ key, value }[]` and sets as `Set`s (RESP2 shapes them as flat arrays,
 * as ioredis and node-redis deliver them), and a reply error's message reads
 * `An error was signalled by the server: - NoScriptError: No matching
 * script…` or `WRONGTYPE: Operation against…` instead of the server's
 * `NOSCRIPT No matching script…` or `WRONGTYPE Operation against…`.
 */
import { RedisReplyError } from "../../errors.js";
import type { Reply } from "../redis/transport.js";

/** redis-rs's names for the error codes it knows (`ErrorKind` as `Debug` prints it) and the codes the server sent. */
const knownCodes = new Map([
  ["ResponseError", "ERR"],
  ["ExecAbortError", "EXECABORT"],
  ["BusyLoadingError", "LOADING"],
  ["NoScriptError", "NOSCRIPT"],
  ["Moved", "MOVED"],
  ["Ask", "ASK"],
  ["TryAgain", "TRYAGAIN"],
  ["ClusterDown", "CLUSTERDOWN"],
  ["CrossSlot", "CROSSSLOT"],
  ["MasterDown", "MASTERDOWN"],
  ["ReadOnly", "READONLY"],
  ["NotBusy", "NOTBUSY"],
  ["PermissionDenied", "NOPERM"],
]);

/**
 * Codes GLIDE puts on errors it makes itself, where a batch holds a reply
 * the server never sent (a node that could not be reached): the client-side
 * `ErrorKind`s and the cluster pipeline's own codes.
 */
const clientCodes = new Set([
  "ParseError", "AuthenticationFailed", "TypeError", "InvalidClientConfig", "IoError", "FatalSendError", "FatalReceiveError",
  "ClientError", "CircuitBreakerOpen", "ExtensionError", "MasterNameNotFoundBySentinel", "NoValidReplicasFoundBySentinel",
  "EmptySentinelList", "AllConnectionsUnavailable", "ConnectionNotFoundForRoute", "RESP3NotSupported", "NotAllSlotsCovered",
  "UserOperationError", "ProtocolDesync", "BrokenPipe", "PipelineNoResponse", "PipelineResponseError", "SingleResponseError",
  "ClusterScanError", "RedirectError",
]);

const signalled = "An error was signalled by the server:";

/**
 * The server's text of the reply error GLIDE reported as `message`, or
 * undefined when GLIDE made the error itself (timeout, lost connection,
 * closed client). redis-rs prints a known code as `<signalled> - Kind:
 * detail` (`<signalled>- Kind` without detail) and any other code as
 * `CODE: detail`; re-converted errors repeat the `<signalled>` prefix.
 */
export function serverText(message: string): string | undefined {
  if (message.startsWith(signalled)) {
    const known = /^ ?- (\w+)(?:: ([\s\S]*))?$/.exec(message.slice(signalled.length));
    const code = known === null ? undefined : knownCodes.get(known[1] as string);
    if (code === undefined) return undefined;
    let detail = known?.[2];
    while (detail?.startsWith(signalled) === true) detail = detail.slice(signalled.length).trimStart();
    return detail === undefined || detail === "" ? code : `${code} ${detail}`;
  }
  const extension = /^([^\s:]+): ([\s\S]*)$/.exec(message);
  if (extension === null || clientCodes.has(extension[1] as string)) return undefined;
  const detail = extension[2] as string;
  return detail === "Unknown extension error encountered" ? (extension[1] as string) : `${extension[1] as string} ${detail}`;
}

/**
 * The error a transport reports for `error`: a `RedisReplyError` with the
 * server's text for an error reply (GLIDE's `RequestError`), else `error`
 * itself (GLIDE's `TimeoutError`, `ConnectionError`, `ClosingError`, or a
 * `RequestError` it made without reaching the server).
 */
export function mapError(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== "RequestError") return error;
  const text = serverText(error.message);
  return text === undefined ? error : new RedisReplyError(text, { cause: error });
}

/** True for an error GLIDE made itself in a batch's place: the server behind it was not reached. */
export function isClientError(reply: unknown): reply is Error {
  return reply instanceof Error && !(reply instanceof RedisReplyError);
}

function isRecordEntry(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value) && "key" in value && "value" in value;
}

/**
 * A GLIDE reply as {@link Reply}: Buffers, strings, numbers and null as
 * they are; errors through {@link mapError}; maps (`{ key, value }[]`)
 * flattened to `[key, value, …]` and sets to arrays, as RESP2 has them;
 * arrays mapped in place. The common replies (a Buffer, null, a number)
 * cost one `typeof`.
 */
export function mapReply(reply: unknown): Reply {
  if (typeof reply !== "object" || reply === null || Buffer.isBuffer(reply)) return reply;
  if (Array.isArray(reply)) {
    if (reply.length > 0 && isRecordEntry(reply[0])) return (reply as { key: unknown; value: unknown }[]).flatMap((e) => [mapReply(e.key), mapReply(e.value)]);
    for (let i = 0; i < reply.length; i++) {
      const item: unknown = reply[i];
      if (typeof item === "object" && item !== null && !Buffer.isBuffer(item)) reply[i] = mapReply(item);
    }
    return reply;
  }
  if (reply instanceof Error) return mapError(reply);
  if (reply instanceof Set) return [...(reply as Set<unknown>)].map(mapReply);
  return reply;
}
