import { afterEach, describe, expect, it, vi } from "vitest";
import { epochAt, epochNow, monotonicNow } from "../../src/clock.js";
import { L1 } from "../../src/l1/l1.js";
import type { InvalidationSource } from "../../src/l1/invalidation-source.js";
import { waitFor } from "../support/wait.js";

const alwaysLive: InvalidationSource = {
  description: "test",
  watch: () => ({ live: true, ready: async () => true, close: () => undefined }),
};

afterEach(() => vi.restoreAllMocks());

describe("the hot paths' clocks", () => {
  it("monotonicNow never goes back when the wall clock steps back an hour, then advances with it; epochAt gives the wall clock at a reading", () => {
    const real = Date.now.bind(Date);
    let step = 0;
    vi.spyOn(Date, "now").mockImplementation(() => real() - step);
    const before = monotonicNow();
    expect(Math.abs(epochAt(before) - real())).toBeLessThan(50);
    step = 3_600_000;
    const after = monotonicNow();
    expect(after).toBeGreaterThanOrEqual(before);
    expect(after - before).toBeLessThan(1000);
    expect(Math.abs(epochAt(after) - (real() - step))).toBeLessThan(50);
    let last = after;
    for (let i = 0; i < 10_000; i++) {
      const now = monotonicNow();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
    expect(Math.abs(epochNow() - Date.now())).toBeLessThan(50);
  });

  it("an L1 entry held for 50 ms is not served past them when the wall clock steps back an hour (the L1 keeps monotonic time)", async () => {
    const real = Date.now.bind(Date);
    let step = 0;
    vi.spyOn(Date, "now").mockImplementation(() => real() - step);
    const l1 = new L1<{ value: unknown }>("p:", { maxEntries: 10, maxBytes: 1 << 20, ttlMs: 50, values: "frozen", tracking: alwaysLive }, () => undefined);
    l1.end(l1.begin("1"), { value: 1 }, "1", Infinity);
    expect(l1.get("1")?.value).toBe(1);
    step = 3_600_000;
    const start = monotonicNow();
    await waitFor("60 ms on the monotonic clock", () => monotonicNow() - start >= 60, { timeoutMs: 5_000 });
    expect(l1.get("1")).toBeUndefined();
  });
});
