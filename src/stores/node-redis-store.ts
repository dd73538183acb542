import calculateSlot from "cluster-key-slot";
import { ConfigError, StoreError } from "../errors.js";
import { CompareCommands, compareModeOf, deleteIfEqualOn, detectArgs, hasDelex, replaceIfEqualOn, type CompareTransport, type RedisStoreOptions } from "./compare-commands.js";
import { allPositions, asStoreError, MAX_KEYS_PER_ROUND_TRIP, MAX_WRITES_PER_ROUND_TRIP, sendInChunks } from "./batches.js";
import { describeClient, isNodeRedisClient } from "./client-kind.js";
import type { BulkStore, ScanCapable, StoredValue } from "./bulk.js";
import { nodeRedisTransport } from "./node-redis-bulk.js";
import { RedisBulk } from "./redis-bulk.js";
import { guardedSet, type LuaScript } from "./lua.js";
import { guardArgs, guardOutcome, isOne, runScript, written, type ScriptTransport } from "./scripts.js";
import type { CacheStore, Deadline, SetOutcome, StoreWrite, StoreWriteResult, WriteGuard } from "./store.js";

type Arg = string | Buffer;

/**
 * What protocache needs of a node-redis (`redis` package) client made by
 * `createClient`: its raw `sendCommand`. Structural, so importing protocache
 * loads (and type-checks against) no Redis client library.
 */
export interface NodeRedisClient {
  sendCommand(args: Arg[]): Promise<unknown>;
  /** A view of the client whose replies map RESP types as given (node-redis's `withTypeMapping`). */
  withTypeMapping(mapping: NodeRedisTypeMapping): NodeRedisClient;
}

/** What protocache needs of a node-redis cluster made by `createCluster`. */
export interface NodeRedisCluster {
  sendCommand(firstKey: Arg | undefined, isReadonly: boolean | undefined, args: Arg[]): Promise<unknown>;
  withTypeMapping(mapping: NodeRedisTypeMapping): NodeRedisCluster;
  /** The cluster's masters: tells a cluster from a client, and where IFEQ support is detected. */
  readonly masters: readonly unknown[];
  /** The client of one master (IFEQ detection asks every master). */
  nodeClient?(node: never): Promise<{ sendCommand(args: Arg[]): Promise<unknown> }>;
  /** The slot table (node-redis's `cluster.slots`): which master serves each slot, to split batches per server. */
  readonly slots?: readonly ({ readonly master: { readonly address: string } } | undefined)[];
}

/** A node-redis type mapping: RESP type code to the JS type of replies. */
export type NodeRedisTypeMapping = Record<number, unknown>;

/** RESP type code of bulk strings (`RESP_TYPES.BLOB_STRING` in node-redis): mapped to Buffer. */
const BLOB_STRING = 36;

/**
 * The store over a node-redis client or cluster (`createClient` /
 * `createCluster` from the `redis` package, connected by the caller).
 * Replies come back as Buffers through node-redis's type mapping; node-redis
 * routes every command on a Cluster and pipelines the commands of one
 * event-loop turn into one write per server, so a batch is one round trip
 * per server and 1000 keys read or 250 values written (chunks of one
 * server go one after another). Scripts run as node-redis runs them (EVALSHA, EVAL when the
 * server lacks one), with SCRIPT LOAD when an ACL denies EVAL.
 *
 * Recommended client settings are in docs/operations.md: protocache's own
 * per-call deadline lets a service turn node-redis's per-command timeout off
 * (`commandOptions: { timeout: 0 }`), its costliest default.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { NodeRedisStore } from "protocache";
 * const client = await createClient({ url, commandOptions: { timeout: 0 } }).connect();
 * const users = userCache(new NodeRedisStore(client));
 * ```
 */
export class NodeRedisStore implements CacheStore, ScanCapable {
  readonly client: NodeRedisClient | NodeRedisCluster;
  private bulkStore: BulkStore | undefined;
  private readonly send: (key: string, readonly: boolean, args: Arg[]) => Promise<unknown>;
  private readonly cluster: boolean;
  private readonly scripts: ScriptTransport;
  private readonly scriptState = { evalOnly: false };
  /** Whether compare-and-set and compare-and-delete use IFEQ (Redis 8.4+) or Lua. */
  readonly compare: CompareCommands;

  /** IFEQ commands and scripts on this client, for compare-and-set and compare-and-delete. */
  private readonly compareTransport: CompareTransport = {
    raw: (key, args) => this.send(key, false, args),
    script: (operation, script, key, args) => this.script(operation, script, key, args, isOne),
  };

  constructor(client: NodeRedisClient | NodeRedisCluster, options?: RedisStoreOptions) {
    if (!isNodeRedisClient(client)) throw new ConfigError("client", `expected a node-redis client (createClient or createCluster), got ${describeClient(client)}`);
    this.client = client;
    this.cluster = "masters" in client && Array.isArray((client as NodeRedisCluster).masters);
    // A view with bulk replies as Buffers, made once: per-command options would cost node-redis a third of its throughput.
    const mapping = { [BLOB_STRING]: Buffer };
    if (this.cluster) {
      const c = (client as NodeRedisCluster).withTypeMapping(mapping);
      this.send = (key, readonly, args) => c.sendCommand(key, readonly, args);
    } else {
      const c = (client as NodeRedisClient).withTypeMapping(mapping);
      this.send = (_key, _readonly, args) => c.sendCommand(args);
    }
    this.compare = new CompareCommands(compareModeOf(options), async () => {
      if (!this.cluster) return hasDelex(await this.send("", false, [...detectArgs]));
      const c = client as NodeRedisCluster;
      if (c.nodeClient === undefined) return false;
      // A cluster that has not loaded its topology yet: ask again next time.
      if (c.masters.length === 0) return undefined;
      const replies = await Promise.all(c.masters.map(async (m) => (await (c.nodeClient as (n: unknown) => Promise<{ sendCommand(args: Arg[]): Promise<unknown> }>)(m)).sendCommand([...detectArgs])));
      return replies.every(hasDelex);
    });
    this.scripts = {
      evalsha: (s, key, args) => this.send(key, false, ["EVALSHA", s.sha1, "1", key, ...args]),
      eval: (s, key, args) => this.send(key, false, ["EVAL", s.source, "1", key, ...args]),
      // On a Cluster the key routes SCRIPT LOAD to the master that will run the script.
      load: (s, key) => this.send(key, false, ["SCRIPT", "LOAD", s.source]),
    };
  }

  /** Bulk primitives for operations (migrate, census, cleanup): per-master SCAN and pipelines. */
  get bulk(): BulkStore {
    return (this.bulkStore ??= new RedisBulk(nodeRedisTransport(this.client, { [BLOB_STRING]: Buffer })));
  }

  get(key: string): Promise<Buffer | null> {
    return this.send(key, true, ["GET", key]) as Promise<Buffer | null>;
  }

  set(w: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome> {
    if (guard !== undefined) {
      return this.script("SET", guardedSet, w.key, guardArgs(w, guard), guardOutcome);
    }
    return this.send(w.key, false, w.ttlSeconds > 0 ? ["SET", w.key, w.value, "EX", String(w.ttlSeconds)] : ["SET", w.key, w.value]).then(written);
  }

  async getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 0) return [];
    if (!this.cluster && keys.length <= MAX_KEYS_PER_ROUND_TRIP) {
      // One MGET, the common case, without the chunks' bookkeeping (it is the hot path).
      const mget = this.send(keys[0] as string, true, ["MGET", ...keys]) as Promise<(Buffer | null)[]>;
      try {
        return await (deadline === undefined ? mget : deadline.bound(mget, "MGET", keys[0]));
      } catch (cause) {
        return new Array<Error>(keys.length).fill(asStoreError("MGET", keys[0], cause));
      }
    }
    const out = new Array<Buffer | null | Error>(keys.length);
    if (!this.cluster) {
      const mget = (chunk: readonly number[]) => this.send(keys[chunk[0] as number] as string, true, ["MGET", ...chunk.map((i) => keys[i] as string)]) as Promise<(Buffer | null)[]>;
      await sendInChunks(allPositions(keys.length), out, "MGET", (i) => keys[i], deadline, MAX_KEYS_PER_ROUND_TRIP, mget);
      return out;
    }
    // One GET per key, a chunk's all issued in one turn: node-redis writes each server's share in one go.
    const gets = (chunk: readonly number[]) =>
      Promise.all(
        chunk.map((i) => {
          const key = keys[i] as string;
          return (this.send(key, true, ["GET", key]) as Promise<Buffer | null>).catch((cause: unknown) => asStoreError("GET", key, cause));
        }),
      );
    await Promise.all(this.groupByServer(keys).map((positions) => sendInChunks(positions, out, "GET", (i) => keys[i], deadline, MAX_KEYS_PER_ROUND_TRIP, gets)));
    return out;
  }

  async setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined, deadline?: Deadline): Promise<StoreWriteResult[]> {
    if (writes.length === 0) return [];
    const out = new Array<StoreWriteResult>(writes.length);
    const keys = writes.map((w) => w.key);
    const sets = (chunk: readonly number[]) =>
      Promise.all(
        chunk.map((i) => {
          const w = writes[i] as StoreWrite;
          return this.set(w, guard).catch((cause: unknown) => asStoreError("SET", w.key, cause));
        }),
      );
    await Promise.all(this.groupByServer(keys).map((positions) => sendInChunks(positions, out, "SET", (i) => keys[i], deadline, MAX_WRITES_PER_ROUND_TRIP, sets)));
    return out;
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    try {
      if (!this.cluster) {
        // One DEL per 1000 keys, like every other batch.
        let n = 0;
        for (let at = 0; at < keys.length; at += MAX_KEYS_PER_ROUND_TRIP) n += (await this.send(keys[at] as string, false, ["DEL", ...keys.slice(at, at + MAX_KEYS_PER_ROUND_TRIP)])) as number;
        return n;
      }
      // A Cluster takes one key per DEL (keys of other slots cannot share one): 1000 at a time per server.
      const counts = await Promise.all(
        this.groupByServer(keys).map(async (positions) => {
          let n = 0;
          for (let at = 0; at < positions.length; at += MAX_KEYS_PER_ROUND_TRIP) {
            const chunk = positions.slice(at, at + MAX_KEYS_PER_ROUND_TRIP).map((i) => keys[i] as string);
            for (const r of await Promise.all(chunk.map((k) => this.send(k, false, ["DEL", k]) as Promise<number>))) n += r;
          }
          return n;
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
    } catch (cause) {
      throw new StoreError("DEL", keys[0], { cause });
    }
  }

  replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    return replaceIfEqualOn(this.compare, this.compareTransport, key, expected, value);
  }

  deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    return deleteIfEqualOn(this.compare, this.compareTransport, key, expected);
  }

  /**
   * PEXPIRETIME, GET, PEXPIRETIME, sent in one write (one round trip):
   * node-redis's MULTI does not apply the Buffer type mapping to EXEC's
   * replies, so a transaction cannot return binary values. Equal expiries
   * around the GET mean the value was read with that expiry (a rewrite
   * with KEEPTTL keeps it; any other write changes it); otherwise the
   * entry is reported absent and the caller leaves it alone.
   */
  async getWithExpiry(key: string): Promise<StoredValue | null> {
    let replies: unknown[];
    try {
      replies = await Promise.all([this.send(key, true, ["PEXPIRETIME", key]), this.send(key, true, ["GET", key]), this.send(key, true, ["PEXPIRETIME", key])]);
    } catch (cause) {
      throw new StoreError("GET", key, { cause });
    }
    const [before, value, after] = replies;
    if (!(value instanceof Buffer) || typeof before !== "number" || before !== after || before === -2) return null;
    return { value, expireAt: before < 0 ? undefined : before };
  }

  async createIfAbsent(key: string, value: Buffer, expireAt: number | undefined): Promise<boolean> {
    try {
      const args: Arg[] = expireAt === undefined ? ["SET", key, value, "NX"] : ["SET", key, value, "PXAT", String(expireAt), "NX"];
      return (await this.send(key, false, args)) !== null;
    } catch (cause) {
      throw new StoreError("SET", key, { cause });
    }
  }

  /**
   * Key positions grouped by the master serving their slot, from the
   * cluster's slot table (one group on a standalone server; one per slot if
   * the table is missing).
   */
  private groupByServer(keys: readonly string[]): number[][] {
    if (!this.cluster) return [allPositions(keys.length)];
    const slots = (this.client as NodeRedisCluster).slots;
    const groups = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const slot = calculateSlot(key);
      const server = slots?.[slot]?.master.address ?? `slot:${slot}`;
      let group = groups.get(server);
      if (group === undefined) groups.set(server, (group = []));
      group.push(i);
    });
    return [...groups.values()];
  }

  private script<R>(operation: string, script: LuaScript, key: string, args: Arg[], map: (reply: unknown) => R): Promise<R> {
    return runScript(this.scripts, this.scriptState, operation, script, key, args, map);
  }
}
