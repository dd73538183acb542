import { afterEach, describe, expect, it, vi } from "vitest";
import { epochNow, monotonicNow } from "../../src/clock.js";
import { L1 } from "../../src/l1/l1.js";
import type { InvalidationSource } from "../../src/l1/invalidation-source.js";
import { waitFor } from "../support/wait.js";

const alwaysLive: InvalidationSource = {
  description: "test",
  watch: () => ({ live: true, ready: async () => true, close: () => undefined }),
};

afterEach(() => vi.restoreAllMocks());

describe("the hot paths' clocks", () => {
  it("epochNow reads Date.now's scale (within 50 ms of it) and monotonicNow never goes back", () => {
    expect(Math.abs(epochNow() - Date.now())).toBeLessThan(50);
    let last = monotonicNow();
    for (let i = 0; i < 10_000; i++) {
      const now = monotonicNow();
      expect(now).toBeGreaterThanOrEqual(last);
      last = now;
    }
  });

  it("epochNow follows a wall-clock step within a second, not before: it reads Date.now at most once a second", async () => {
    const real = Date.now.bind(Date);
    let step = 0;
    const calls = vi.spyOn(Date, "now").mockImplementation(() => real() - step);
    // Right after a re-sync (the first Date.now call the clock makes), nothing reads Date.now for a second.
    await waitFor("a re-sync with the wall clock", () => (epochNow(), calls.mock.calls.length > 0), { timeoutMs: 5_000 });
    const synced = monotonicNow();
    const before = epochNow();
    step = 3_600_000; // an NTP step back by an hour
    expect(Math.abs(epochNow() - before)).toBeLessThan(1000);
    for (let i = 0; i < 1000; i++) epochNow();
    if (monotonicNow() - synced < 900) expect(calls.mock.calls.length).toBe(1);
    await waitFor("a second on the monotonic clock", () => monotonicNow() - synced >= 1100, { timeoutMs: 5_000 });
    expect(epochNow() - before).toBeLessThan(-3_500_000);
  });

  it("an L1 entry held for 50 ms is not served past them when the wall clock steps back an hour (the L1 keeps monotonic time)", async () => {
    const real = Date.now.bind(Date);
    let step = 0;
    vi.spyOn(Date, "now").mockImplementation(() => real() - step);
    const l1 = new L1<{ value: unknown }>("p:", { maxEntries: 10, maxBytes: 1 << 20, ttlMs: 50, values: "frozen", tracking: alwaysLive }, () => undefined);
    l1.end(l1.begin("p:1"), { value: 1 }, "p:1", Infinity);
    expect(l1.get("p:1")?.value).toBe(1);
    step = 3_600_000;
    const start = monotonicNow();
    await waitFor("60 ms on the monotonic clock", () => monotonicNow() - start >= 60, { timeoutMs: 5_000 });
    expect(l1.get("p:1")).toBeUndefined();
  });
});
