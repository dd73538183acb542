import { ConfigError, StoreError } from "../errors.js";
import { describeClient, isNodeRedisClient } from "./client-kind.js";
import { deleteIfEqual, guardedSet, replaceIfEqual, type LuaScript } from "./lua.js";
import { guardOutcome, isOne, runScript, written, type ScriptTransport } from "./scripts.js";
import type { CacheStore, Deadline, StoreWrite, StoreWriteResult, WriteGuard } from "./store.js";

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
  /** The cluster's masters; only its presence is used, to tell a cluster from a client. */
  readonly masters: readonly unknown[];
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
 * per server. Scripts run as node-redis runs them (EVALSHA, EVAL when the
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
export class NodeRedisStore implements CacheStore {
  readonly client: NodeRedisClient | NodeRedisCluster;
  private readonly send: (key: string, readonly: boolean, args: Arg[]) => Promise<unknown>;
  private readonly cluster: boolean;
  private readonly scripts: ScriptTransport;
  private readonly scriptState = { evalOnly: false };

  constructor(client: NodeRedisClient | NodeRedisCluster) {
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
    this.scripts = {
      evalsha: (s, key, args) => this.send(key, false, ["EVALSHA", s.sha1, "1", key, ...args]),
      eval: (s, key, args) => this.send(key, false, ["EVAL", s.source, "1", key, ...args]),
      // On a Cluster the key routes SCRIPT LOAD to the master that will run the script.
      load: (s, key) => this.send(key, false, ["SCRIPT", "LOAD", s.source]),
    };
  }

  get(key: string): Promise<Buffer | null> {
    return this.send(key, true, ["GET", key]) as Promise<Buffer | null>;
  }

  set(w: StoreWrite, guard: WriteGuard | undefined): Promise<"written" | "guarded"> {
    if (guard !== undefined) {
      return this.script("SET", guardedSet, w.key, [w.value, String(w.ttlSeconds), guard.knownIds], guardOutcome);
    }
    return this.send(w.key, false, w.ttlSeconds > 0 ? ["SET", w.key, w.value, "EX", String(w.ttlSeconds)] : ["SET", w.key, w.value]).then(written);
  }

  async getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 0) return [];
    if (!this.cluster) {
      const mget = this.send(keys[0] as string, true, ["MGET", ...keys]) as Promise<(Buffer | null)[]>;
      try {
        return await (deadline === undefined ? mget : deadline.bound(mget, "MGET", keys[0]));
      } catch (cause) {
        return keys.map((k) => (cause instanceof StoreError ? cause : new StoreError("MGET", k, { cause })));
      }
    }
    // One GET per key, all issued in this turn: node-redis writes each server's share in one go.
    return Promise.all(
      keys.map((key) => {
        const get = this.send(key, true, ["GET", key]) as Promise<Buffer | null>;
        return (deadline === undefined ? get : deadline.bound(get, "GET", key)).catch((cause: unknown) =>
          cause instanceof StoreError ? cause : new StoreError("GET", key, { cause }),
        );
      }),
    );
  }

  async setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined, deadline?: Deadline): Promise<StoreWriteResult[]> {
    return Promise.all(
      writes.map((w) => {
        const one = this.set(w, guard);
        return (deadline === undefined ? one : deadline.bound(one, "SET", w.key)).catch((cause: unknown) =>
          cause instanceof StoreError ? cause : new StoreError("SET", w.key, { cause }),
        );
      }),
    );
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    try {
      if (!this.cluster) return (await this.send(keys[0] as string, false, ["DEL", ...keys])) as number;
      const counts = await Promise.all(keys.map((k) => this.send(k, false, ["DEL", k]) as Promise<number>));
      return counts.reduce((a, b) => a + b, 0);
    } catch (cause) {
      throw new StoreError("DEL", keys[0], { cause });
    }
  }

  replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    return this.script("CAS", replaceIfEqual, key, [expected, value], isOne);
  }

  deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    return this.script("CAD", deleteIfEqual, key, [expected], isOne);
  }

  private script<R>(operation: string, script: LuaScript, key: string, args: Arg[], map: (reply: unknown) => R): Promise<R> {
    return runScript(this.scripts, this.scriptState, operation, script, key, args, map);
  }
}
