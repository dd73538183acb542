/**
 * The clocks of the hot paths (docs/l1.md "The clock").
 *
 * `Date.now()` is a wall clock: an NTP step (or a resumed virtual machine)
 * moves it, so an expiry counted on it can be extended or cut short. The L1
 * keeps time on the monotonic clock instead, and ages (now less an
 * envelope's written-at, which another process stamped with its wall
 * clock) are read from the monotonic clock plus an offset to the wall
 * clock, taken again from `Date.now()` at most once a second: such a
 * reading is never more than a second behind an NTP step, and in between it
 * drifts only by the step the clock is slewed at (microseconds).
 */

/** Milliseconds on the monotonic clock (`performance.now()`): for intervals and expiries, never compared with another process's time. */
export function monotonicNow(): number {
  return performance.now();
}

/** Re-sync with the wall clock at most this often. */
const RESYNC_MS = 1000;

let offset = Date.now() - performance.now();
let syncedAt = performance.now();

/** Milliseconds since the epoch at monotonic time `mono` (a {@link monotonicNow} reading of this process): Date.now's scale, re-synced with it at most once a second. */
export function epochAt(mono: number): number {
  if (mono - syncedAt >= RESYNC_MS) {
    offset = Date.now() - mono;
    syncedAt = mono;
  }
  return mono + offset;
}

/** Milliseconds since the epoch, as `Date.now()` gives them, read from the monotonic clock (see {@link epochAt}). */
export function epochNow(): number {
  return epochAt(performance.now());
}
