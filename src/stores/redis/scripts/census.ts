import { UnexpectedReplyError } from "../../../errors.js";
import type { HeadClass, HeadTally, TallyPage } from "../../bulk.js";
import { text } from "../replies.js";
import { defineScript } from "../script.js";
import { classifyLua, tallyLua } from "./head-lua.js";

const groupKinds: Record<string, HeadClass> = { E: "envelope", N: "newer", C: "corrupt", L: "legacy", O: "other-type", G: "gone" };

/** Parses a census script's flat tally (group, count, bytes, …). */
export function parseTally(reply: unknown): HeadTally[] {
  if (!Array.isArray(reply) || reply.length % 3 !== 0) throw new UnexpectedReplyError("unexpected census script reply");
  const out: HeadTally[] = [];
  for (let i = 0; i < reply.length; i += 3) {
    const group = Buffer.isBuffer(reply[i]) ? (reply[i] as Buffer) : Buffer.from(String(reply[i]), "latin1");
    const kind = groupKinds[String.fromCharCode(group[0] ?? 0)];
    if (kind === undefined) throw new UnexpectedReplyError("unexpected census group");
    out.push({ kind, schemaId: group.length === 5 ? group.readUInt32BE(1) : undefined, count: Number(reply[i + 1]), bytes: Number(reply[i + 2]) });
  }
  return out;
}

/**
 * Census of one SCAN batch on the server that holds it. ARGV: the keys
 * (local to this server; no KEYS, so a Cluster node runs it for any of its
 * slots). Reply: a flat array of group, count, bytes: a few entries per
 * batch whatever its size.
 */
export const tallyKeys = defineScript({
  name: "census",
  source: `${classifyLua}${tallyLua}
local t = tally()
for i = 1, #ARGV do
  t.add(classify(ARGV[i]))
end
return t.flatten({})`,
  arguments: (keys: readonly string[]) => ({ keys: [], args: keys }),
  parse: parseTally,
});

/**
 * Census of one SCAN step, SCAN included: the server walks its own keys
 * and returns only the next cursor, how many keys of the namespace it saw
 * and their tally, so not even key names cross the network. ARGV: cursor,
 * MATCH pattern, COUNT, namespace (every counted key starts with it).
 * Reply: cursor, keys counted, then group, count, bytes, ….
 */
export const tallyScan = defineScript({
  name: "census step",
  source: `${classifyLua}${tallyLua}
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local ns = ARGV[4]
local t = tally()
local seen = 0
for _, k in ipairs(r[2]) do
  if string.sub(k, 1, #ns) == ns then
    seen = seen + 1
    t.add(classify(k))
  end
end
return t.flatten({r[1], seen})`,
  arguments: (cursor: string, match: string, count: number, namespace: string) => ({ keys: [], args: [cursor, match, String(count), namespace] }),
  parse: (reply: unknown): TallyPage => {
    if (!Array.isArray(reply) || reply.length < 2) throw new UnexpectedReplyError("unexpected census step reply");
    return { cursor: text(reply[0]), keys: Number(reply[1]), tally: parseTally(reply.slice(2)) };
  },
});
