import { isReplyError, type Arg, type CommandArgs } from "./bulk-commands.js";
import type { BulkTransport, NodeChannel } from "./redis-bulk.js";
import type { NodeRedisClient, NodeRedisCluster, NodeRedisTypeMapping } from "./node-redis-store.js";

/** A Cluster master as node-redis lists it (`cluster.masters`). */
interface MasterNode {
  readonly host: string;
  readonly port: number;
}

/** Replies of commands issued in one event-loop turn (node-redis writes them as one pipeline); rejects on a connection error. */
async function together(send: (args: Arg[], index: number) => Promise<unknown>, commands: readonly CommandArgs[]): Promise<unknown[]> {
  const replies = await Promise.all(commands.map((c, i) => send([...c], i).catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))))));
  const failed = replies.find((r) => r instanceof Error && !isReplyError(r));
  if (failed !== undefined) throw failed;
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

/**
 * The bulk transport of a node-redis client or cluster: commands of one
 * batch issued together (node-redis pipelines them per server); on a
 * Cluster, each master's own client (`cluster.nodeClient`).
 */
export function nodeRedisTransport(client: NodeRedisClient | NodeRedisCluster, mapping: NodeRedisTypeMapping): BulkTransport {
  const isCluster = "masters" in client && Array.isArray((client as NodeRedisCluster).masters);
  const channelOf = (c: NodeRedisClient, id: string): NodeChannel => {
    const mapped = c.withTypeMapping(mapping);
    return { id, pipeline: (commands) => together((args) => mapped.sendCommand(args), commands) };
  };
  if (!isCluster) {
    const only = channelOf(client as NodeRedisClient, clientId(client as NodeRedisClient));
    return { channels: async () => [only], routed: (_keys, commands) => only.pipeline(commands) };
  }
  const cluster = client as NodeRedisCluster & { nodeClient(node: unknown): Promise<NodeRedisClient> };
  const routedView = cluster.withTypeMapping(mapping);
  return {
    channels: () =>
      Promise.all(
        (cluster.masters as readonly MasterNode[]).map(async (m) => channelOf(await cluster.nodeClient(m), `${m.host}:${m.port}`)),
      ),
    routed: (keys, commands) => together((args, i) => routedView.sendCommand(keys[i], false, args), commands),
  };
}
