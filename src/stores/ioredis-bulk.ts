import type { Cluster, Redis } from "ioredis";
import { ConfigError } from "../errors.js";
import { isReplyError, type CommandArgs } from "./bulk-commands.js";
import type { BulkTransport, NodeChannel } from "./redis-bulk.js";

type PipelineResult = [error: Error | null, result: unknown][];

/** Replies of an ioredis pipeline, in order; rejects when the server was not reached (no reply error, a connection one). */
async function execute(p: ReturnType<Redis["pipeline"]>, count: number): Promise<unknown[]> {
  const results = ((await p.exec()) ?? []) as PipelineResult;
  return Array.from({ length: count }, (_, i) => {
    const [error, reply] = results[i] ?? [new Error("pipeline returned no reply"), null];
    if (error === null) return reply;
    if (!isReplyError(error)) throw error;
    return error;
  });
}

function channel(node: Redis): NodeChannel {
  return {
    id: `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`,
    pipeline: (commands) => {
      const p = node.pipeline();
      for (const [name, ...args] of commands) p.callBuffer(name as string, args);
      return execute(p, commands.length);
    },
  };
}

/**
 * The bulk transport of an ioredis `Redis` or `Cluster`: per-server
 * pipelines on the connections the client keeps to each master. ioredis's
 * `keyPrefix` would be added to keys SCAN already returned in full, so a
 * client with one is refused (use the accessor's `prefix` instead).
 */
export function ioredisTransport(client: Redis | Cluster, groupByNode: (keys: readonly string[]) => number[][]): BulkTransport {
  const cluster = (client as { isCluster?: boolean }).isCluster === true;
  const prefix = cluster ? (client as Cluster).options.keyPrefix : (client as Redis).options.keyPrefix;
  if (prefix !== undefined && prefix !== "") {
    throw new ConfigError("store", `bulk operations need an ioredis client without keyPrefix ("${prefix}"): use the accessor's prefix option instead`);
  }
  return {
    channels: async () => (cluster ? (client as Cluster).nodes("master").map(channel) : [channel(client as Redis)]),
    routed: async (keys, commands) => {
      if (!cluster) return channel(client as Redis).pipeline(commands);
      const out = new Array<unknown>(commands.length);
      await Promise.all(
        groupByNode(keys).map(async (indices) => {
          const p = (client as Cluster).pipeline();
          for (const i of indices) {
            const [name, ...args] = commands[i] as CommandArgs;
            p.callBuffer(name as string, args);
          }
          const replies = await execute(p, indices.length);
          indices.forEach((i, j) => (out[i] = replies[j]));
        }),
      );
      return out;
    },
  };
}
