import { UnexpectedReplyError } from "../../errors.js";
import type { CreateItem, StoredValue } from "../bulk.js";
import { text } from "./replies.js";
import type { Arg, Command } from "./transport.js";

/**
 * Argument building and reply parsing of the bulk primitives' plain
 * commands, apart from any client (tested without a server); the scripts
 * build and parse their own (scripts/). Bulk-string replies arrive as
 * Buffers, integers as numbers, errors as Error instances.
 */

/** One command: its name and arguments (mutable: the reader swaps PEXPIRETIME for PTTL on Redis 6.2). */
export type CommandArgs = Arg[];

export type { Arg, Command };

/** `SCAN cursor MATCH pattern COUNT n`. */
export function scanArgs(cursor: string, match: string, count: number): CommandArgs {
  return ["SCAN", cursor, "MATCH", match, "COUNT", String(count)];
}

/** Parses a SCAN reply; keys that are not valid UTF-8 are counted apart (a string cannot name them exactly). */
export function parseScan(reply: unknown): { cursor: string; keys: string[]; unreadable: number } {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw new UnexpectedReplyError(`unexpected SCAN reply: ${String(reply)}`);
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
    if (!Buffer.isBuffer(value)) return new UnexpectedReplyError(`unexpected GET reply: ${typeof value}`);
    if (!withExpiry) return { value, expireAt: undefined };
    const at = replies[i * step + 1];
    if (at instanceof Error) return at;
    // -2: the key expired between GET and PEXPIRETIME; -1: no expiry.
    if (at === -2) return null;
    return { value, expireAt: typeof at === "number" && at >= 0 ? at : undefined };
  });
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
  if (match === null) throw new UnexpectedReplyError("INFO server has no run_id");
  return match[1] as string;
}

