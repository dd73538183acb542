import { goalText, type BenchRow } from "./harness.js";

/** Prints the results as an aligned table. */
export function printTable(rows: readonly BenchRow[]): void {
  const header = ["case", "entity", "ratio", "target", "pass", "measured"];
  const body = rows.map((r) => [r.case, r.entity, `${r.ratio.toFixed(2)}×`, goalText(r.goal), r.pass ? "yes" : "NO", r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const b of body) console.log(line(b));
}
