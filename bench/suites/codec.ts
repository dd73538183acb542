// Codec suite, run in its own process by bench/main.ts so that what else is
// loaded is controlled: `--with-ioredis` imports ioredis first (as every
// RedisStore user does), which changes V8's string fast paths.
if (process.argv.includes("--with-ioredis")) await import("ioredis");
const { codecCases } = await import("../cases/codec.js");
const { fixtures } = await import("../fixtures.js");
const quick = process.argv.includes("--quick");
const rows = await codecCases(fixtures() as never, { rounds: quick ? 3 : 9, timeMs: quick ? 100 : 250, batch: 50 });
process.stdout.write(JSON.stringify(rows));
