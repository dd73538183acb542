import { ConfigError, StoreError } from "../../errors.js";
import type { BulkStore, ScanCapable } from "../bulk.js";
import type { CacheStore, Deadline, SetOutcome, StoredValue, StoreWrite, StoreWriteResult, TimedValue, WriteGuard } from "../store.js";
import { allPositions, asStoreError, groupByServer, MAX_KEYS_PER_ROUND_TRIP, MAX_WRITES_PER_ROUND_TRIP, sendInChunks } from "./chunks.js";
import { storeOptionsOf } from "../../validation/store-options.js";
import { CompareCommands, deleteIfEqualOn, detectIfeq, replaceIfEqualOn, type RedisStoreOptions } from "./compare.js";
import { RedisBulk } from "./redis-bulk.js";
import { scriptCall, scriptError, ScriptRunner, type ScriptCall } from "./script.js";
import { getManyWithTtl, timedValue } from "./scripts/get-many-with-ttl.js";
import { guardedSet } from "./scripts/guarded-set.js";
import type { Command, Reply, RedisTransport } from "./transport.js";
import type { InvalidationSource } from "../../l1/invalidation-source.js";
import { RedisTracking, type TrackingOptions } from "../../l1/redis-tracking.js";

/**
 * The Redis store, written once over a client {@link RedisTransport}: what
 * `RedisStore` (ioredis), `NodeRedisStore` and `GlideStore` are. Batches
 * take one round trip per server and 1000 keys read or 250 values written
 * (MGETs on a standalone server, pipelines per master on a Cluster; the
 * chunks of one server one after another, each bounded by the call's
 * deadline, so a failing master fails only its own keys). Scripts run by
 * EVALSHA and reach servers that lack them as the ACL allows
 * ({@link ScriptRunner}); compare-and-set and compare-and-delete use
 * `SET … IFEQ` and `DELEX … IFEQ` where every server has them (Redis
 * 8.4+, detected once per store). A client library not shipped with
 * protocache plugs in here: `new RedisCacheStore(myTransport)`.
 */
export class RedisCacheStore implements CacheStore, ScanCapable {
  /** Whether compare-and-set and compare-and-delete use IFEQ (Redis 8.4+) or Lua. */
  readonly compare: CompareCommands;
  /** The client transport the store sends through. */
  protected readonly transport: RedisTransport;
  private readonly scripts: ScriptRunner;
  private bulkStore: BulkStore | undefined;
  private readonly trackingOptions: TrackingOptions;
  private trackingSource: RedisTracking | undefined;
  /** The batch read's script failed where a pipeline of MGET and PTTLs worked (an ACL, scripting off): the pipeline from now on. */
  private ttlScriptRefused = false;

  constructor(transport: RedisTransport, options?: RedisStoreOptions) {
    this.transport = transport;
    this.scripts = new ScriptRunner(transport);
    const resolved = storeOptionsOf(options);
    this.compare = new CompareCommands(resolved.compare, () => detectIfeq(transport));
    this.trackingOptions = resolved.tracking;
  }

  /**
   * Redis tracking on connections of the store's own (one per server),
   * shared by every accessor's L1 over this store: made on first use,
   * closed when the last L1 watching it closes. A ConfigError when the
   * client cannot track (GLIDE: see docs/l1.md).
   */
  tracking(): InvalidationSource {
    if (this.trackingSource !== undefined) return this.trackingSource;
    const driver = this.transport.trackingDriver?.();
    if (driver === undefined) throw new ConfigError("l1.tracking", this.transport.trackingRefusal ?? `${this.transport.client} gives protocache no tracking connections`);
    return (this.trackingSource = new RedisTracking(driver, this.trackingOptions));
  }

  readsFromReplicas(): boolean {
    return this.transport.replicaReads === true;
  }

  /** Bulk primitives for operations (migrate, census, cleanup): per-master SCAN and pipelines. */
  get bulk(): BulkStore {
    const refusal = this.transport.bulkRefusal?.();
    if (refusal !== undefined) throw new ConfigError("store", refusal);
    return (this.bulkStore ??= new RedisBulk(this.transport, this.scripts));
  }

  get(key: string): Promise<Buffer | null> {
    return this.transport.send(key, ["GET", key]) as Promise<Buffer | null>;
  }

  /**
   * GET and PTTL written together (one round trip, in order on the key's
   * connection). The GET's failure is the call's; a failed PTTL (an ACL
   * without it, say) leaves the value with no time to be held, and says why.
   */
  async getWithTtl(key: string): Promise<TimedValue | null> {
    const t = this.transport;
    const [value, ttl] = await Promise.all([t.send(key, ["GET", key]), t.send(key, ["PTTL", key]).catch((error: unknown) => asStoreError("PTTL", key, error))]);
    return timedValue(value, ttl);
  }

  /**
   * Each value with its key's remaining TTL, 1000 keys per round trip, each
   * bounded by `deadline` like getMany's: on a standalone server one script
   * per chunk ({@link getManyWithTtl}: MGET and the PTTLs, one command),
   * or MGET and a PTTL per key in one pipeline where an ACL refuses
   * scripts; on a Cluster a GET and a PTTL per key, pipelined per master.
   */
  async getManyWithTtl(keys: readonly string[], deadline?: Deadline): Promise<(TimedValue | null | Error)[]> {
    if (keys.length === 0) return [];
    const t = this.transport;
    const operation = t.cluster ? "GET" : "MGET";
    const out = new Array<TimedValue | null | Error>(keys.length);
    const send = async (chunk: readonly number[]): Promise<(TimedValue | null | Error)[]> => {
      const chunkKeys = chunk.map((i) => keys[i] as string);
      if (!t.cluster) {
        let refused = false;
        if (!this.ttlScriptRefused) {
          try {
            return await this.scripts.run("MGET", getManyWithTtl, chunkKeys[0] as string, chunkKeys);
          } catch {
            // Refused (an ACL, scripting disabled or renamed, a proxy that splits keys), or the server failed: the
            // pipeline below tells which. If it works, the script is not tried again.
            refused = true;
          }
        }
        const replies = await t.batch([chunkKeys[0] as string, ...chunkKeys], [["MGET", ...chunkKeys], ...chunkKeys.map((k): Command => ["PTTL", k])]);
        const values = replies[0];
        if (values instanceof Error) throw values;
        if (!Array.isArray(values)) throw new StoreError("MGET", chunkKeys[0], { cause: new Error("MGET did not reply with an array") });
        if (refused) this.ttlScriptRefused = true;
        return chunkKeys.map((k, j) => timedValue(values[j], replies[j + 1] instanceof Error ? new StoreError("PTTL", k, { cause: replies[j + 1] }) : replies[j + 1]));
      }
      const replies = await t.batch(
        chunkKeys.flatMap((k) => [k, k]),
        chunkKeys.flatMap((k): Command[] => [["GET", k], ["PTTL", k]]),
      );
      return chunkKeys.map((k, j) => {
        const value = replies[2 * j];
        const ttl = replies[2 * j + 1];
        return value instanceof Error ? new StoreError("GET", k, { cause: value }) : timedValue(value, ttl instanceof Error ? new StoreError("PTTL", k, { cause: ttl }) : ttl);
      });
    };
    await Promise.all(groupByServer(t, keys).map((positions) => sendInChunks(positions, out, operation, (i) => keys[i], deadline, MAX_KEYS_PER_ROUND_TRIP, send)));
    return out;
  }

  set(w: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome> {
    if (guard !== undefined) return this.scripts.run("SET", guardedSet, w.key, w, guard);
    return this.transport.send(w.key, setCommand(w)).then(written);
  }

  async getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 0) return [];
    const t = this.transport;
    if (!t.cluster) {
      if (keys.length <= MAX_KEYS_PER_ROUND_TRIP) {
        // One MGET, the common case, without the chunks' bookkeeping (it is the hot path).
        const mget = t.send(keys[0], ["MGET", ...keys]) as Promise<(Buffer | null)[]>;
        try {
          return await (deadline === undefined ? mget : deadline.bound(mget, "MGET", keys[0]));
        } catch (cause) {
          return new Array<Error>(keys.length).fill(asStoreError("MGET", keys[0], cause));
        }
      }
      const out = new Array<Buffer | null | Error>(keys.length);
      const mget = (chunk: readonly number[]) => t.send(keys[chunk[0] as number], ["MGET", ...chunk.map((i) => keys[i] as string)]) as Promise<(Buffer | null)[]>;
      await sendInChunks(allPositions(keys.length), out, "MGET", (i) => keys[i], deadline, MAX_KEYS_PER_ROUND_TRIP, mget);
      return out;
    }
    return this.perServer(keys, "GET", (k) => ["GET", k], () => undefined, (r) => r as Buffer | null, deadline, MAX_KEYS_PER_ROUND_TRIP);
  }

  async setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined, deadline?: Deadline): Promise<StoreWriteResult[]> {
    if (writes.length === 0) return [];
    if (writes.length === 1) {
      const w = writes[0] as StoreWrite;
      const one = this.set(w, guard);
      return [await (deadline === undefined ? one : deadline.bound(one, "SET", w.key)).catch((e: unknown) => asStoreError("SET", w.key, e))];
    }
    const keys = writes.map((w) => w.key);
    const calls = guard === undefined ? undefined : writes.map((w) => scriptCall(guardedSet, w, guard));
    return this.perServer(
      keys,
      "SET",
      (_key, i) => (calls === undefined ? setCommand(writes[i] as StoreWrite) : this.scripts.command(calls[i] as ScriptCall)),
      (i) => calls?.[i],
      (r): StoreWriteResult => (guard === undefined ? "written" : guardedSet.parse(r)),
      deadline,
      MAX_WRITES_PER_ROUND_TRIP,
    );
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const t = this.transport;
    try {
      let n = 0;
      if (!t.cluster) {
        // One DEL per 1000 keys: never a command with more arguments than a call can spread.
        for (let at = 0; at < keys.length; at += MAX_KEYS_PER_ROUND_TRIP) n += Number(await t.send(keys[at], ["DEL", ...keys.slice(at, at + MAX_KEYS_PER_ROUND_TRIP)]));
        return n;
      }
      // A Cluster takes one key per DEL (keys of other slots cannot share one): 1000 per server and round trip.
      const counts = await Promise.all(
        groupByServer(t, keys).map(async (positions) => {
          let sum = 0;
          for (let at = 0; at < positions.length; at += MAX_KEYS_PER_ROUND_TRIP) {
            const chunk = positions.slice(at, at + MAX_KEYS_PER_ROUND_TRIP).map((i) => keys[i] as string);
            for (const r of await t.batch(chunk, chunk.map((k) => ["DEL", k]))) {
              if (r instanceof Error) throw r;
              sum += Number(r);
            }
          }
          return sum;
        }),
      );
      for (const c of counts) n += c;
      return n;
    } catch (cause) {
      throw asStoreError("DEL", keys[0], cause);
    }
  }

  replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    return replaceIfEqualOn(this.compare, this.transport, this.scripts, key, expected, value);
  }

  deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    return deleteIfEqualOn(this.compare, this.transport, this.scripts, key, expected);
  }

  /**
   * PEXPIRETIME, GET, PEXPIRETIME in one round trip (no transaction: a
   * MULTI cannot share a multiplexed connection, and node-redis's MULTI
   * returns no Buffers). Equal expiries around the GET mean the value was
   * read with that expiry (a rewrite with KEEPTTL keeps it; any other
   * write changes it); otherwise the entry is reported absent and the
   * caller leaves it alone.
   */
  async getWithExpiry(key: string): Promise<StoredValue | null> {
    let replies: Reply[];
    try {
      replies = await this.transport.batch([key, key, key], [["PEXPIRETIME", key], ["GET", key], ["PEXPIRETIME", key]]);
    } catch (cause) {
      throw new StoreError("GET", key, { cause });
    }
    const failed = replies.find((r) => r instanceof Error);
    if (failed !== undefined) throw new StoreError("GET", key, { cause: failed });
    const [before, value, after] = replies;
    if (!Buffer.isBuffer(value) || typeof before !== "number" || before !== after || before === -2) return null;
    return { value, expireAt: before < 0 ? undefined : before };
  }

  async createIfAbsent(key: string, value: Buffer, expireAt: number | undefined): Promise<boolean> {
    try {
      const reply = await this.transport.send(key, expireAt === undefined ? ["SET", key, value, "NX"] : ["SET", key, value, "PXAT", String(expireAt), "NX"]);
      return reply !== null;
    } catch (cause) {
      throw new StoreError("SET", key, { cause });
    }
  }

  /**
   * One command per key, sent as batches per server of at most
   * `perRoundTrip` commands (each bounded by the deadline on its own, see
   * sendInChunks); script calls whose server lacked the script are sent
   * again once it is there. Each reply (or error) is mapped back to its
   * key's position.
   */
  private async perServer<R>(
    keys: readonly string[],
    operation: string,
    command: (key: string, index: number) => Command,
    scriptOf: (index: number) => ScriptCall | undefined,
    map: (reply: Reply) => R,
    deadline: Deadline | undefined,
    perRoundTrip: number,
  ): Promise<(R | Error)[]> {
    const t = this.transport;
    const out = new Array<R | Error>(keys.length);
    const send = async (chunk: readonly number[]): Promise<(R | Error)[]> => {
      const chunkKeys = chunk.map((i) => keys[i] as string);
      const replies = await t.batch(chunkKeys, chunk.map((i, j) => command(chunkKeys[j] as string, i)));
      const calls = chunk.map(scriptOf);
      if (calls.some((c) => c !== undefined)) {
        await this.scripts.recoverBatch(replies, calls, (positions, commands) => t.batch(positions.map((p) => chunkKeys[p] as string), commands));
      }
      return replies.map((reply, j) => {
        if (!(reply instanceof Error)) return map(reply);
        const cause = reply.cause instanceof Error ? reply.cause : reply;
        return calls[j] !== undefined ? scriptError(operation, chunkKeys[j], reply) : new StoreError(operation, chunkKeys[j], { cause });
      });
    };
    await Promise.all(groupByServer(t, keys).map((positions) => sendInChunks(positions, out, operation, (i) => keys[i], deadline, perRoundTrip, send)));
    return out;
  }
}

/** `SET key value [EX ttl]`. */
function setCommand(w: StoreWrite): Command {
  return w.ttlSeconds > 0 ? ["SET", w.key, w.value, "EX", String(w.ttlSeconds)] : ["SET", w.key, w.value];
}

function written(): "written" {
  return "written";
}
