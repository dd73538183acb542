import calculateSlot from "cluster-key-slot";
import { nodeRedisTrackingDriver } from "./tracking-driver.js";
import { RedisReplyError } from "../../errors.js";
import type { Arg, Command, Reply, RedisTransport, ServerLink } from "../redis/transport.js";
import { isNodeRedisCluster, type NodeRedisClient, type NodeRedisCluster } from "./client.js";

/** RESP type code of bulk strings (`RESP_TYPES.BLOB_STRING` in node-redis): mapped to Buffer. */
const BLOB_STRING = 36;
const mapping = { [BLOB_STRING]: Buffer };

const replyErrorNames = new Set(["ErrorReply", "SimpleError", "BlobError"]);

/** True for a node-redis error reply (`ErrorReply` and kin): an answer of the server, not a connection failure. */
function isNodeRedisReply(error: unknown): error is Error {
  return error instanceof Error && (replyErrorNames.has(error.name) || replyErrorNames.has(error.constructor.name));
}

/** Commands whose replies may come from a replica (node-redis routes read-only commands there when asked to). */
const readOnly = new Set(["GET", "MGET", "PTTL", "PEXPIRETIME"]);

/**
 * Replies of commands issued in one event-loop turn (node-redis writes
 * them to each server as one pipeline); reply errors in place, rejects on
 * a connection error.
 */
async function together(sends: readonly Promise<unknown>[]): Promise<Reply[]> {
  const replies = await Promise.all(sends.map((p) => p.catch((error: unknown) => (isNodeRedisReply(error) ? RedisReplyError.of(error) : { failed: error }))));
  for (const r of replies) if (typeof r === "object" && r !== null && "failed" in r) throw (r as { failed: unknown }).failed;
  return replies;
}

function clientId(client: NodeRedisClient): string {
  const options = (client as { options?: { url?: string; socket?: { host?: string; port?: number } } }).options;
  if (options?.socket?.port !== undefined) return `${options.socket.host ?? "localhost"}:${options.socket.port}`;
  if (options?.url !== undefined) {
    const url = new URL(options.url);
    return `${url.hostname}:${url.port || "6379"}`;
  }
  return "server";
}

function link(client: NodeRedisClient, id: string): ServerLink {
  const mapped = client.withTypeMapping(mapping);
  return { id, pipeline: (commands) => together(commands.map((c) => mapped.sendCommand(c as Arg[]))) };
}

/**
 * The transport of a node-redis client or cluster: `sendCommand` on a view
 * whose bulk replies are Buffers (made once: per-command options would
 * cost node-redis a third of its throughput). node-redis routes every
 * command on a Cluster and pipelines the commands of one event-loop turn
 * into one write per server, so a batch is the commands issued together;
 * server-wide work goes to each master's own client (`nodeClient`).
 */
export function nodeRedisTransport(client: NodeRedisClient | NodeRedisCluster): RedisTransport {
  if (!isNodeRedisCluster(client)) {
    const c = client.withTypeMapping(mapping);
    const only = link(client, clientId(client));
    return {
      client: "node-redis",
      trackingDriver: () => nodeRedisTrackingDriver(client),
      cluster: false,
      send: (_key, command) => c.sendCommand(command as Arg[]),
      batch: (_keys, commands) => together(commands.map((command) => c.sendCommand(command as Arg[]))),
      serverOf: () => "server",
      servers: async () => [only],
    };
  }
  const cluster = client;
  const c = cluster.withTypeMapping(mapping);
  const send = (key: string | undefined, command: Command): Promise<unknown> => c.sendCommand(key, readOnly.has(command[0] as string), command as Arg[]);
  return {
    client: "node-redis",
    trackingDriver: () => nodeRedisTrackingDriver(cluster),
    cluster: true,
    replicaReads: (cluster as { _options?: { useReplicas?: boolean } })._options?.useReplicas === true,
    send,
    batch: (keys, commands) => together(commands.map((command, i) => send(keys[i], command))),
    serverOf: (key) => {
      const slot = calculateSlot(key);
      return cluster.slots?.[slot]?.master.address ?? `slot:${slot}`;
    },
    servers: async () => {
      if (cluster.nodeClient === undefined) return [];
      return Promise.all(
        (cluster.masters as readonly { host: string; port: number }[]).map(async (m) => link(await (cluster.nodeClient as (node: never) => Promise<NodeRedisClient>)(m as never), `${m.host}:${m.port}`)),
      );
    },
  };
}
