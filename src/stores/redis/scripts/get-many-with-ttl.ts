import { UnexpectedReplyError } from "../../../errors.js";
import type { TimedValue } from "../../store.js";
import { defineScript } from "../script.js";
import type { Reply } from "../transport.js";

/**
 * MGET with every key's PTTL, in one command: KEYS the keys (of one
 * standalone server; at most 1000, far inside Lua's 8000 arguments to
 * `unpack`). Reply `{values, ttls}`. What an L1 reads a batch with, so that
 * it holds no value past its key's expiry: a pipeline of MGET and a PTTL
 * per key costs the client a command per key (measured about 4 times
 * slower than this script on a getMany of 100; docs/l1.md).
 */
export const getManyWithTtl = defineScript({
  name: "MGET with TTLs",
  source: `
local values = redis.call('MGET', unpack(KEYS))
local ttls = {}
for i = 1, #KEYS do
  ttls[i] = redis.call('PTTL', KEYS[i])
end
return {values, ttls}
`,
  arguments: (keys: readonly string[]) => ({ keys, args: [] }),
  parse: (reply): (TimedValue | null)[] => {
    if (!Array.isArray(reply) || !Array.isArray(reply[0]) || !Array.isArray(reply[1]) || reply[0].length !== reply[1].length) {
      throw new UnexpectedReplyError("MGET with TTLs did not reply {values, ttls}");
    }
    const [values, ttls] = reply as [Reply[], Reply[]];
    return values.map((v, i) => timedValue(v, ttls[i]));
  },
});

/**
 * A GET's reply with its key's PTTL: null for no value; a PTTL of -1 (no
 * expiry) is undefined; -2 (gone since the GET) or anything but a
 * positive number is 0, so that nothing holds the value; an Error in
 * place of the PTTL is 0 too, and kept as `ttlError`.
 */
export function timedValue(value: Reply, ttl: Reply | Error): TimedValue | null {
  if (value === null || value === undefined) return null;
  if (!Buffer.isBuffer(value)) throw new UnexpectedReplyError(`GET replied ${typeof value}, not a bulk string`);
  if (ttl instanceof Error) return { value, ttlMs: 0, ttlError: ttl };
  return { value, ttlMs: ttl === -1 ? undefined : typeof ttl === "number" && ttl > 0 ? ttl : 0 };
}
