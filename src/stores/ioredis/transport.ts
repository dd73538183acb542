import calculateSlot from "cluster-key-slot";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { RedisReplyError, UnexpectedReplyError } from "../../errors.js";
import type { Command, Reply, RedisTransport, ServerLink } from "../redis/transport.js";
import type { IoredisClient } from "./client.js";
import { ioredisTrackingDriver } from "./tracking-driver.js";

type PipelineResult = [error: Error | null, result: unknown][];

/** True for an ioredis error reply (`ReplyError`): an answer of the server, not a connection failure. */
function isIoredisReply(error: Error): boolean {
  return error.name === "ReplyError" || error.constructor.name === "ReplyError";
}

/** Replies of an ioredis pipeline, in order; rejects when the server was not reached (no reply error, a connection one). */
async function execute(p: ChainableCommander, count: number): Promise<Reply[]> {
  const results = ((await p.exec()) ?? []) as PipelineResult;
  const out = new Array<Reply>(count);
  for (let i = 0; i < count; i++) {
    const [error, reply] = results[i] ?? [new UnexpectedReplyError("pipeline returned no reply"), null];
    if (error === null) out[i] = reply;
    else if (isIoredisReply(error)) out[i] = RedisReplyError.of(error);
    else throw error;
  }
  return out;
}

function queue(p: ChainableCommander, commands: readonly Command[]): ChainableCommander {
  for (const [name, ...args] of commands) p.callBuffer(name as string, ...args);
  return p;
}

function link(node: Redis): ServerLink {
  return {
    id: `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`,
    pipeline: (commands) => execute(queue(node.pipeline(), commands), commands.length),
  };
}

/**
 * The transport of an ioredis `Redis` or `Cluster`: `callBuffer` for one
 * command (replies as Buffers), a pipeline for a batch (on a Cluster, the
 * cluster's pipeline, which sends it to the master of its keys), the
 * connections ioredis keeps to each master for server-wide work, and the
 * cluster's slot table for grouping.
 */
export function ioredisTransport(client: Redis | Cluster): RedisTransport {
  const cluster = (client as { isCluster?: boolean }).isCluster === true;
  const c = client as Cluster;
  // ioredis prepends its keyPrefix option to every key it sends; the slot is the prefixed key's.
  const prefix = (cluster ? c.options.keyPrefix : (client as Redis).options.keyPrefix) ?? "";
  return {
    client: "ioredis",
    cluster,
    replicaReads: cluster && (c.options.scaleReads ?? "master") !== "master",
    send: (_key, [name, ...args]) => client.callBuffer(name as string, ...args),
    batch: (_keys, commands) => execute(queue(client.pipeline(), commands), commands.length),
    serverOf: (key) => {
      if (!cluster) return "server";
      const slot = calculateSlot(prefix + key);
      return c.slots[slot]?.[0] ?? `slot:${slot}`;
    },
    servers: async () => (cluster ? c.nodes("master").map(link) : [link(client as Redis)]),
    trackingDriver: () => ioredisTrackingDriver(client as unknown as IoredisClient),
    bulkRefusal: () => (prefix === "" ? undefined : `bulk operations need an ioredis client without keyPrefix ("${prefix}"): use the accessor's prefix option instead`),
  };
}
