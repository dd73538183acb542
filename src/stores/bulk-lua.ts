import { script } from "./lua.js";

/**
 * Lua twin of `classifyHead` (src/stores/head-class.ts): returns the group
 * of a key and its size. Groups: 'E'..id (version-1 envelope, valid flags),
 * 'N'..id (newer envelope version), 'C' (impossible header), 'L' (not an
 * envelope), 'O' (not a string), 'G' (gone). Two commands per key.
 */
const classify = `
local function classify(k)
  local n = redis.pcall('STRLEN', k)
  if type(n) ~= 'number' then return 'O', 0 end
  if n == 0 then
    if redis.call('EXISTS', k) == 1 then return 'L', 0 end
    return 'G', 0
  end
  local h = redis.call('GETRANGE', k, 0, 6)
  if string.byte(h, 1) ~= 193 then return 'L', n end
  if n < 7 then return 'C', n end
  local v = string.byte(h, 2)
  if v == 0 then return 'C', n end
  if v > 1 then return 'N' .. string.sub(h, 4, 7), n end
  local f = string.byte(h, 3)
  if f >= 16 or f % 4 == 3 then return 'C', n end
  return 'E' .. string.sub(h, 4, 7), n
end
`;

/**
 * A tally of groups in first-seen order, for both census scripts: `add(group,
 * bytes)` counts one key, `flatten(out)` appends group, count, bytes, … to `out`.
 */
const tally = `
local function tally()
  local counts, sizes, order = {}, {}, {}
  local t = {}
  function t.add(g, n)
    if counts[g] == nil then
      counts[g] = 0
      sizes[g] = 0
      order[#order + 1] = g
    end
    counts[g] = counts[g] + 1
    sizes[g] = sizes[g] + n
  end
  function t.flatten(out)
    for _, g in ipairs(order) do
      out[#out + 1] = g
      out[#out + 1] = counts[g]
      out[#out + 1] = sizes[g]
    end
    return out
  end
  return t
end
`;

/**
 * Census of one SCAN batch on the server that holds it. ARGV: the keys
 * (local to this server; no KEYS, so a Cluster node runs it for any of its
 * slots). Reply: a flat array of group, count, bytes: a few entries per
 * batch whatever its size.
 */
export const tallyScript = script(`${classify}${tally}
local t = tally()
for i = 1, #ARGV do
  t.add(classify(ARGV[i]))
end
return t.flatten({})`);

/**
 * Census of one SCAN step, SCAN included: the server walks its own keys
 * and returns only the next cursor, how many keys of the namespace it saw
 * and their tally, so not even key names cross the network. ARGV: cursor,
 * MATCH pattern, COUNT, namespace (every counted key starts with it).
 * Reply: cursor, keys counted, then group, count, bytes, ….
 */
export const tallyScanScript = script(`${classify}${tally}
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
return t.flatten({r[1], seen})`);

/**
 * Cleanup of one SCAN batch: each key is classified and, when the rule
 * selects it, UNLINKed in the same atomic step, so a concurrent rewrite in
 * another revision is never deleted. ARGV[1]: rule letters ('A' every
 * string, 'L' legacy, 'C' impossible headers); ARGV[2]: schema IDs, 4
 * bytes each; ARGV[3..]: keys. Reply: deleted count, bytes freed.
 */
export const deleteWhereScript = script(`${classify}
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
`);

/**
 * Compare-and-set keeping the TTL, telling why it did nothing. KEYS[1]
 * key; ARGV[1] expected bytes; ARGV[2] new bytes. Reply: 1 replaced, 0 the
 * key is gone (never re-created), -1 it holds other bytes.
 */
export const replaceKeepTtlScript = script(`
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
`);
