import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { progressDisplay } from "../../cli/ops/progress.js";

/** A stream that says it is (or is not) a terminal, keeping what was written. */
function stream(tty: boolean): { s: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const s = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean; columns: number };
  s.isTTY = tty;
  s.columns = 160;
  (s as unknown as PassThrough).on("data", (c: Buffer) => chunks.push(c.toString()));
  return { s, text: () => chunks.join("") };
}

const at = (fraction: number, elapsedMs: number) => ({ scanned: Math.round(fraction * 1000), serverKeys: 1000, fraction, elapsedMs, keysPerSecond: 2000 });

describe("progress display", () => {
  it("on a terminal: a cli-progress bar with keys, rate and ETA", async () => {
    const { s, text } = stream(true);
    const display = progressDisplay("migrate user:v1", s);
    display.update(at(0.5, 250), "migrated 500");
    display.stop();
    await new Promise((r) => setImmediate(r));
    expect(text()).toMatch(/migrate user:v1 \[.*\] 50% \| 500 keys \| 2000 keys\/s \| ETA .* \| migrated 500/);
  });

  it("elsewhere: one plain line per 5 s and the last one, no escape codes", async () => {
    const { s, text } = stream(false);
    const display = progressDisplay("census user:v1", s);
    display.update(at(0.1, 100), "");
    display.update(at(0.5, 5_200), "");
    display.update(at(0.6, 6_000), "");
    display.update(at(1, 7_000), "");
    display.update(at(1, 7_001), "");
    display.stop();
    await new Promise((r) => setImmediate(r));
    const lines = text().trim().split("\n");
    expect(lines).toEqual(["census user:v1: 500 keys, ~50%, 2000 keys/s, ETA 5 s", "census user:v1: 1000 keys, ~100%, 2000 keys/s"]);
    expect(text()).not.toMatch(/\u001b/);
  });
});
