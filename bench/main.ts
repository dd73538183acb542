import { codecCases } from "./cases/codec.js";
import { fixtures, type Fixture } from "./fixtures.js";
import type { BenchRow } from "./harness.js";
import { printTable } from "./report.js";

const quick = process.argv.includes("--quick");
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const list = fixtures() as unknown as Fixture<unknown>[];
const rows: BenchRow[] = [];
if (only === undefined || only === "codec") rows.push(...(await codecCases(list, { rounds: quick ? 3 : 7, timeMs: quick ? 100 : 200, batch: 50 })));
printTable(rows);
