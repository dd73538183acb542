/**
 * The clocks of the hot paths (docs/l1.md "The clock").
 *
 * `Date.now()` is a wall clock: an NTP step back (or a virtual machine's
 * clock set back) would extend every expiry counted on it. The L1 counts
 * on {@link monotonicNow} instead: `Date.now()` plus the sum of every step
 * back it has seen, so that it never goes back and otherwise advances with
 * the wall clock. It costs one `Date.now()` and a comparison, less than
 * `performance.now()` on Node 20 (bench/l1-floor.ts: a bare L1 read 111 ns
 * against 126 ns). A step forward ends holds early, which
 * is safe. Ages (now less an envelope's written-at, stamped by another
 * process's wall clock) use the wall clock itself ({@link epochAt}).
 */

/**
 * The clock's state, in an object rather than module bindings: its `last`
 * field holds a double in place, where a module binding would box a new
 * number at every store.
 */
const state = { behind: 0, last: -Infinity };

/** Milliseconds on a clock that never goes back: the wall clock plus every step back it has taken, for intervals and expiries. */
export function monotonicNow(): number {
  const s = state;
  const now = Date.now() + s.behind;
  // Stored only when it moved on: calls within one millisecond write nothing.
  if (now > s.last) return (s.last = now);
  if (now === s.last) return now;
  s.behind += s.last - now;
  return s.last;
}

/** The wall clock (milliseconds since the epoch, as `Date.now()`) at a {@link monotonicNow} reading `mono`. */
export function epochAt(mono: number): number {
  return mono - state.behind;
}

/** Milliseconds since the epoch: `Date.now()`. */
export function epochNow(): number {
  return Date.now();
}
