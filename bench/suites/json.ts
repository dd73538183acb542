// JSON suite, run in its own process by bench/main.ts (like the codec suite)
// so that what else is loaded is controlled: the bench's Redis clients change
// V8's string fast paths, which JSON.stringify and JSON.parse lean on.
import { jsonCases } from "../cases/json.js";
import { fixtures } from "../fixtures.js";

const quick = process.argv.includes("--quick");
const [user, session] = fixtures();
const rows = jsonCases(user, session, { rounds: quick ? 3 : 9, timeMs: quick ? 100 : 250, batch: 50 });
process.stdout.write(JSON.stringify(rows));
