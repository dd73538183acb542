// Heap bytes per L1 entry, run in its own process by bench/main.ts with
// --expose-gc (global.gc before each heapUsed reading): `<redis url> [entries]`.
const { l1HeapCases } = await import("../cases/l1-heap.js");
const { fixtures } = await import("../fixtures.js");
const url = process.argv[2];
if (url === undefined) throw new Error("usage: node --expose-gc --import tsx bench/suites/l1-heap.ts <redis url> [entries]");
const entries = Number(process.argv[3] ?? 20_000);
const rows = await l1HeapCases(url, fixtures() as never, entries);
process.stdout.write(JSON.stringify(rows));
