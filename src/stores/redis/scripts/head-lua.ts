/**
 * Lua twin of `classifyHead` (src/stores/head-class.ts): returns the group
 * of a key and its size. Groups: 'E'..id (version-1 envelope, valid flags),
 * 'N'..id (newer envelope version), 'C' (impossible header), 'L' (not an
 * envelope), 'O' (not a string), 'G' (gone). Two commands per key. Shared
 * by the census and cleanup scripts.
 */
export const classifyLua = `
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
  if f >= 64 or f % 4 == 3 or (math.floor(f / 16) % 2 == 1 and f % 4 ~= 0) or (f >= 32 and math.floor(f / 4) % 2 == 0) then return 'C', n end
  return 'E' .. string.sub(h, 4, 7), n
end
`;

/**
 * A tally of groups in first-seen order, for both census scripts: `add(group,
 * bytes)` counts one key, `flatten(out)` appends group, count, bytes, … to `out`.
 */
export const tallyLua = `
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
