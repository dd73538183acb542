import calculateSlot from "cluster-key-slot";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { ConfigError, StoreError } from "../errors.js";
import { CompareCommands, compareModeOf, deleteIfEqualOn, detectArgs, hasDelex, replaceIfEqualOn, type CompareTransport, type RedisStoreOptions } from "./compare-commands.js";
import { allPositions, MAX_KEYS_PER_ROUND_TRIP, MAX_WRITES_PER_ROUND_TRIP, sendInChunks } from "./batches.js";
import { describeClient, isIoredisClient } from "./client-kind.js";
import type { BulkStore, ScanCapable, StoredValue } from "./bulk.js";
import { ioredisTransport } from "./ioredis-bulk.js";
import { RedisBulk } from "./redis-bulk.js";
import { guardedSet, type LuaScript } from "./lua.js";
import { guardArgs, guardOutcome, isNoScript, isOne, runScript, written, type ScriptTransport } from "./scripts.js";
import type { CacheStore, Deadline, SetOutcome, StoreWrite, StoreWriteResult, WriteGuard } from "./store.js";

type Client = Redis | Cluster;

/**
 * An ioredis `Redis` or `Cluster` client, as {@link RedisStore} takes it.
 * Structural (the methods the store checks for), so that protocache's types
 * compile in a service that uses node-redis and never installs ioredis.
 */
export interface IoredisClient {
  /** ioredis's `GET` returning a Buffer. */
  getBuffer(...args: never[]): unknown;
  /** ioredis's `MGET` returning Buffers. */
  mgetBuffer(...args: never[]): unknown;
  /** A new pipeline (batches and operations). */
  pipeline(...args: never[]): unknown;
  /** Runs a cached Lua script (guarded writes, compare-and-set). */
  evalsha(...args: never[]): unknown;
}
type PipelineResult = [error: Error | null, result: unknown][];

/**
 * The store over an ioredis `Redis` or `Cluster` client. Batches take one
 * round trip per server and 1000 keys read or 250 values written: MGETs or
 * pipelines on a standalone server, pipelines per master on a Cluster,
 * chunks of one server one after another (a failing master fails only its
 * own keys). Scripts run by EVALSHA, sent by EVAL (or SCRIPT LOAD where an
 * ACL denies EVAL) when a server lacks them; compare-and-set and
 * compare-and-delete use `SET … IFEQ` and `DELEX … IFEQ` instead where
 * every server has them (Redis 8.4+, detected once per store). Recommended
 * client settings are in docs/operations.md.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisStore } from "protocache";
 * const users = userCache(new RedisStore(new Redis(url, { maxRetriesPerRequest: 1 })));
 * ```
 */
export class RedisStore<C extends IoredisClient = IoredisClient> implements CacheStore, ScanCapable {
  /** The client the store was made with, with its own type. */
  readonly client: C;
  /** The same client with ioredis's types (kept out of the public declarations). */
  private readonly io: Client;
  private bulkStore: BulkStore | undefined;
  private readonly cluster: boolean;
  private readonly scripts: ScriptTransport;
  private readonly scriptState = { evalOnly: false };
  /** Whether compare-and-set and compare-and-delete use IFEQ (Redis 8.4+) or Lua. */
  readonly compare: CompareCommands;

  /** IFEQ commands and scripts on this client, for compare-and-set and compare-and-delete. */
  private readonly compareTransport: CompareTransport = {
    raw: (_key, args) => this.io.call(...(args as [string, ...(string | Buffer)[]])),
    script: (operation, script, key, args) => this.script(operation, script, key, args, isOne),
  };

  constructor(client: C, options?: RedisStoreOptions) {
    if (!isIoredisClient(client)) throw new ConfigError("client", `expected an ioredis Redis or Cluster client, got ${describeClient(client)}`);
    this.client = client;
    this.io = client as unknown as Client;
    this.cluster = (client as { isCluster?: boolean }).isCluster === true;
    this.compare = new CompareCommands(compareModeOf(options), async () => {
      const servers: (Redis | Cluster)[] = this.cluster ? (this.io as Cluster).nodes("master") : [this.io];
      // A Cluster client that has not loaded its topology yet: ask again next time.
      if (servers.length === 0) return undefined;
      const replies = await Promise.all(servers.map((s) => s.call(...detectArgs)));
      return replies.every(hasDelex);
    });
    this.scripts = {
      evalsha: (s, key, args) => this.io.evalsha(s.sha1, 1, key, ...args),
      eval: (s, key, args) => this.io.eval(s.source, 1, key, ...args),
      // ioredis sends a keyless SCRIPT LOAD to any node: load it on every master instead.
      load: (s) =>
        this.cluster
          ? Promise.all((this.io as Cluster).nodes("master").map((n) => n.script("LOAD", s.source)))
          : this.io.script("LOAD", s.source),
    };
  }

  /** Bulk primitives for operations (migrate, census, cleanup): per-master SCAN and pipelines. */
  get bulk(): BulkStore {
    return (this.bulkStore ??= new RedisBulk(ioredisTransport(this.io, (keys) => this.groupByNode(keys))));
  }

  get(key: string): Promise<Buffer | null> {
    return this.io.getBuffer(key);
  }

  set(w: StoreWrite, guard: WriteGuard | undefined): Promise<SetOutcome> {
    if (guard !== undefined) {
      return this.script("SET", guardedSet, w.key, guardArgs(w, guard), guardOutcome);
    }
    return (w.ttlSeconds > 0 ? this.io.set(w.key, w.value, "EX", w.ttlSeconds) : this.io.set(w.key, w.value)).then(written);
  }

  async getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 0) return [];
    if (!this.cluster) {
      if (keys.length <= MAX_KEYS_PER_ROUND_TRIP) {
        // One MGET, the common case, without the chunks' bookkeeping (it is the hot path).
        const mget = this.io.mgetBuffer(...keys);
        try {
          return await (deadline === undefined ? mget : deadline.bound(mget, "MGET", keys[0]));
        } catch (cause) {
          return new Array<Error>(keys.length).fill(storeError("MGET", keys[0], cause));
        }
      }
      const out = new Array<Buffer | null | Error>(keys.length);
      const mget = (chunk: readonly number[]) => this.io.mgetBuffer(...chunk.map((i) => keys[i] as string));
      await sendInChunks(allPositions(keys.length), out, "MGET", (i) => keys[i], deadline, MAX_KEYS_PER_ROUND_TRIP, mget);
      return out;
    }
    return this.perNode(keys, "GET", (p, i) => p.getBuffer(keys[i] as string), (r) => r as Buffer | null, deadline);
  }

  async setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined, deadline?: Deadline): Promise<StoreWriteResult[]> {
    if (writes.length === 0) return [];
    if (writes.length === 1) {
      const w = writes[0] as StoreWrite;
      const one = this.set(w, guard);
      return [await (deadline === undefined ? one : deadline.bound(one, "SET", w.key)).catch((e: unknown) => storeError("SET", w.key, e))];
    }
    const toResult = (r: unknown): StoreWriteResult => (guard === undefined ? "written" : guardOutcome(r));
    const results = new Array<StoreWriteResult>(writes.length);
    let pending = allPositions(writes.length);
    // A server lacking the guard script answers NOSCRIPT: one of those writes sends it (EVAL, or SCRIPT LOAD
    // under a strict ACL), then the others go again in pipelines; once per server that lacked it.
    for (let round = 0; pending.length > 0; round++) {
      const batch = pending;
      const sent = await this.perNode(batch.map((i) => (writes[i] as StoreWrite).key), "SET", (p, j) => this.queueSet(p, writes[batch[j] as number] as StoreWrite, guard), toResult, deadline);
      pending = [];
      sent.forEach((r, j) => {
        if (isNoScript(r) && round < 8) pending.push(batch[j] as number);
        else results[batch[j] as number] = isNoScript(r) ? storeError("SET", writes[batch[j] as number]?.key, r) : r;
      });
      const first = pending.shift();
      if (first === undefined) break;
      const w = writes[first] as StoreWrite;
      const one = this.set(w, guard);
      const loaded = await (deadline === undefined ? one : deadline.bound(one, "SET", w.key)).catch((e: unknown) => storeError("SET", w.key, e));
      results[first] = loaded;
      if (loaded instanceof Error) {
        for (const i of pending) results[i] = loaded;
        break;
      }
    }
    return results;
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.cluster) {
      try {
        // One DEL per 1000 keys: never a call with more arguments than the stack can spread.
        let n = 0;
        for (let at = 0; at < keys.length; at += MAX_KEYS_PER_ROUND_TRIP) n += await this.io.del(...keys.slice(at, at + MAX_KEYS_PER_ROUND_TRIP));
        return n;
      } catch (cause) {
        throw new StoreError("DEL", keys[0], { cause });
      }
    }
    const results = await this.perNode(keys, "DEL", (p, i) => p.del(keys[i] as string), (r) => r as number, undefined);
    let n = 0;
    for (const r of results) {
      if (r instanceof Error) throw r;
      n += r;
    }
    return n;
  }

  replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    return replaceIfEqualOn(this.compare, this.compareTransport, key, expected, value);
  }

  deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    return deleteIfEqualOn(this.compare, this.compareTransport, key, expected);
  }

  async getWithExpiry(key: string): Promise<StoredValue | null> {
    let replies: PipelineResult | null;
    try {
      replies = (await this.io.multi().getBuffer(key).pexpiretime(key).exec()) as PipelineResult | null;
    } catch (cause) {
      throw storeError("GET", key, cause);
    }
    const [[getError, value] = [null, null], [expError, expireAt] = [null, -2]] = replies ?? [];
    if (getError !== null || expError !== null) throw storeError("GET", key, getError ?? expError);
    if (value === null || typeof expireAt !== "number" || expireAt === -2) return null;
    return { value: value as Buffer, expireAt: expireAt < 0 ? undefined : expireAt };
  }

  async createIfAbsent(key: string, value: Buffer, expireAt: number | undefined): Promise<boolean> {
    try {
      const reply = expireAt === undefined ? await this.io.set(key, value, "NX") : await this.io.set(key, value, "PXAT", expireAt, "NX");
      return reply === "OK";
    } catch (cause) {
      throw storeError("SET", key, cause);
    }
  }

  private script<R>(operation: string, script: LuaScript, key: string, args: (string | Buffer)[], map: (reply: unknown) => R): Promise<R> {
    return runScript(this.scripts, this.scriptState, operation, script, key, args, map);
  }

  private queueSet(p: ChainableCommander, w: StoreWrite, guard: WriteGuard | undefined): void {
    if (guard !== undefined) {
      if (this.scriptState.evalOnly) p.eval(guardedSet.source, 1, w.key, ...guardArgs(w, guard));
      else p.evalsha(guardedSet.sha1, 1, w.key, ...guardArgs(w, guard));
    } else if (w.ttlSeconds > 0) {
      p.set(w.key, w.value, "EX", w.ttlSeconds);
    } else {
      p.set(w.key, w.value);
    }
  }

  /**
   * Runs one command per key, batched into pipelines per server of at most
   * MAX_KEYS_PER_ROUND_TRIP reads or MAX_WRITES_PER_ROUND_TRIP writes (each bounded by the deadline on its
   * own, see sendInChunks), and maps each reply (or error) back to its key's
   * position.
   */
  private async perNode<R>(
    keys: readonly string[],
    operation: string,
    queue: (p: ChainableCommander, index: number) => void,
    map: (reply: unknown) => R,
    deadline: Deadline | undefined,
  ): Promise<(R | Error)[]> {
    const out: (R | Error)[] = new Array<R | Error>(keys.length);
    const pipeline = async (chunk: readonly number[]): Promise<(R | Error)[]> => {
      const p = this.io.pipeline();
      for (const i of chunk) queue(p, i);
      const results = (await p.exec()) as PipelineResult | null;
      return chunk.map((i, j) => {
        const [error, reply] = results?.[j] ?? [new Error("pipeline returned no reply"), null];
        // NOSCRIPT stays raw so setMany can send the script; other errors become StoreErrors.
        return error === null ? map(reply) : isNoScript(error) ? error : new StoreError(operation, keys[i], { cause: error });
      });
    };
    const perRoundTrip = operation === "SET" ? MAX_WRITES_PER_ROUND_TRIP : MAX_KEYS_PER_ROUND_TRIP;
    await Promise.all(this.groupByNode(keys).map((indices) => sendInChunks(indices, out, operation, (i) => keys[i], deadline, perRoundTrip, pipeline)));
    return out;
  }

  /** Key positions grouped by the master serving their slot (one group on a standalone server). */
  private groupByNode(keys: readonly string[]): number[][] {
    if (!this.cluster) return [keys.map((_, i) => i)];
    const slots = (this.io as Cluster).slots;
    // ioredis prepends its keyPrefix option to every key it sends; the slot is the prefixed key's.
    const prefix = (this.io as Cluster).options.keyPrefix ?? "";
    const groups = new Map<string, number[]>();
    keys.forEach((key, i) => {
      const slot = calculateSlot(prefix + key);
      const node = slots[slot]?.[0] ?? `slot:${slot}`;
      let group = groups.get(node);
      if (group === undefined) groups.set(node, (group = []));
      group.push(i);
    });
    return [...groups.values()];
  }
}

function storeError(operation: string, key: string | undefined, cause: unknown): StoreError {
  return cause instanceof StoreError ? cause : new StoreError(operation, key, { cause });
}
