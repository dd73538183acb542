import { defineScript } from "../script.js";

/**
 * Compare-and-set keeping the TTL: the write-back of an upgraded entry.
 * KEYS[1] key; ARGV[1] expected bytes; ARGV[2] new bytes. A key deleted or
 * changed meanwhile is left alone. Reply 1 replaced, 0 left alone.
 */
export const compareAndSet = defineScript({
  name: "compare-and-set",
  source: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0
`,
  arguments: (key: string, expected: Buffer, value: Buffer) => ({ keys: [key], args: [expected, value] }),
  parse: (reply): boolean => reply === 1,
});
