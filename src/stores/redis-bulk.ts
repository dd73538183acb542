import type { BulkStore, CreateItem, DeleteRule, DeleteTally, HeadTally, NodeInfo, ReplaceItem, ReplaceResult, ScanNode, ScanPage, StoredValue, TallyPage } from "./bulk.js";
import {
  createArgs,
  deleteWhereArgs,
  isNoScriptReply,
  parseCreate,
  parseDeleteTally,
  parseRead,
  parseReplace,
  parseRunId,
  parseScan,
  parseTally,
  readArgs,
  replaceArgs,
  scanArgs,
  tallyArgs,
  tallyScanArgs,
  parseTallyScan,
  text,
  type CommandArgs,
} from "./bulk-commands.js";
import { deleteWhereScript, replaceKeepTtlScript, tallyScanScript, tallyScript } from "./bulk-lua.js";

/** One server's pipeline, as a client library offers it. */
export interface NodeChannel extends ScanNode {
  /** Sends the commands in one go; each reply (bulk strings as Buffers) or the Error in its place. */
  pipeline(commands: readonly CommandArgs[]): Promise<unknown[]>;
}

/** How a client library reaches servers for bulk work. */
export interface BulkTransport {
  /** The standalone server or every Cluster master, asked afresh. */
  channels(): Promise<NodeChannel[]>;
  /** Commands routed by `keys[i]` (on a Cluster, to its master); replies in order. */
  routed(keys: readonly string[], commands: readonly CommandArgs[]): Promise<unknown[]>;
}

const scripts = [tallyScript, tallyScanScript, deleteWhereScript, replaceKeepTtlScript];

/**
 * {@link BulkStore} over any client library's pipelines: one pipeline per
 * call and server; scripts by EVALSHA, loaded with SCRIPT LOAD on the
 * server that lacked them (after a restart) and sent again.
 */
export class RedisBulk implements BulkStore {
  /** PEXPIRETIME is Redis 7+; on 6.2 PTTL (relative) is read instead. */
  private expiryCommand: "PEXPIRETIME" | "PTTL" = "PEXPIRETIME";

  constructor(private readonly transport: BulkTransport) {}

  nodes(): Promise<ScanNode[]> {
    return this.transport.channels();
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
    const replies = await this.transport.routed(commands.map((c) => String(c[1])), commands);
    return parseRead(replies, keys, withExpiry);
  }

  async tally(node: ScanNode, keys: readonly string[]): Promise<HeadTally[]> {
    if (keys.length === 0) return [];
    const [reply] = await this.runScripts(node, [tallyArgs(keys)]);
    if (reply instanceof Error) throw reply;
    return parseTally(reply);
  }

  async tallyScan(node: ScanNode, cursor: string, match: string, count: number, namespace: string): Promise<TallyPage> {
    const [reply] = await this.runScripts(node, [tallyScanArgs(cursor, match, count, namespace)]);
    if (reply instanceof Error) throw reply;
    return parseTallyScan(reply);
  }

  async replace(node: ScanNode, items: readonly ReplaceItem[]): Promise<(ReplaceResult | Error)[]> {
    if (items.length === 0) return [];
    const replies = await this.runScripts(node, items.map(replaceArgs));
    return replies.map(parseReplace);
  }

  async create(items: readonly CreateItem[]): Promise<("created" | "exists" | Error)[]> {
    if (items.length === 0) return [];
    const replies = await this.transport.routed(items.map((i) => i.key), items.map(createArgs));
    return replies.map(parseCreate);
  }

  async deleteWhere(node: ScanNode, keys: readonly string[], rule: DeleteRule): Promise<DeleteTally> {
    if (keys.length === 0) return { deleted: 0, bytes: 0 };
    const [reply] = await this.runScripts(node, [deleteWhereArgs(keys, rule)]);
    if (reply instanceof Error) throw reply;
    return parseDeleteTally(reply);
  }

  private run(node: ScanNode, commands: readonly CommandArgs[]): Promise<unknown[]> {
    return (node as NodeChannel).pipeline(commands);
  }

  /** Runs EVALSHA commands; where the server lacked a script, loads it there and sends those commands again. */
  private async runScripts(node: ScanNode, commands: readonly CommandArgs[]): Promise<unknown[]> {
    const replies = await this.run(node, commands);
    const missing = replies.flatMap((r, i) => (isNoScriptReply(r) ? [i] : []));
    if (missing.length === 0) return replies;
    const shas = new Set(missing.map((i) => text(commands[i]?.[1])));
    const loads = await this.run(node, scripts.filter((s) => shas.has(s.sha1)).map((s) => ["SCRIPT", "LOAD", s.source]));
    const failed = loads.find((r) => r instanceof Error);
    if (failed !== undefined) throw failed;
    const again = await this.run(node, missing.map((i) => commands[i] as CommandArgs));
    missing.forEach((i, j) => (replies[i] = again[j]));
    return replies;
  }
}
