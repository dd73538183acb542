import { createHash } from "node:crypto";

/** A Lua script run with EVALSHA, falling back to EVAL when the server has not cached it. */
export interface LuaScript {
  readonly source: string;
  readonly sha1: string;
}

/** A script with its SHA1, for EVALSHA. */
export function script(source: string): LuaScript {
  return { source, sha1: createHash("sha1").update(source).digest("hex") };
}

/**
 * Guarded SET (never-downgrade). KEYS[1] key; ARGV[1] value; ARGV[2] TTL
 * seconds ("0": none); ARGV[3] known schema IDs, 4 bytes each; ARGV[4] "1"
 * to delete a refused entry (optional). Refuses when the key holds an
 * envelope of a newer version or of an ID not in ARGV[3] (the reserved ID 0
 * aside): 0, or 2 after deleting it; otherwise sets (1). Mirrors
 * `guardAllows` in src/envelope/guard.ts.
 */
export const guardedSet = script(`
local cur = redis.call('GETRANGE', KEYS[1], 0, 6)
if #cur == 7 and string.byte(cur, 1) == 193 then
  local version = string.byte(cur, 2)
  local refuse = version > 1
  if version == 1 then
    local id = string.sub(cur, 4, 7)
    local known = ARGV[3]
    local at = string.find(known, id, 1, true)
    while at and (at - 1) % 4 ~= 0 do
      at = string.find(known, id, at + 1, true)
    end
    refuse = not at and id ~= '\0\0\0\0'
  end
  if refuse then
    if ARGV[4] == '1' then
      redis.call('DEL', KEYS[1])
      return 2
    end
    return 0
  end
end
if ARGV[2] == '0' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 1
`);

/**
 * Compare-and-set keeping the TTL. KEYS[1] key; ARGV[1] expected bytes;
 * ARGV[2] new bytes. A key deleted or changed meanwhile is left alone (0).
 */
export const replaceIfEqual = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
`);

/** Delete-if-equal. KEYS[1] key; ARGV[1] expected bytes. */
export const deleteIfEqual = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`);
