import { UnexpectedReplyError } from "../../../errors.js";
import type { DeleteRule, DeleteTally } from "../../bulk.js";
import { defineScript } from "../script.js";
import { classifyLua } from "./head-lua.js";

/** The rule as the cleanup script's first two arguments: letters, and schema IDs 4 bytes each. */
export function ruleArgs(rule: DeleteRule): [string, Buffer] {
  const letters = `${rule.all ? "A" : ""}${rule.legacy ? "L" : ""}${rule.corrupt ? "C" : ""}`;
  const ids = Buffer.alloc(rule.schemaIds.length * 4);
  rule.schemaIds.forEach((id, i) => ids.writeUInt32BE(id, i * 4));
  return [letters, ids];
}

/**
 * Cleanup of one SCAN batch: each key is classified and, when the rule
 * selects it, UNLINKed in the same atomic step, so a concurrent rewrite in
 * another revision is never deleted. ARGV[1]: rule letters ('A' every
 * string, 'L' legacy, 'C' impossible headers); ARGV[2]: schema IDs, 4
 * bytes each; ARGV[3..]: keys. Reply: deleted count, bytes freed.
 */
export const deleteWhere = defineScript({
  name: "cleanup",
  source: `${classifyLua}
local all = string.find(ARGV[1], 'A', 1, true) ~= nil
local legacy = string.find(ARGV[1], 'L', 1, true) ~= nil
local corrupt = string.find(ARGV[1], 'C', 1, true) ~= nil
local ids = ARGV[2]
local deleted, bytes = 0, 0
for i = 3, #ARGV do
  local k = ARGV[i]
  local g, n = classify(k)
  local hit = false
  if g ~= 'G' and g ~= 'O' then
    if all then hit = true
    elseif g == 'L' then hit = legacy
    elseif g == 'C' then hit = corrupt
    elseif string.sub(g, 1, 1) == 'E' then
      local id = string.sub(g, 2)
      local at = string.find(ids, id, 1, true)
      while at and (at - 1) % 4 ~= 0 do at = string.find(ids, id, at + 1, true) end
      hit = at ~= nil
    end
  end
  if hit then
    redis.call('UNLINK', k)
    deleted = deleted + 1
    bytes = bytes + n
  end
end
return {deleted, bytes}
`,
  arguments: (keys: readonly string[], rule: DeleteRule) => ({ keys: [], args: [...ruleArgs(rule), ...keys] }),
  parse: (reply: unknown): DeleteTally => {
    if (!Array.isArray(reply) || reply.length !== 2) throw new UnexpectedReplyError("unexpected cleanup script reply");
    return { deleted: Number(reply[0]), bytes: Number(reply[1]) };
  },
});
