import type { BulkStore, CreateItem, DeleteRule, DeleteTally, HeadTally, NodeInfo, ReplaceItem, ReplaceResult, ScanNode, ScanPage, StoredValue, TallyPage } from "../bulk.js";
import { createArgs, parseCreate, parseRead, parseRunId, parseScan, readArgs, scanArgs, type CommandArgs } from "./bulk-commands.js";
import { groupByServer } from "./chunks.js";
import { scriptCall as call, type RedisScript, type ScriptCall, type ScriptRunner } from "./script.js";
import { tallyKeys, tallyScan } from "./scripts/census.js";
import { deleteWhere } from "./scripts/delete-where.js";
import { replaceKeepTtl } from "./scripts/replace-keep-ttl.js";
import type { Command, RedisTransport, ServerLink } from "./transport.js";

/**
 * {@link BulkStore} over any client's transport: one pipeline per call
 * and server (the transport's server links); scripts by EVALSHA, loaded
 * on the server that lacked them (after a restart) and sent again.
 */
export class RedisBulk implements BulkStore {
  /** PEXPIRETIME is Redis 7+; on 6.2 PTTL (relative) is read instead. */
  private expiryCommand: "PEXPIRETIME" | "PTTL" = "PEXPIRETIME";

  constructor(
    private readonly transport: RedisTransport,
    private readonly scripts: ScriptRunner,
  ) {}

  nodes(): Promise<ScanNode[]> {
    return this.transport.servers();
  }

  async describe(node: ScanNode): Promise<NodeInfo> {
    const [info, size] = await this.run(node, [["INFO", "server"], ["DBSIZE"]]);
    if (info instanceof Error) throw info;
    if (size instanceof Error) throw size;
    return { runId: parseRunId(info), keys: Number(size) };
  }

  async scan(node: ScanNode, cursor: string, match: string, count: number): Promise<ScanPage> {
    const [reply] = await this.run(node, [scanArgs(cursor, match, count)]);
    if (reply instanceof Error) throw reply;
    return parseScan(reply);
  }

  async read(node: ScanNode, keys: readonly string[], withExpiry: boolean): Promise<(StoredValue | null | Error)[]> {
    if (keys.length === 0) return [];
    const commands = readArgs(keys, withExpiry);
    const usePttl = this.expiryCommand === "PTTL";
    if (usePttl) for (const c of commands) if (c[0] === "PEXPIRETIME") c[0] = "PTTL";
    const sentAt = Date.now();
    const replies = await this.run(node, commands);
    if (withExpiry && !usePttl && replies.some((r) => r instanceof Error && /unknown command/i.test(r.message))) {
      this.expiryCommand = "PTTL";
      return this.read(node, keys, withExpiry);
    }
    if (usePttl) {
      // PTTL is relative: turn it into an absolute expiry (to within the round trip).
      for (let i = 1; i < replies.length; i += 2) {
        const ttl = replies[i];
        if (typeof ttl === "number" && ttl >= 0) replies[i] = sentAt + ttl;
      }
    }
    return parseRead(replies, keys, withExpiry);
  }

  async lookup(keys: readonly string[], withExpiry: boolean): Promise<(StoredValue | null | Error)[]> {
    if (keys.length === 0) return [];
    const commands = readArgs(keys, withExpiry);
    const replies = await this.routed(commands.map((c) => String(c[1])), commands);
    return parseRead(replies, keys, withExpiry);
  }

  async tally(node: ScanNode, keys: readonly string[]): Promise<HeadTally[]> {
    if (keys.length === 0) return [];
    return this.one(node, tallyKeys, keys);
  }

  tallyScan(node: ScanNode, cursor: string, match: string, count: number, namespace: string): Promise<TallyPage> {
    return this.one(node, tallyScan, cursor, match, count, namespace);
  }

  async replace(node: ScanNode, items: readonly ReplaceItem[]): Promise<(ReplaceResult | Error)[]> {
    if (items.length === 0) return [];
    const replies = await this.runScripts(node, items.map((item) => call(replaceKeepTtl, item)));
    return replies.map((r) => replaceKeepTtl.parse(r));
  }

  async create(items: readonly CreateItem[]): Promise<("created" | "exists" | Error)[]> {
    if (items.length === 0) return [];
    const replies = await this.routed(items.map((i) => i.key), items.map(createArgs));
    return replies.map(parseCreate);
  }

  async deleteWhere(node: ScanNode, keys: readonly string[], rule: DeleteRule): Promise<DeleteTally> {
    if (keys.length === 0) return { deleted: 0, bytes: 0 };
    return this.one(node, deleteWhere, keys, rule);
  }

  private run(node: ScanNode, commands: readonly Command[]): Promise<unknown[]> {
    return (node as ServerLink).pipeline(commands);
  }

  /** Commands routed by `keys[i]`: one batch per server, in parallel; replies in order. */
  private async routed(keys: readonly string[], commands: readonly CommandArgs[]): Promise<unknown[]> {
    const out = new Array<unknown>(commands.length);
    await Promise.all(
      groupByServer(this.transport, keys).map(async (positions) => {
        const replies = await this.transport.batch(positions.map((i) => keys[i] as string), positions.map((i) => commands[i] as CommandArgs));
        positions.forEach((i, j) => (out[i] = replies[j]));
      }),
    );
    return out;
  }

  /** One script call on one server, its reply parsed; an error reply throws. */
  private async one<A extends readonly unknown[], R>(node: ScanNode, script: RedisScript<A, R>, ...input: A): Promise<R> {
    const [reply] = await this.runScripts(node, [call(script, ...input)]);
    if (reply instanceof Error) throw reply;
    return script.parse(reply);
  }

  /** Script calls on one server in one pipeline; where the server lacked a script, loaded there and sent again. */
  private async runScripts(node: ScanNode, calls: readonly ScriptCall[]): Promise<unknown[]> {
    const link = node as ServerLink;
    const replies = await link.pipeline(calls.map((c) => this.scripts.command(c)));
    await this.scripts.recoverBatch(replies, calls, (_positions, commands) => link.pipeline(commands), link);
    return replies;
  }
}
