import { defineScript } from "../script.js";

/** Delete-if-equal: KEYS[1] key; ARGV[1] expected bytes. Reply 1 deleted, 0 left alone. */
export const compareAndDelete = defineScript({
  name: "compare-and-delete",
  source: `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
  arguments: (key: string, expected: Buffer) => ({ keys: [key], args: [expected] }),
  parse: (reply): boolean => reply === 1,
});
