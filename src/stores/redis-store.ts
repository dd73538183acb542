import calculateSlot from "cluster-key-slot";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { ConfigError, StoreError } from "../errors.js";
import { describeClient, isIoredisClient } from "./client-kind.js";
import { deleteIfEqual, guardedSet, replaceIfEqual, type LuaScript } from "./lua.js";
import { guardOutcome, isNoScript, isOne, runScript, written, type ScriptTransport } from "./scripts.js";
import type { CacheStore, Deadline, StoreWrite, StoreWriteResult, WriteGuard } from "./store.js";

type Client = Redis | Cluster;
type PipelineResult = [error: Error | null, result: unknown][];

/**
 * The store over an ioredis `Redis` or `Cluster` client. Batches take one
 * round trip per server: a single MGET or pipeline on a standalone server,
 * one pipeline per master on a Cluster (a failing master fails only its own
 * keys). Scripts run by EVALSHA, sent by EVAL (or SCRIPT LOAD where an ACL
 * denies EVAL) when a server lacks them. Recommended client settings are in
 * docs/operations.md.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisStore } from "protocache";
 * const users = userCache(new RedisStore(new Redis(url, { maxRetriesPerRequest: 1 })));
 * ```
 */
export class RedisStore implements CacheStore {
  readonly client: Client;
  private readonly cluster: boolean;
  private readonly scripts: ScriptTransport;
  private readonly scriptState = { evalOnly: false };

  constructor(client: Client) {
    if (!isIoredisClient(client)) throw new ConfigError("client", `expected an ioredis Redis or Cluster client, got ${describeClient(client)}`);
    this.client = client;
    this.cluster = (client as { isCluster?: boolean }).isCluster === true;
    this.scripts = {
      evalsha: (s, key, args) => this.client.evalsha(s.sha1, 1, key, ...args),
      eval: (s, key, args) => this.client.eval(s.source, 1, key, ...args),
      // ioredis sends a keyless SCRIPT LOAD to any node: load it on every master instead.
      load: (s) =>
        this.cluster
          ? Promise.all((this.client as Cluster).nodes("master").map((n) => n.script("LOAD", s.source)))
          : this.client.script("LOAD", s.source),
    };
  }

  get(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(key);
  }

  set(w: StoreWrite, guard: WriteGuard | undefined): Promise<"written" | "guarded"> {
    if (guard !== undefined) {
      return this.script("SET", guardedSet, w.key, [w.value, String(w.ttlSeconds), guard.knownIds], guardOutcome);
    }
    return (w.ttlSeconds > 0 ? this.client.set(w.key, w.value, "EX", w.ttlSeconds) : this.client.set(w.key, w.value)).then(written);
  }

  async getMany(keys: readonly string[], deadline?: Deadline): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 0) return [];
    if (!this.cluster) {
      const mget = this.client.mgetBuffer(...keys);
      try {
        return await (deadline === undefined ? mget : deadline.bound(mget, "MGET", keys[0]));
      } catch (cause) {
        return keys.map((k) => (cause instanceof StoreError ? cause : new StoreError("MGET", k, { cause })));
      }
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
    const keys = writes.map((w) => w.key);
    const toResult = (r: unknown): StoreWriteResult => (r === 0 ? "guarded" : "written");
    const results = await this.perNode(keys, "SET", (p, i) => this.queueSet(p, writes[i] as StoreWrite, guard), toResult, deadline);
    if (guard === undefined || !results.some(isNoScript)) return results;
    // A server lacked the guard script: send it once per affected write (EVAL, or SCRIPT LOAD under a strict ACL).
    await Promise.all(
      results.map(async (r, i) => {
        if (!isNoScript(r)) return;
        const w = writes[i] as StoreWrite;
        const one = this.set(w, guard);
        results[i] = await (deadline === undefined ? one : deadline.bound(one, "SET", w.key)).catch((e: unknown) => storeError("SET", w.key, e));
      }),
    );
    return results;
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    if (!this.cluster) {
      try {
        return await this.client.del(...keys);
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
    return this.script("CAS", replaceIfEqual, key, [expected, value], isOne);
  }

  deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    return this.script("CAD", deleteIfEqual, key, [expected], isOne);
  }

  private script<R>(operation: string, script: LuaScript, key: string, args: (string | Buffer)[], map: (reply: unknown) => R): Promise<R> {
    return runScript(this.scripts, this.scriptState, operation, script, key, args, map);
  }

  private queueSet(p: ChainableCommander, w: StoreWrite, guard: WriteGuard | undefined): void {
    if (guard !== undefined) {
      if (this.scriptState.evalOnly) p.eval(guardedSet.source, 1, w.key, w.value, String(w.ttlSeconds), guard.knownIds);
      else p.evalsha(guardedSet.sha1, 1, w.key, w.value, String(w.ttlSeconds), guard.knownIds);
    } else if (w.ttlSeconds > 0) {
      p.set(w.key, w.value, "EX", w.ttlSeconds);
    } else {
      p.set(w.key, w.value);
    }
  }

  /**
   * Runs one command per key, batched into one pipeline per server (each
   * bounded by the deadline on its own), and maps each reply (or error)
   * back to its key's position.
   */
  private async perNode<R>(
    keys: readonly string[],
    operation: string,
    queue: (p: ChainableCommander, index: number) => void,
    map: (reply: unknown) => R,
    deadline: Deadline | undefined,
  ): Promise<(R | Error)[]> {
    const out: (R | Error)[] = new Array<R | Error>(keys.length);
    await Promise.all(
      this.groupByNode(keys).map(async (indices) => {
        let results: PipelineResult | null;
        try {
          const p = this.client.pipeline();
          for (const i of indices) queue(p, i);
          const exec = p.exec() as Promise<PipelineResult | null>;
          results = await (deadline === undefined ? exec : deadline.bound(exec, operation, keys[indices[0] as number]));
        } catch (cause) {
          for (const i of indices) out[i] = storeError(operation, keys[i], cause);
          return;
        }
        indices.forEach((i, j) => {
          const [error, reply] = results?.[j] ?? [new Error("pipeline returned no reply"), null];
          // NOSCRIPT stays raw so setMany can send the script; other errors become StoreErrors.
          out[i] = error === null ? map(reply) : isNoScript(error) ? error : new StoreError(operation, keys[i], { cause: error });
        });
      }),
    );
    return out;
  }

  /** Key positions grouped by the master serving their slot (one group on a standalone server). */
  private groupByNode(keys: readonly string[]): number[][] {
    if (!this.cluster) return [keys.map((_, i) => i)];
    const slots = (this.client as Cluster).slots;
    // ioredis prepends its keyPrefix option to every key it sends; the slot is the prefixed key's.
    const prefix = (this.client as Cluster).options.keyPrefix ?? "";
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
