import calculateSlot from "cluster-key-slot";
import type { Arg, Command, RedisTransport, Reply, ServerLink } from "../redis/transport.js";
import { isClientError, mapError, mapReply } from "./replies.js";

/**
 * Why a GlideStore gives an L1 no invalidations: GLIDE 2.x consumes Redis's
 * `invalidate` pushes inside its Rust core (for its own ClientSideCache)
 * and hands JavaScript only pub/sub messages, which it supports on RESP3
 * only, where Redis sends invalidations as pushes, never as messages; and
 * it reconnects inside the core without telling JavaScript, so an L1 could
 * not know to flush.
 */
export const GLIDE_TRACKING_REFUSAL =
  "a GlideStore cannot track invalidations (GLIDE keeps Redis's invalidation pushes and its reconnections inside its core): pass l1.tracking: ioredisTracking(new Redis(url)) or nodeRedisTracking(client) over the same servers";

/** GLIDE's `Decoder.Bytes`: bulk strings as Buffers (its default decodes them as UTF-8 strings, which breaks binary values). */
const BYTES = 0;

/** Where a GLIDE Cluster client sends a command or batch: the forms of GLIDE's `Routes` used here. */
export type ValkeyGlideRoute =
  | "randomNode"
  | { readonly type: "primarySlotKey"; readonly key: string }
  | { readonly type: "routeByAddress"; readonly host: string; readonly port: number };

/** The options of GLIDE's `customCommand` and `exec` used here. */
export interface ValkeyGlideOptions {
  readonly decoder?: number;
  readonly route?: ValkeyGlideRoute;
}

/** A GLIDE `Batch` or `ClusterBatch` being filled (non-atomic: a pipeline). */
export interface ValkeyGlideBatch {
  customCommand(args: Arg[]): unknown;
}

/**
 * What protocache needs of a `GlideClient` (`@valkey/valkey-glide`,
 * standalone): raw commands and non-atomic batches. Structural, so
 * protocache's declarations compile without GLIDE installed.
 */
export interface ValkeyGlideClient {
  customCommand(args: Arg[], options?: ValkeyGlideOptions): Promise<unknown>;
  exec(batch: ValkeyGlideBatch, raiseOnError: boolean, options?: ValkeyGlideOptions): Promise<unknown[] | null>;
}

/** What protocache needs of a `GlideClusterClient`: the same calls, with routes; `fcallWithRoute` tells it from a `GlideClient`. */
export interface ValkeyGlideCluster extends ValkeyGlideClient {
  fcallWithRoute(...args: never[]): unknown;
}

type BatchClass = new (isAtomic: boolean) => ValkeyGlideBatch;

/**
 * GLIDE's batch classes, loaded on the first batch: a batch can only be
 * built with them (they encode commands with GLIDE's own protobuf types),
 * and the client never points to them. The application has loaded GLIDE
 * already (it made the client), so this costs nothing and importing
 * protocache still loads no Redis client. The specifier is a variable so
 * that neither tsc nor a bundler resolves the optional peer.
 */
const glidePackage = "@valkey/valkey-glide";
let batchClasses: Promise<{ Batch: BatchClass; ClusterBatch: BatchClass }> | undefined;

/** How long a Cluster's slot table serves {@link RedisTransport.serverOf} before it is read again (in the background). */
const SLOT_TABLE_MS = 5_000;

function rejectMapped(error: unknown): never {
  throw mapError(error);
}

/** Sends `commands` as one non-atomic batch (one round trip per server); rejects when a server was not reached. */
async function run(client: ValkeyGlideClient, cluster: boolean, commands: readonly Command[], options: ValkeyGlideOptions): Promise<Reply[]> {
  if (commands.length === 0) return [];
  const classes = await (batchClasses ??= import(glidePackage) as Promise<{ Batch: BatchClass; ClusterBatch: BatchClass }>);
  const batch = new (cluster ? classes.ClusterBatch : classes.Batch)(false);
  for (const command of commands) batch.customCommand(command as Arg[]);
  const replies = await client.exec(batch, false, options).catch(rejectMapped);
  if (replies === null) throw new Error("valkey-glide returned no replies for a non-atomic batch");
  for (let i = 0; i < replies.length; i++) {
    const reply = mapReply(replies[i]);
    if (isClientError(reply)) throw reply;
    replies[i] = reply;
  }
  return replies;
}

/** The standalone server's `host:port` as the connection sees it (`laddr` of CLIENT INFO): the primary even when the client was given several addresses. */
async function standaloneId(client: ValkeyGlideClient): Promise<string> {
  const info = String(mapReply(await client.customCommand(["CLIENT", "INFO"], { decoder: BYTES }).catch(rejectMapped)));
  return /\bladdr=(\S+)/.exec(info)?.[1] ?? "server";
}

function standalone(client: ValkeyGlideClient): RedisTransport {
  const bytes: ValkeyGlideOptions = { decoder: BYTES };
  const pipeline = (commands: readonly Command[]): Promise<Reply[]> => run(client, false, commands, bytes);
  return {
    client: "valkey-glide",
    trackingRefusal: GLIDE_TRACKING_REFUSAL,
    cluster: false,
    send: (_key, command) => client.customCommand(command as Arg[], bytes).then(mapReply, rejectMapped),
    batch: (_keys, commands) => pipeline(commands),
    serverOf: () => "server",
    servers: async () => [{ id: await standaloneId(client), pipeline }],
  };
}

/** A master as CLUSTER SLOTS names it (its preferred endpoint, which GLIDE's `routeByAddress` expects). */
interface Master {
  readonly host: string;
  readonly port: number;
}

function cluster(client: ValkeyGlideCluster): RedisTransport {
  const bytes: ValkeyGlideOptions = { decoder: BYTES };
  const anyNode: ValkeyGlideOptions = { decoder: BYTES, route: "randomNode" };
  const owners = new Array<string | undefined>(16384);
  let loadedAt = -Infinity;
  let loading: Promise<Master[]> | undefined;
  /** Reads CLUSTER SLOTS into the slot table; concurrent callers share one read. */
  const load = (): Promise<Master[]> =>
    (loading ??= client
      .customCommand(["CLUSTER", "SLOTS"], anyNode)
      .then((reply) => {
        const masters = new Map<string, Master>();
        owners.fill(undefined);
        for (const range of mapReply(reply) as [number, number, [Buffer | string, number]][]) {
          const [start, end, [host, port]] = range;
          const id = `${String(host)}:${port}`;
          if (!masters.has(id)) masters.set(id, { host: String(host), port });
          owners.fill(id, start, end + 1);
        }
        loadedAt = Date.now();
        return [...masters.values()];
      }, rejectMapped)
      .finally(() => (loading = undefined)));
  const ignore = (): void => {};
  load().catch(ignore);
  /** A redirect that reached protocache means the cluster moved on from the table: read it again. */
  const notice = (reply: unknown): void => {
    if (reply instanceof Error && /^(MOVED|ASK|CLUSTERDOWN) /.test(reply.message)) load().catch(ignore);
  };
  const noticed = (error: unknown): never => {
    const mapped = mapError(error);
    notice(mapped);
    throw mapped;
  };
  const link = (m: Master): ServerLink => {
    const options: ValkeyGlideOptions = { decoder: BYTES, route: { type: "routeByAddress", host: m.host, port: m.port } };
    return { id: `${m.host}:${m.port}`, pipeline: (commands) => run(client, true, commands, options) };
  };
  return {
    client: "valkey-glide",
    trackingRefusal: GLIDE_TRACKING_REFUSAL,
    cluster: true,
    send: (key, command) =>
      client.customCommand(command as Arg[], key === undefined ? anyNode : { decoder: BYTES, route: { type: "primarySlotKey", key } }).then(mapReply, noticed),
    // No route: GLIDE sends each command to its key's master, so a stale table costs round trips, never a wrong reply.
    batch: async (_keys, commands) => {
      const replies = await run(client, true, commands, bytes);
      replies.forEach(notice);
      return replies;
    },
    serverOf: (key) => {
      const slot = calculateSlot(key);
      if (Date.now() - loadedAt > SLOT_TABLE_MS) load().catch(ignore);
      return owners[slot] ?? `slot:${slot}`;
    },
    servers: async () => (await load()).map(link),
  };
}

/**
 * The {@link RedisTransport} of a Valkey GLIDE client (`GlideClient` or
 * `GlideClusterClient` from `@valkey/valkey-glide`, made and connected by
 * the caller; any `defaultDecoder`, RESP2 or RESP3).
 *
 * - `send` is `customCommand` with `Decoder.Bytes`; on a Cluster routed to
 *   the key's master (`primarySlotKey`), or to a random node without a key.
 * - `batch` and each server's `pipeline` are a non-atomic `Batch` /
 *   `ClusterBatch` run with `raiseOnError: false` (one round trip per
 *   server); a server's pipeline is routed to it by address.
 * - `serverOf` reads a slot table kept from CLUSTER SLOTS (GLIDE exposes
 *   none), read again in the background when it is 5 s old or a redirect
 *   reached protocache; `servers` reads CLUSTER SLOTS afresh.
 * - Replies are mapped as {@link Reply}; reply errors carry the server's
 *   text (see `replies.ts`). On a lost connection GLIDE reconnects in the
 *   background and fails requests after its `requestTimeout` (250 ms by
 *   default) with a `TimeoutError`.
 */
export function glideTransport(client: ValkeyGlideClient | ValkeyGlideCluster): RedisTransport {
  return typeof (client as Partial<ValkeyGlideCluster>).fcallWithRoute === "function" ? cluster(client as ValkeyGlideCluster) : standalone(client);
}
