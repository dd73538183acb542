import type { CreateItem, DeleteRule, DeleteTally, HeadClass, HeadTally, ReplaceItem, ReplaceResult, StoredValue } from "./bulk.js";
import { deleteWhereScript, replaceKeepTtlScript, tallyScanScript, tallyScript } from "./bulk-lua.js";
import type { LuaScript } from "./lua.js";

/**
 * Argument building and reply parsing of the bulk primitives, apart from
 * any client (tested without a server). Bulk-string replies arrive as
 * Buffers, integers as numbers, errors as Error instances.
 */
/** One argument of a command. */
export type Arg = string | Buffer;

/** One command: its name and arguments. */
export type CommandArgs = Arg[];

/** `SCAN cursor MATCH pattern COUNT n`. */
export function scanArgs(cursor: string, match: string, count: number): CommandArgs {
  return ["SCAN", cursor, "MATCH", match, "COUNT", String(count)];
}

/** Parses a SCAN reply; keys that are not valid UTF-8 are counted apart (a string cannot name them exactly). */
export function parseScan(reply: unknown): { cursor: string; keys: string[]; unreadable: number } {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw new Error(`unexpected SCAN reply: ${String(reply)}`);
  const keys: string[] = [];
  let unreadable = 0;
  for (const raw of reply[1] as unknown[]) {
    const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw));
    const key = bytes.toString("utf8");
    if (Buffer.byteLength(key) === bytes.length && Buffer.from(key).equals(bytes)) keys.push(key);
    else unreadable++;
  }
  return { cursor: text(reply[0]), keys, unreadable };
}

/** GET, plus PEXPIRETIME when asked, per key: the read pipeline of migrate. */
export function readArgs(keys: readonly string[], withExpiry: boolean): CommandArgs[] {
  const out: CommandArgs[] = [];
  for (const k of keys) {
    out.push(["GET", k]);
    if (withExpiry) out.push(["PEXPIRETIME", k]);
  }
  return out;
}

/** Pairs the replies of {@link readArgs} back to keys. */
export function parseRead(replies: readonly unknown[], keys: readonly string[], withExpiry: boolean): (StoredValue | null | Error)[] {
  const step = withExpiry ? 2 : 1;
  return keys.map((_, i) => {
    const value = replies[i * step];
    if (value instanceof Error) return value;
    if (value === null || value === undefined) return null;
    if (!Buffer.isBuffer(value)) return new Error(`unexpected GET reply: ${typeof value}`);
    if (!withExpiry) return { value, expireAt: undefined };
    const at = replies[i * step + 1];
    if (at instanceof Error) return at;
    // -2: the key expired between GET and PEXPIRETIME; -1: no expiry.
    if (at === -2) return null;
    return { value, expireAt: typeof at === "number" && at >= 0 ? at : undefined };
  });
}

/** `EVALSHA sha numkeys keys… args…`. */
export function evalshaArgs(s: LuaScript, keys: readonly Arg[], args: readonly Arg[]): CommandArgs {
  return ["EVALSHA", s.sha1, String(keys.length), ...keys, ...args];
}

/** The census script over one batch of keys (passed as ARGV: they are local to the server). */
export function tallyArgs(keys: readonly string[]): CommandArgs {
  return evalshaArgs(tallyScript, [], keys);
}

const groupKinds: Record<string, HeadClass> = { E: "envelope", N: "newer", C: "corrupt", L: "legacy", O: "other-type", G: "gone" };

/** Parses the census script's flat reply (group, count, bytes, …). */
export function parseTally(reply: unknown): HeadTally[] {
  if (!Array.isArray(reply) || reply.length % 3 !== 0) throw new Error("unexpected census script reply");
  const out: HeadTally[] = [];
  for (let i = 0; i < reply.length; i += 3) {
    const group = Buffer.isBuffer(reply[i]) ? (reply[i] as Buffer) : Buffer.from(String(reply[i]), "latin1");
    const kind = groupKinds[String.fromCharCode(group[0] ?? 0)];
    if (kind === undefined) throw new Error("unexpected census group");
    out.push({ kind, schemaId: group.length === 5 ? group.readUInt32BE(1) : undefined, count: Number(reply[i + 1]), bytes: Number(reply[i + 2]) });
  }
  return out;
}

/** The census step script: SCAN and tally in one call. */
export function tallyScanArgs(cursor: string, match: string, count: number, namespace: string): CommandArgs {
  return evalshaArgs(tallyScanScript, [], [cursor, match, String(count), namespace]);
}

/** Parses the server-side census step's reply: cursor, keys counted, then the tally. */
export function parseTallyScan(reply: unknown): { cursor: string; keys: number; tally: HeadTally[] } {
  if (!Array.isArray(reply) || reply.length < 2) throw new Error("unexpected census step reply");
  return { cursor: text(reply[0]), keys: Number(reply[1]), tally: parseTally(reply.slice(2)) };
}

/** The rule as the cleanup script's first two arguments. */
export function ruleArgs(rule: DeleteRule): [string, Buffer] {
  const letters = `${rule.all ? "A" : ""}${rule.legacy ? "L" : ""}${rule.corrupt ? "C" : ""}`;
  const ids = Buffer.alloc(rule.schemaIds.length * 4);
  rule.schemaIds.forEach((id, i) => ids.writeUInt32BE(id, i * 4));
  return [letters, ids];
}

/** The cleanup script over one batch of keys. */
export function deleteWhereArgs(keys: readonly string[], rule: DeleteRule): CommandArgs {
  return evalshaArgs(deleteWhereScript, [], [...ruleArgs(rule), ...keys]);
}

/** Parses the cleanup script's reply: deleted count, bytes freed. */
export function parseDeleteTally(reply: unknown): DeleteTally {
  if (!Array.isArray(reply) || reply.length !== 2) throw new Error("unexpected cleanup script reply");
  return { deleted: Number(reply[0]), bytes: Number(reply[1]) };
}

/** The TTL-keeping compare-and-set of one item (its key declared, so it can be routed). */
export function replaceArgs(item: ReplaceItem): CommandArgs {
  return evalshaArgs(replaceKeepTtlScript, [item.key], [item.expected, item.value]);
}

/** Maps the compare-and-set reply (1, 0, -1) to its meaning. */
export function parseReplace(reply: unknown): ReplaceResult | Error {
  if (reply instanceof Error) return reply;
  return reply === 1 ? "replaced" : reply === 0 ? "absent" : reply === -1 ? "changed" : new Error(`unexpected compare-and-set reply: ${String(reply)}`);
}

/** SET NX with the absolute expiry (PXAT) when there is one. */
export function createArgs(item: CreateItem): CommandArgs {
  return item.expireAt === undefined ? ["SET", item.key, item.value, "NX"] : ["SET", item.key, item.value, "PXAT", String(item.expireAt), "NX"];
}

/** `OK` → created; nil (NX refused) → exists. */
export function parseCreate(reply: unknown): "created" | "exists" | Error {
  if (reply instanceof Error) return reply;
  return reply === null || reply === undefined ? "exists" : "created";
}

/** Reads `run_id` from an INFO server reply. */
export function parseRunId(info: unknown): string {
  const match = /run_id:([0-9a-f]+)/.exec(text(info));
  if (match === null) throw new Error("INFO server has no run_id");
  return match[1] as string;
}

/** True for a NOSCRIPT error reply. */
export function isNoScriptReply(reply: unknown): boolean {
  return reply instanceof Error && reply.message.startsWith("NOSCRIPT");
}

/** A reply as text (bulk strings arrive as Buffers). */
export function text(reply: unknown): string {
  return Buffer.isBuffer(reply) ? reply.toString("utf8") : String(reply);
}

const replyErrorNames = new Set(["ReplyError", "ErrorReply", "SimpleError", "BlobError"]);

/**
 * True for an error reply of the server (ioredis `ReplyError`, node-redis
 * `ErrorReply`): a per-command answer. Anything else (a closed connection,
 * a client timeout) means the server was not reached.
 */
export function isReplyError(error: unknown): boolean {
  return error instanceof Error && (replyErrorNames.has(error.name) || replyErrorNames.has(error.constructor.name));
}

/** Error replies worth retrying after a pause: the server is loading, busy, failing over or resharding. */
export function isTransientReply(error: unknown): boolean {
  return error instanceof Error && /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MOVED|ASK|MASTERDOWN|READONLY)\b/.test(error.message);
}
