import type { SetOutcome, StoreWrite, WriteGuard } from "../../store.js";
import { defineScript } from "../script.js";

/**
 * Guarded SET (never-downgrade). KEYS[1] key; ARGV[1] value; ARGV[2] TTL
 * seconds ("0": none); ARGV[3] known schema IDs, 4 bytes each; ARGV[4] "1"
 * to delete a refused entry (optional). Refuses when the key holds an
 * envelope of a newer version or of an ID not in ARGV[3] (the reserved ID 0
 * aside): 0, or 2 after deleting it; otherwise sets (1). Mirrors
 * `guardAllows` in src/envelope/guard.ts.
 */
export const guardedSet = defineScript({
  name: "guarded SET",
  source: `
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
`,
  arguments: (w: StoreWrite, guard: WriteGuard) => ({
    keys: [w.key],
    args: guard.invalidate === true ? [w.value, String(w.ttlSeconds), guard.knownIds, "1"] : [w.value, String(w.ttlSeconds), guard.knownIds],
  }),
  parse: (reply): SetOutcome => (reply === 0 ? "guarded" : reply === 2 ? "invalidated" : "written"),
});
