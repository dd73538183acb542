import { UnexpectedReplyError } from "../../../errors.js";
import type { ReplaceItem, ReplaceResult } from "../../bulk.js";
import { defineScript } from "../script.js";

/**
 * Compare-and-set keeping the TTL, telling why it did nothing: migrate's
 * rewrite. KEYS[1] key; ARGV[1] expected bytes; ARGV[2] new bytes. Reply:
 * 1 replaced, 0 the key is gone (never re-created), -1 it holds other bytes.
 */
export const replaceKeepTtl = defineScript({
  name: "replace keeping TTL",
  source: `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`,
  arguments: (item: ReplaceItem) => ({ keys: [item.key], args: [item.expected, item.value] }),
  parse: (reply): ReplaceResult | Error => {
    if (reply instanceof Error) return reply;
    return reply === 1 ? "replaced" : reply === 0 ? "absent" : reply === -1 ? "changed" : new UnexpectedReplyError(`unexpected compare-and-set reply: ${String(reply)}`);
  },
});
