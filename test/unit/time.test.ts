import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSession, decodeSession, encodeSession, type Session } from "../../generated/acme/session/v1/session.cache.js";
import type { Duration } from "../../generated/google/protobuf/duration.cache.js";
import type { Timestamp } from "../../generated/google/protobuf/timestamp.cache.js";
import {
  ConfigError,
  durationFromMillis,
  durationToMillis,
  TimePrecisionError,
  timestampFromDate,
  timestampFromMillis,
  timestampToDate,
  timestampToMillis,
  TimeValueError,
  type DurationValue,
  type TimeRounding,
  type TimestampValue,
} from "../../src/index.js";
import { decodeWith, encodeWith } from "../support/codec-harness.js";

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z in epoch milliseconds. */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;
/** 315 576 000 000 s + 999 ms: the largest Duration in whole milliseconds. */
const MAX_DURATION_MS = 315_576_000_000_999;
const MODES: readonly TimeRounding[] = ["floor", "ceil", "trunc", "expand", "halfFloor", "halfCeil", "halfTrunc", "halfExpand", "halfEven"];

/** What `fn` throws (fails the test when it returns). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}

/** The reference: exact rational milliseconds `num / 1e6` rounded by `mode` with bigints (`positive`: round as if positive). */
function referenceRound(totalNanos: bigint, mode: TimeRounding, asIfPositive: boolean): number {
  const per = 1_000_000n;
  let floor = totalNanos / per;
  if (totalNanos % per !== 0n && totalNanos < 0n) floor -= 1n;
  const below = totalNanos - floor * per;
  if (below === 0n) return Number(floor);
  const positive = asIfPositive || totalNanos > 0n;
  const towardZeroIsDown = positive;
  const up = (() => {
    switch (mode) {
      case "floor":
        return false;
      case "ceil":
        return true;
      case "trunc":
        return !towardZeroIsDown;
      case "expand":
        return towardZeroIsDown;
      default: {
        if (below * 2n !== per) return below * 2n > per;
        if (mode === "halfFloor") return false;
        if (mode === "halfCeil") return true;
        if (mode === "halfTrunc") return !towardZeroIsDown;
        if (mode === "halfExpand") return towardZeroIsDown;
        return floor % 2n !== 0n;
      }
    }
  })();
  return Number(up ? floor + 1n : floor);
}

describe("Timestamp from a Date or epoch milliseconds", () => {
  it("is exact, nanos counting forward in time before 1970 too", () => {
    expect(timestampFromDate(new Date(0))).toEqual({ seconds: 0n, nanos: 0 });
    expect(timestampFromDate(new Date("2023-11-14T22:13:20.250Z"))).toEqual({ seconds: 1_700_000_000n, nanos: 250_000_000 });
    expect(timestampFromDate(new Date("1969-12-31T23:59:59.500Z"))).toEqual({ seconds: -1n, nanos: 500_000_000 });
    expect(timestampFromMillis(-1)).toEqual({ seconds: -1n, nanos: 999_000_000 });
    expect(timestampFromMillis(-1000)).toEqual({ seconds: -1n, nanos: 0 });
    expect(timestampFromMillis(-1001)).toEqual({ seconds: -2n, nanos: 999_000_000 });
    expect(Object.is(timestampFromMillis(-0).nanos, 0)).toBe(true);
  });

  it("reaches exactly 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z", () => {
    expect(timestampFromDate(new Date("0001-01-01T00:00:00Z"))).toEqual({ seconds: -62_135_596_800n, nanos: 0 });
    expect(timestampFromMillis(MIN_MS)).toEqual({ seconds: -62_135_596_800n, nanos: 0 });
    expect(timestampFromDate(new Date("9999-12-31T23:59:59.999Z"))).toEqual({ seconds: 253_402_300_799n, nanos: 999_000_000 });
    expect(timestampFromMillis(MAX_MS)).toEqual({ seconds: 253_402_300_799n, nanos: 999_000_000 });
  });

  it("refuses an Invalid Date, a non-Date and times outside the Timestamp range with TimeValueError", () => {
    for (const bad of [new Date(Number.NaN), new Date(MIN_MS - 1), new Date(MAX_MS + 1), new Date(8.64e15), "2024-01-01", 0, null, {}]) {
      const error = thrown(() => timestampFromDate(bad as Date));
      expect(error).toBeInstanceOf(TimeValueError);
      expect(error).toMatchObject({ type: "Timestamp", field: undefined, value: bad });
    }
    expect(thrown(() => timestampFromDate(new Date(Number.NaN)))).toHaveProperty("message", "Timestamp: expected a valid Date (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z), got Date Invalid Date");
    expect(thrown(() => timestampFromDate(new Date(MAX_MS + 1)))).toHaveProperty("message", "Timestamp: expected a Date from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z, got Date +010000-01-01T00:00:00.000Z");
  });

  it("refuses milliseconds that are not whole or out of range, never rounding them", () => {
    for (const bad of [1.5, 0.000_1, Number.NaN, Infinity, -Infinity, MIN_MS - 1, MAX_MS + 1, "0", 0n]) {
      expect(thrown(() => timestampFromMillis(bad as number))).toMatchObject({ name: "TimeValueError", type: "Timestamp", field: undefined, value: bad });
    }
  });
});

describe("Timestamp to a Date or epoch milliseconds", () => {
  it("is exact when the nanos are whole milliseconds, whatever the rounding mode", () => {
    expect(timestampToMillis({ seconds: 1_700_000_000n, nanos: 250_000_000 })).toBe(1_700_000_000_250);
    expect(timestampToDate({ seconds: 1_700_000_000n, nanos: 250_000_000 }).toISOString()).toBe("2023-11-14T22:13:20.250Z");
    expect(timestampToMillis({ seconds: -1n, nanos: 500_000_000 })).toBe(-500);
    expect(timestampToDate({ seconds: -62_135_596_800n, nanos: 0 }).toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(timestampToDate({ seconds: 253_402_300_799n, nanos: 999_000_000 }).toISOString()).toBe("9999-12-31T23:59:59.999Z");
    for (const round of MODES) expect(timestampToMillis({ seconds: -2n, nanos: 1_000_000 }, { round })).toBe(-1999);
    expect(Object.is(timestampToMillis({ seconds: 0n, nanos: 0 }), 0)).toBe(true);
  });

  it("refuses a fraction of a millisecond without a rounding mode (TimePrecisionError)", () => {
    const error = thrown(() => timestampToDate({ seconds: 1n, nanos: 1_500_000 }));
    expect(error).toBeInstanceOf(TimePrecisionError);
    expect(error).toMatchObject({ type: "Timestamp", nanos: 1_500_000, lostNanos: 500_000 });
    expect((error as Error).message).toBe(
      'Timestamp with nanos 1500000 has 500000 ns below a millisecond, which a Date cannot hold: pass { round: "floor" } (or "ceil", "trunc", "halfExpand", …) to say how to round it',
    );
    expect(thrown(() => timestampToMillis({ seconds: 0n, nanos: 1 }))).toMatchObject({ name: "TimePrecisionError", lostNanos: 1 });
    expect(thrown(() => timestampToMillis({ seconds: 0n, nanos: 1 }, {}))).toBeInstanceOf(TimePrecisionError);
  });

  it("rounds by the mode asked for; before 1970 as if positive (trunc is floor: the sub-millisecond digits are dropped)", () => {
    // 1.0015 s after and 0.4985 s before the epoch (-0.4985 s = { seconds: -1, nanos: 501_500_000 }): both halfway.
    const after = { seconds: 1n, nanos: 1_500_000 };
    const before = { seconds: -1n, nanos: 501_500_000 };
    const expected: Record<TimeRounding, [number, number]> = {
      floor: [1001, -499],
      ceil: [1002, -498],
      trunc: [1001, -499],
      expand: [1002, -498],
      halfFloor: [1001, -499],
      halfCeil: [1002, -498],
      halfTrunc: [1001, -499],
      halfExpand: [1002, -498],
      halfEven: [1002, -498],
    };
    for (const round of MODES) {
      expect([timestampToMillis(after, { round }), timestampToMillis(before, { round })], round).toEqual(expected[round]);
    }
    expect(timestampToMillis({ seconds: 0n, nanos: 2_500_000 }, { round: "halfEven" })).toBe(2);
    expect(timestampToMillis({ seconds: 0n, nanos: 2_500_001 }, { round: "halfFloor" })).toBe(3);
    expect(timestampToMillis({ seconds: 0n, nanos: 2_499_999 }, { round: "halfCeil" })).toBe(2);
    expect(timestampToDate({ seconds: -1n, nanos: 999_999_999 }, { round: "floor" }).toISOString()).toBe("1969-12-31T23:59:59.999Z");
  });

  it("rounds the extremes into Dates: 9999-12-31T23:59:59.999999999Z ceils to 10000-01-01", () => {
    const max = { seconds: 253_402_300_799n, nanos: 999_999_999 };
    expect(timestampToDate(max, { round: "floor" }).toISOString()).toBe("9999-12-31T23:59:59.999Z");
    expect(timestampToDate(max, { round: "ceil" }).toISOString()).toBe("+010000-01-01T00:00:00.000Z");
    expect(timestampToMillis({ seconds: -62_135_596_800n, nanos: 1 }, { round: "floor" })).toBe(MIN_MS);
  });

  it("agrees with exact bigint arithmetic for every mode", () => {
    fc.assert(
      fc.property(fc.bigInt(-62_135_596_800n, 253_402_300_799n), fc.integer({ min: 0, max: 999_999_999 }), fc.constantFrom(...MODES), (seconds, nanos, round) => {
        const total = seconds * 1_000_000_000n + BigInt(nanos);
        expect(timestampToMillis({ seconds, nanos }, { round })).toBe(referenceRound(total, round, true));
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses values that are not valid Timestamps with TimeValueError naming the field", () => {
    const cases: [unknown, string | undefined][] = [
      [{ seconds: 0n, nanos: -1 }, "nanos"],
      [{ seconds: 0n, nanos: 1_000_000_000 }, "nanos"],
      [{ seconds: 0n, nanos: 1.5 }, "nanos"],
      [{ seconds: 0n, nanos: "0" }, "nanos"],
      [{ seconds: 0, nanos: 0 }, "seconds"],
      [{ seconds: -62_135_596_801n, nanos: 0 }, "seconds"],
      [{ seconds: 253_402_300_800n, nanos: 0 }, "seconds"],
      [null, undefined],
      [undefined, undefined],
    ];
    for (const [value, field] of cases) {
      for (const convert of [() => timestampToMillis(value as TimestampValue), () => timestampToDate(value as TimestampValue, { round: "floor" })]) {
        const error = thrown(convert);
        expect(error, String(field)).toBeInstanceOf(TimeValueError);
        expect(error).toMatchObject({ type: "Timestamp", field });
      }
    }
    expect(thrown(() => timestampToMillis({ seconds: 0n, nanos: -1 }))).toHaveProperty("message", "Timestamp.nanos: expected a whole number from 0 to 999999999, got number -1");
  });

  it("checks its options like every options object (ConfigError)", () => {
    const ts = { seconds: 0n, nanos: 0 };
    expect(thrown(() => timestampToMillis(ts, { round: "nearest" } as never))).toBeInstanceOf(ConfigError);
    expect(thrown(() => timestampToMillis(ts, { rond: "floor" } as never))).toMatchObject({ name: "ConfigError", hint: "did you mean round?" });
    expect(thrown(() => durationToMillis(ts, "floor" as never))).toBeInstanceOf(ConfigError);
  });

  it("round-trips every whole millisecond of the range, and every Date", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_MS, max: MAX_MS }), (ms) => {
        const ts = timestampFromMillis(ms);
        expect(timestampToMillis(ts)).toBe(ms);
        expect(timestampToDate(ts).getTime()).toBe(ms);
        expect(timestampFromDate(new Date(ms))).toEqual(ts);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("Duration to and from milliseconds", () => {
  it("is exact, seconds and nanos of the same sign", () => {
    expect(durationFromMillis(0)).toEqual({ seconds: 0n, nanos: 0 });
    expect(durationFromMillis(900_000)).toEqual({ seconds: 900n, nanos: 0 });
    expect(durationFromMillis(1500)).toEqual({ seconds: 1n, nanos: 500_000_000 });
    expect(durationFromMillis(-1500)).toEqual({ seconds: -1n, nanos: -500_000_000 });
    expect(durationFromMillis(-1)).toEqual({ seconds: 0n, nanos: -1_000_000 });
    expect(Object.is(durationFromMillis(-0).nanos, 0)).toBe(true);
    expect(Object.is(durationFromMillis(-1000).nanos, 0)).toBe(true);
    expect(durationFromMillis(MAX_DURATION_MS)).toEqual({ seconds: 315_576_000_000n, nanos: 999_000_000 });
    expect(durationFromMillis(-MAX_DURATION_MS)).toEqual({ seconds: -315_576_000_000n, nanos: -999_000_000 });
    expect(durationToMillis({ seconds: -1n, nanos: -500_000_000 })).toBe(-1500);
    expect(durationToMillis({ seconds: 0n, nanos: -1_000_000 })).toBe(-1);
    expect(durationToMillis({ seconds: 315_576_000_000n, nanos: 999_000_000 })).toBe(MAX_DURATION_MS);
  });

  it("refuses milliseconds that are not whole or beyond 10000 years", () => {
    for (const bad of [0.5, -1.5, Number.NaN, Infinity, MAX_DURATION_MS + 1, -MAX_DURATION_MS - 1, "1"]) {
      expect(thrown(() => durationFromMillis(bad as number))).toMatchObject({ name: "TimeValueError", type: "Duration", field: undefined, value: bad });
    }
  });

  it("refuses a fraction of a millisecond without a rounding mode, and rounds by its sign with one", () => {
    expect(thrown(() => durationToMillis({ seconds: -1n, nanos: -1_500_000 }))).toMatchObject({ name: "TimePrecisionError", type: "Duration", lostNanos: -500_000 });
    // -1.0015 s and +1.0015 s: halfway between two milliseconds.
    const neg = { seconds: -1n, nanos: -1_500_000 };
    const pos = { seconds: 1n, nanos: 1_500_000 };
    const expected: Record<TimeRounding, [number, number]> = {
      floor: [-1002, 1001],
      ceil: [-1001, 1002],
      trunc: [-1001, 1001],
      expand: [-1002, 1002],
      halfFloor: [-1002, 1001],
      halfCeil: [-1001, 1002],
      halfTrunc: [-1001, 1001],
      halfExpand: [-1002, 1002],
      halfEven: [-1002, 1002],
    };
    for (const round of MODES) expect([durationToMillis(neg, { round }), durationToMillis(pos, { round })], round).toEqual(expected[round]);
    expect(durationToMillis({ seconds: 0n, nanos: -1 }, { round: "trunc" })).toBe(0);
    expect(Object.is(durationToMillis({ seconds: 0n, nanos: -1 }, { round: "trunc" }), 0)).toBe(true);
    expect(durationToMillis({ seconds: 0n, nanos: -1 }, { round: "floor" })).toBe(-1);
  });

  it("agrees with exact bigint arithmetic for every mode", () => {
    const duration = fc.tuple(fc.bigInt(-315_576_000_000n, 315_576_000_000n), fc.integer({ min: 0, max: 999_999_999 })).map(([s, n]) => ({ seconds: s, nanos: s < 0n ? -n : s > 0n ? n : n % 2 === 0 ? n : -n }));
    fc.assert(
      fc.property(duration, fc.constantFrom(...MODES), (d, round) => {
        const total = d.seconds * 1_000_000_000n + BigInt(d.nanos);
        expect(durationToMillis(d, { round })).toBe(referenceRound(total, round, false));
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses values that are not valid Durations (range, sign rule) with TimeValueError naming the field", () => {
    const cases: [unknown, string | undefined, string][] = [
      [{ seconds: 1n, nanos: -1 }, "nanos", "nanos of the same sign as seconds"],
      [{ seconds: -1n, nanos: 1 }, "nanos", "nanos of the same sign as seconds"],
      [{ seconds: 0n, nanos: 1_000_000_000 }, "nanos", "a whole number from -999999999 to 999999999"],
      [{ seconds: 0n, nanos: -1_000_000_000 }, "nanos", "a whole number from -999999999 to 999999999"],
      [{ seconds: 315_576_000_001n, nanos: 0 }, "seconds", "seconds within ±315576000000 (10000 years)"],
      [{ seconds: -315_576_000_001n, nanos: 0 }, "seconds", "seconds within ±315576000000 (10000 years)"],
      [{ seconds: 1, nanos: 0 }, "seconds", "a bigint"],
      [42, undefined, "a Duration object ({ seconds: bigint, nanos: number })"],
    ];
    for (const [value, field, expected] of cases) {
      expect(thrown(() => durationToMillis(value as DurationValue, { round: "trunc" }))).toMatchObject({ name: "TimeValueError", type: "Duration", field, expected });
    }
    expect(durationToMillis({ seconds: 0n, nanos: -5_000_000 })).toBe(-5);
  });

  it("round-trips every whole millisecond of the range", () => {
    fc.assert(
      fc.property(fc.integer({ min: -MAX_DURATION_MS, max: MAX_DURATION_MS }), (ms) => {
        expect(durationToMillis(durationFromMillis(ms))).toBe(ms);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("the helpers' values in generated code", () => {
  it("are the generated Timestamp and Duration types, and survive the generated codec", () => {
    const lastSeen: Timestamp = timestampFromDate(new Date("1969-07-20T20:17:40.123Z"));
    const idleTimeout: Duration = durationFromMillis(-2500);
    const back: TimestampValue = lastSeen;
    expect(back).toBe(lastSeen);
    const session = createSession({ sessionId: "s", lastSeen, idleTimeout });
    const read: Session = decodeWith(decodeSession, encodeWith(encodeSession, session));
    expect(timestampToDate(read.lastSeen!).toISOString()).toBe("1969-07-20T20:17:40.123Z");
    expect(durationToMillis(read.idleTimeout!)).toBe(-2500);
    for (const ms of [MIN_MS, MAX_MS]) {
      const edge = decodeWith(decodeSession, encodeWith(encodeSession, createSession({ lastSeen: timestampFromMillis(ms), idleTimeout: durationFromMillis(ms < 0 ? -MAX_DURATION_MS : MAX_DURATION_MS) })));
      expect(timestampToMillis(edge.lastSeen!)).toBe(ms);
      expect(durationToMillis(edge.idleTimeout!)).toBe(ms < 0 ? -MAX_DURATION_MS : MAX_DURATION_MS);
    }
  });
});
