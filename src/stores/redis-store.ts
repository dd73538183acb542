import calculateSlot from "cluster-key-slot";
import type { ChainableCommander, Cluster, Redis } from "ioredis";
import { StoreError } from "../errors.js";
import { deleteIfEqual, guardedSet, replaceIfEqual, type LuaScript } from "./lua.js";
import type { CacheStore, StoreWrite, StoreWriteResult, WriteGuard } from "./store.js";

type Client = Redis | Cluster;
type PipelineResult = [error: Error | null, result: unknown][];

/**
 * The production store over an ioredis `Redis` or `Cluster` client. Batches
 * take one round trip per server: a single MGET or pipeline on a standalone
 * server, one pipeline per master on a Cluster. Timeouts and retries are the
 * client's own settings (`commandTimeout`, `maxRetriesPerRequest`).
 */
export class RedisStore implements CacheStore {
  readonly client: Client;
  private readonly cluster: boolean;

  constructor(client: Client) {
    this.client = client;
    this.cluster = (client as { isCluster?: boolean }).isCluster === true;
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await this.client.getBuffer(key);
    } catch (cause) {
      throw new StoreError("GET", key, { cause });
    }
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | null | Error)[]> {
    if (keys.length === 0) return [];
    if (!this.cluster) {
      try {
        return await this.client.mgetBuffer(...keys);
      } catch (cause) {
        return keys.map((k) => new StoreError("MGET", k, { cause }));
      }
    }
    return this.perNode(keys, "GET", (p, i) => p.getBuffer(keys[i] as string), (r) => r as Buffer | null);
  }

  async setMany(writes: readonly StoreWrite[], guard: WriteGuard | undefined): Promise<StoreWriteResult[]> {
    if (writes.length === 0) return [];
    if (writes.length === 1) return [await this.setOne(writes[0] as StoreWrite, guard)];
    const keys = writes.map((w) => w.key);
    const toResult = (r: unknown): StoreWriteResult => (r === 0 ? "guarded" : "written");
    const first = await this.perNode(keys, "SET", (p, i) => this.queueSet(p, writes[i] as StoreWrite, guard, false), toResult);
    if (guard === undefined || !first.some(isNoScript)) return first;
    // The server has not cached the guard script yet: send the source once for the affected writes.
    const retry = first.map((r, i) => (isNoScript(r) ? i : -1)).filter((i) => i >= 0);
    const second = await this.perNode(
      retry.map((i) => keys[i] as string),
      "SET",
      (p, j) => this.queueSet(p, writes[retry[j] as number] as StoreWrite, guard, true),
      toResult,
    );
    retry.forEach((i, j) => (first[i] = second[j] as StoreWriteResult));
    return first;
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
    const results = await this.perNode(keys, "DEL", (p, i) => p.del(keys[i] as string), (r) => r as number);
    let n = 0;
    for (const r of results) {
      if (r instanceof Error) throw r;
      n += r;
    }
    return n;
  }

  async replaceIfEqual(key: string, expected: Buffer, value: Buffer): Promise<boolean> {
    try {
      return (await this.evalScript(replaceIfEqual, key, [expected, value])) === 1;
    } catch (cause) {
      throw new StoreError("CAS", key, { cause });
    }
  }

  async deleteIfEqual(key: string, expected: Buffer): Promise<boolean> {
    try {
      return (await this.evalScript(deleteIfEqual, key, [expected])) === 1;
    } catch (cause) {
      throw new StoreError("CAD", key, { cause });
    }
  }

  private async evalScript(script: LuaScript, key: string, args: (string | Buffer)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha1, 1, key, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return this.client.eval(script.source, 1, key, ...args);
    }
  }

  private async setOne(w: StoreWrite, guard: WriteGuard | undefined): Promise<StoreWriteResult> {
    try {
      if (guard !== undefined) {
        const reply = await this.evalScript(guardedSet, w.key, [w.value, String(w.ttlSeconds), guard.knownIds]);
        return reply === 0 ? "guarded" : "written";
      }
      if (w.ttlSeconds > 0) await this.client.set(w.key, w.value, "EX", w.ttlSeconds);
      else await this.client.set(w.key, w.value);
      return "written";
    } catch (cause) {
      return new StoreError("SET", w.key, { cause });
    }
  }

  private queueSet(p: ChainableCommander, w: StoreWrite, guard: WriteGuard | undefined, withSource: boolean): void {
    if (guard !== undefined) {
      const args = [w.value, String(w.ttlSeconds), guard.knownIds];
      if (withSource) p.eval(guardedSet.source, 1, w.key, ...args);
      else p.evalsha(guardedSet.sha1, 1, w.key, ...args);
    } else if (w.ttlSeconds > 0) {
      p.set(w.key, w.value, "EX", w.ttlSeconds);
    } else {
      p.set(w.key, w.value);
    }
  }

  /**
   * Runs one command per key, batched into one pipeline per server, and maps
   * each reply (or error) back to its key's position.
   */
  private async perNode<R>(
    keys: readonly string[],
    operation: string,
    queue: (p: ChainableCommander, index: number) => void,
    map: (reply: unknown) => R,
  ): Promise<(R | Error)[]> {
    const out: (R | Error)[] = new Array<R | Error>(keys.length);
    await Promise.all(
      this.groupByNode(keys).map(async (indices) => {
        let results: PipelineResult | null;
        try {
          const p = this.client.pipeline();
          for (const i of indices) queue(p, i);
          results = (await p.exec()) as PipelineResult | null;
        } catch (cause) {
          results = null;
          for (const i of indices) out[i] = new StoreError(operation, keys[i], { cause });
          return;
        }
        indices.forEach((i, j) => {
          const [error, reply] = results?.[j] ?? [new Error("pipeline returned no reply"), null];
          out[i] = error !== null ? keepNoScript(error, operation, keys[i]) : map(reply);
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

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** NOSCRIPT errors stay raw so the caller can retry with the source; others become StoreErrors. */
function keepNoScript(error: Error, operation: string, key: string | undefined): Error {
  return isNoScript(error) ? error : new StoreError(operation, key, { cause: error });
}
