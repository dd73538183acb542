// JSON suite, run in its own process by bench/main.ts (like the codec suite)
// so that what else is loaded is controlled: the bench's Redis clients change
// V8's string fast paths, which JSON.stringify and JSON.parse lean on.
// Arguments: <rounds> <ms per contender per round>.
import { jsonCases } from "../cases/json.js";
import { fixtures } from "../fixtures.js";

const [rounds, timeMs] = process.argv.slice(2, 4).map(Number);
if (!Number.isFinite(rounds) || !Number.isFinite(timeMs)) throw new Error("usage: bench/suites/json.ts <rounds> <timeMs>");
const [user, session] = fixtures();
const rows = jsonCases(user, session, { rounds: rounds as number, timeMs: timeMs as number, batch: 50 });
process.stdout.write(JSON.stringify(rows));
