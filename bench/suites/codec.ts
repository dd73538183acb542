// Codec suite, run in its own process by bench/main.ts so that what else is
// loaded is controlled: `--with-ioredis` imports ioredis first (as every
// RedisStore user does), which changes V8's string fast paths.
// Arguments: <rounds> <ms per contender per round> [--with-ioredis].
if (process.argv.includes("--with-ioredis")) await import("ioredis");
const { codecCases } = await import("../cases/codec.js");
const { fixtures } = await import("../fixtures.js");
const [rounds, timeMs] = process.argv.slice(2, 4).map(Number);
if (!Number.isFinite(rounds) || !Number.isFinite(timeMs)) throw new Error("usage: bench/suites/codec.ts <rounds> <timeMs> [--with-ioredis]");
const rows = await codecCases(fixtures() as never, { rounds: rounds as number, timeMs: timeMs as number, batch: 50 });
process.stdout.write(JSON.stringify(rows));
