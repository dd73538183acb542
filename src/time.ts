import { DURATION_SECONDS, TIMESTAMP_SECONDS } from "./codec/field-checks.js";
import { TimePrecisionError, TimeValueError, type TimeType } from "./errors.js";
import { oneOf, optional, options, type ShapeOf } from "./validation/index.js";

/**
 * Conversions between the protobuf time types, as generated code holds them,
 * and what services compute with: `Date` and epoch milliseconds. Nothing is
 * lost silently: a value the other side cannot hold is a typed error
 * ({@link TimeValueError}), and so is a fraction of a millisecond a `Date`
 * or a millisecond count would drop ({@link TimePrecisionError}), unless
 * the call says how to round it.
 */

/**
 * A `google.protobuf.Timestamp` as generated code types it (ts-proto with
 * `forceLong=bigint` and `useDate=false`): `seconds` since 1970-01-01T00:00:00Z
 * (negative before), and `nanos` from 0 to 999 999 999, always counting
 * forward in time (1969-12-31T23:59:59.5Z is `{ seconds: -1n, nanos: 500_000_000 }`).
 * Valid from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z. The
 * generated `Timestamp` interface and this one are assignable to each other.
 */
export interface TimestampValue {
  seconds: bigint;
  nanos: number;
}

/**
 * A `google.protobuf.Duration` as generated code types it: whole `seconds`
 * (within ±315 576 000 000, 10 000 years) and `nanos` from -999 999 999 to
 * 999 999 999, of the same sign as `seconds` when both are non-zero
 * (-1.5 s is `{ seconds: -1n, nanos: -500_000_000 }`). The generated
 * `Duration` interface and this one are assignable to each other.
 */
export interface DurationValue {
  seconds: bigint;
  nanos: number;
}

/**
 * How to round a time that falls between two milliseconds, by the names and
 * rules of JavaScript's Temporal (`roundingMode`):
 *
 * | mode | rounds to |
 * |---|---|
 * | `"floor"` | the earlier millisecond (toward -∞) |
 * | `"ceil"` | the later millisecond (toward +∞) |
 * | `"trunc"` | toward zero |
 * | `"expand"` | away from zero |
 * | `"halfFloor"`, `"halfCeil"`, `"halfTrunc"`, `"halfExpand"`, `"halfEven"` | the nearest millisecond; a tie (exactly half) as `floor`, `ceil`, `trunc`, `expand`, or to the even millisecond |
 *
 * A Timestamp is a point in time, and the epoch an arbitrary origin: as
 * Temporal does for instants, it is rounded as if positive, so the result
 * never depends on which side of 1970 it lies. For a Timestamp `"trunc"` is
 * `"floor"` (the sub-millisecond digits are dropped: toward the past),
 * `"expand"` is `"ceil"`, `"halfTrunc"` is `"halfFloor"` and `"halfExpand"`
 * is `"halfCeil"`. A Duration is a signed length: `"trunc"` rounds -1.5 ms
 * to -1 ms, `"floor"` to -2 ms.
 */
export type TimeRounding = "floor" | "ceil" | "trunc" | "expand" | "halfFloor" | "halfCeil" | "halfTrunc" | "halfExpand" | "halfEven";

/** The rounding modes, in the order {@link TimeRounding} lists them. */
const ROUNDINGS = ["floor", "ceil", "trunc", "expand", "halfFloor", "halfCeil", "halfTrunc", "halfExpand", "halfEven"] as const satisfies readonly TimeRounding[];

/**
 * Options of a conversion that can meet a fraction of a millisecond
 * ({@link timestampToDate}, {@link timestampToMillis}, {@link durationToMillis}).
 *
 * @example
 * ```ts
 * timestampToDate(ts, { round: "floor" }); // the millisecond the time falls in
 * ```
 */
export interface ToMillisOptions {
  /**
   * How to round nanos that are not a whole number of milliseconds. Left
   * out (the default), such a value throws {@link TimePrecisionError}: the
   * conversion never drops precision unless asked to. A value that is a
   * whole number of milliseconds converts exactly whatever the mode.
   */
  readonly round?: TimeRounding;
}

const toMillisSpec = options({ round: optional(oneOf(ROUNDINGS)) } satisfies ShapeOf<ToMillisOptions>, {
  name: "time conversion options",
  expected: 'an object like { round: "floor" } or nothing',
});

const NANOS_PER_MS = 1_000_000;
/** Milliseconds of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59.999Z: the Dates and millisecond counts a Timestamp can hold. */
const TIMESTAMP_MS = [Number(TIMESTAMP_SECONDS[0]) * 1000, Number(TIMESTAMP_SECONDS[1]) * 1000 + 999] as const;
/** ±(315 576 000 000 s + 999 ms): the millisecond counts a Duration can hold. */
const DURATION_MS = Number(DURATION_SECONDS) * 1000 + 999;

const timestampRange = "0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z";

/**
 * The Timestamp of a `Date`: exact (a Date has whole milliseconds, a
 * Timestamp nanoseconds).
 *
 * @throws {@link TimeValueError} for an Invalid Date, something that is not
 *   a Date, or a Date before year 1 or after year 9999 (a Date reaches
 *   ±275 760 years; a Timestamp does not).
 *
 * @example
 * ```ts
 * import { timestampFromDate } from "protocache";
 * const session = createSession({ lastSeen: timestampFromDate(new Date()) });
 * timestampFromDate(new Date("1969-12-31T23:59:59.500Z")); // { seconds: -1n, nanos: 500000000 }
 * ```
 */
export function timestampFromDate(date: Date): TimestampValue {
  let ms: number;
  try {
    ms = Date.prototype.getTime.call(date);
  } catch {
    throw new TimeValueError("Timestamp", undefined, "a Date", date);
  }
  if (Number.isNaN(ms)) throw new TimeValueError("Timestamp", undefined, `a valid Date (${timestampRange})`, date);
  if (ms < TIMESTAMP_MS[0] || ms > TIMESTAMP_MS[1]) throw new TimeValueError("Timestamp", undefined, `a Date from ${timestampRange}`, date);
  return timestampOfMillis(ms);
}

/**
 * The Timestamp of a count of milliseconds since 1970-01-01T00:00:00Z (what
 * `Date.now()` returns; negative before 1970): exact.
 *
 * @throws {@link TimeValueError} for a number that is not a whole number
 *   (a fraction of a millisecond, NaN, ±Infinity: build `{ seconds, nanos }`
 *   yourself for sub-millisecond times) or that lies outside
 *   0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z.
 *
 * @example
 * ```ts
 * import { timestampFromMillis } from "protocache";
 * timestampFromMillis(Date.now());  // now
 * timestampFromMillis(-1);          // { seconds: -1n, nanos: 999000000 }: 1969-12-31T23:59:59.999Z
 * ```
 */
export function timestampFromMillis(ms: number): TimestampValue {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < TIMESTAMP_MS[0] || ms > TIMESTAMP_MS[1]) {
    throw new TimeValueError("Timestamp", undefined, `whole milliseconds since the epoch within ${timestampRange} (${TIMESTAMP_MS[0]} to ${TIMESTAMP_MS[1]})`, ms);
  }
  return timestampOfMillis(ms);
}

/**
 * The `Date` of a Timestamp. A Date holds whole milliseconds: a Timestamp
 * whose nanos are not a whole number of milliseconds throws
 * {@link TimePrecisionError} unless `options.round` says how to round it.
 *
 * @throws {@link TimeValueError} for a value that is not a valid Timestamp
 *   (seconds not a bigint or outside 0001-01-01 to 9999-12-31, nanos not a
 *   whole number from 0 to 999 999 999).
 * @throws {@link TimePrecisionError} for a fraction of a millisecond without `round`.
 * @throws ConfigError for an unknown option or rounding mode.
 *
 * @example
 * ```ts
 * import { timestampToDate } from "protocache";
 * timestampToDate({ seconds: 1_700_000_000n, nanos: 250_000_000 });          // 2023-11-14T22:13:20.250Z
 * timestampToDate({ seconds: 1_700_000_000n, nanos: 250_000_001 });          // throws TimePrecisionError
 * timestampToDate({ seconds: 1_700_000_000n, nanos: 250_000_001 }, { round: "floor" }); // 2023-11-14T22:13:20.250Z
 * ```
 */
export function timestampToDate(timestamp: Readonly<TimestampValue>, options?: ToMillisOptions): Date {
  return new Date(toMillis("Timestamp", timestamp, options, "a Date"));
}

/**
 * A Timestamp as milliseconds since 1970-01-01T00:00:00Z (negative before):
 * what `Date.now()` and `new Date(ms)` use. Nanos that are not a whole
 * number of milliseconds throw {@link TimePrecisionError} unless
 * `options.round` says how to round them. Every Timestamp's milliseconds
 * are safe integers.
 *
 * @throws {@link TimeValueError} for a value that is not a valid Timestamp.
 * @throws {@link TimePrecisionError} for a fraction of a millisecond without `round`.
 * @throws ConfigError for an unknown option or rounding mode.
 *
 * @example
 * ```ts
 * import { timestampToMillis } from "protocache";
 * const age = Date.now() - timestampToMillis(session.lastSeen!, { round: "floor" });
 * timestampToMillis({ seconds: -1n, nanos: 500_000_000 }); // -500
 * ```
 */
export function timestampToMillis(timestamp: Readonly<TimestampValue>, options?: ToMillisOptions): number {
  return toMillis("Timestamp", timestamp, options, "milliseconds");
}

/**
 * The Duration of a count of milliseconds (negative for a negative
 * duration): exact, seconds and nanos of the same sign.
 *
 * @throws {@link TimeValueError} for a number that is not a whole number
 *   (NaN, ±Infinity, a fraction of a millisecond) or whose size exceeds
 *   315 576 000 000 999 ms (10 000 years, the Duration range).
 *
 * @example
 * ```ts
 * import { durationFromMillis } from "protocache";
 * createSession({ idleTimeout: durationFromMillis(15 * 60_000) }); // { seconds: 900n, nanos: 0 }
 * durationFromMillis(-1500);                                        // { seconds: -1n, nanos: -500000000 }
 * ```
 */
export function durationFromMillis(ms: number): DurationValue {
  if (typeof ms !== "number" || !Number.isInteger(ms) || ms < -DURATION_MS || ms > DURATION_MS) {
    throw new TimeValueError("Duration", undefined, `whole milliseconds within ±${DURATION_MS}`, ms);
  }
  const rest = ms % 1000;
  return { seconds: BigInt((ms - rest) / 1000), nanos: rest * NANOS_PER_MS + 0 };
}

/**
 * A Duration as milliseconds (negative for a negative duration). Nanos that
 * are not a whole number of milliseconds throw {@link TimePrecisionError}
 * unless `options.round` says how to round them (`"trunc"` toward zero,
 * `"floor"` toward -∞, ...: see {@link TimeRounding}). Every Duration's
 * milliseconds are safe integers.
 *
 * @throws {@link TimeValueError} for a value that is not a valid Duration
 *   (seconds not a bigint or beyond ±315 576 000 000, nanos not a whole
 *   number within ±999 999 999, or of the other sign than seconds).
 * @throws {@link TimePrecisionError} for a fraction of a millisecond without `round`.
 * @throws ConfigError for an unknown option or rounding mode.
 *
 * @example
 * ```ts
 * import { durationToMillis } from "protocache";
 * setTimeout(expire, durationToMillis(session.idleTimeout ?? { seconds: 900n, nanos: 0 }, { round: "ceil" }));
 * durationToMillis({ seconds: -1n, nanos: -500_000_000 }); // -1500
 * ```
 */
export function durationToMillis(duration: Readonly<DurationValue>, options?: ToMillisOptions): number {
  return toMillis("Duration", duration, options, "milliseconds");
}

/** `{ seconds, nanos }` of a whole, in-range millisecond count (nanos count forward in time). */
function timestampOfMillis(ms: number): TimestampValue {
  const rest = ((ms % 1000) + 1000) % 1000;
  return { seconds: BigInt((ms - rest) / 1000), nanos: rest * NANOS_PER_MS };
}

/** The checked value's milliseconds, exact or rounded by `options.round`. */
function toMillis(type: TimeType, value: Readonly<TimestampValue>, given: ToMillisOptions | undefined, target: "milliseconds" | "a Date"): number {
  const round = given === undefined ? undefined : toMillisSpec(given, "").round;
  const seconds = checkFields(type, value);
  const nanos = value.nanos;
  // value = floorMs + below / 1e6 ms, with 0 <= below < 1e6 (exact in doubles: |floorMs| < 2^49).
  let floorMs = seconds * 1000 + Math.floor(nanos / NANOS_PER_MS);
  const below = nanos - Math.floor(nanos / NANOS_PER_MS) * NANOS_PER_MS;
  if (below === 0) return floorMs + 0;
  if (round === undefined) throw new TimePrecisionError(type, nanos, target);
  // A Timestamp rounds as if positive (Temporal's rule for instants); a Duration by its sign.
  const positive = type === "Timestamp" || floorMs >= 0;
  if (roundsUp(round, floorMs, below, positive)) floorMs += 1;
  return floorMs + 0;
}

/** Whether `floorMs + below / 1e6` (0 < below < 1e6) rounds up to `floorMs + 1` under `mode`. */
function roundsUp(mode: TimeRounding, floorMs: number, below: number, positive: boolean): boolean {
  switch (mode) {
    case "floor":
      return false;
    case "ceil":
      return true;
    case "trunc":
      return !positive;
    case "expand":
      return positive;
  }
  const half = 2 * below - NANOS_PER_MS;
  if (half !== 0) return half > 0;
  switch (mode) {
    case "halfFloor":
      return false;
    case "halfCeil":
      return true;
    case "halfTrunc":
      return !positive;
    case "halfExpand":
      return positive;
    case "halfEven":
      return floorMs % 2 !== 0;
  }
}

/** Checks a Timestamp's or Duration's fields against its definition's ranges; returns its seconds as a number (exact: within ±2^39). */
function checkFields(type: TimeType, value: Readonly<TimestampValue>): number {
  if (typeof value !== "object" || value === null) throw new TimeValueError(type, undefined, `a ${type} object ({ seconds: bigint, nanos: number })`, value);
  const { seconds, nanos } = value;
  if (typeof seconds !== "bigint") throw new TimeValueError(type, "seconds", "a bigint", seconds);
  if (type === "Timestamp") {
    if (seconds < TIMESTAMP_SECONDS[0] || seconds > TIMESTAMP_SECONDS[1]) {
      throw new TimeValueError(type, "seconds", `seconds from ${TIMESTAMP_SECONDS[0]} to ${TIMESTAMP_SECONDS[1]} (0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)`, seconds);
    }
    if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) throw new TimeValueError(type, "nanos", "a whole number from 0 to 999999999", nanos);
  } else {
    if (seconds < -DURATION_SECONDS || seconds > DURATION_SECONDS) throw new TimeValueError(type, "seconds", `seconds within ±${DURATION_SECONDS} (10000 years)`, seconds);
    if (!Number.isInteger(nanos) || nanos < -999_999_999 || nanos > 999_999_999) throw new TimeValueError(type, "nanos", "a whole number from -999999999 to 999999999", nanos);
    if ((seconds > 0n && nanos < 0) || (seconds < 0n && nanos > 0)) throw new TimeValueError(type, "nanos", "nanos of the same sign as seconds", nanos);
  }
  return Number(seconds);
}
