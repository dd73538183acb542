import { StoreError } from "../../errors.js";
import type { Deadline } from "../store.js";
import { isNoScript } from "./replies.js";
import type { RedisTransport } from "./transport.js";

/**
 * Most keys one round trip to one server carries in a read (one MGET, or
 * one pipeline of GETs). Redis runs a command to its end before serving
 * anyone else: a 1M-key MGET was measured blocking Redis ~38 ms, so 1000
 * keys cost it ~40 µs; the client sends and parses them in 1.7-2.5 ms
 * (median, a loaded 2-core machine), far inside any deadline, and one round
 * trip per 1000 keys keeps the per-round-trip cost negligible. See
 * docs/operations.md.
 */
export const MAX_KEYS_PER_ROUND_TRIP = 1000;

/**
 * Most values one round trip to one server carries in a write (one
 * pipeline of guarded-write scripts or SETs). A guarded write costs about
 * ten times a read (a script run and the value's bytes): 1000 took 18-25 ms
 * (median) and up to 240 ms on a loaded 2-core machine, too close to the
 * 200 ms default deadline; 250 take 6 ms (median).
 */
export const MAX_WRITES_PER_ROUND_TRIP = 250;

/**
 * Serves one server's share of a batch (`positions`, indexes into the
 * batch) in chunks of at most `perRoundTrip` ({@link MAX_KEYS_PER_ROUND_TRIP}
 * or {@link MAX_WRITES_PER_ROUND_TRIP}), one after another, each bounded by `deadline` on its own: however large the batch,
 * no round trip carries more than a chunk, so a healthy server never trips
 * the deadline because of the batch's size.
 *
 * `send` returns a chunk's results in order (an Error per failed key) or
 * rejects when the chunk failed as a whole (timeout, connection); then the
 * rest of this server's share fails with that same error without being
 * sent (the server already failed to answer in time). A chunk whose every
 * key failed gets one shared error too (its first), so a failure is
 * reported once per chunk, not once per key.
 */
export async function sendInChunks<R>(
  positions: readonly number[],
  out: (R | Error)[],
  operation: string,
  keyAt: (position: number) => string | undefined,
  deadline: Deadline | undefined,
  perRoundTrip: number,
  send: (chunk: readonly number[]) => Promise<readonly (R | Error)[]>,
): Promise<void> {
  for (let start = 0; start < positions.length; start += perRoundTrip) {
    const chunk = positions.slice(start, start + perRoundTrip);
    const first = keyAt(chunk[0] as number);
    let results: readonly (R | Error)[];
    try {
      const sent = send(chunk);
      results = await (deadline === undefined ? sent : deadline.bound(sent, operation, first));
    } catch (cause) {
      const failure = asStoreError(operation, first, cause);
      for (let i = start; i < positions.length; i++) out[positions[i] as number] = failure;
      return;
    }
    const shared = wholeChunkFailure(results);
    chunk.forEach((position, j) => {
      out[position] = shared ?? (results[j] as R | Error);
    });
  }
}

/**
 * The one error standing for a chunk whose every key failed (a failed
 * server batch: the keys' messages may differ, e.g. one MOVED per slot);
 * undefined when some key succeeded, or when a key only lacked a script
 * (NOSCRIPT, which the store resends).
 */
function wholeChunkFailure<R>(results: readonly (R | Error)[]): Error | undefined {
  const first = results[0];
  if (results.length < 2 || !(first instanceof Error)) return undefined;
  for (const r of results) if (!(r instanceof Error) || isNoScript(r)) return undefined;
  return first;
}

/** Positions 0 to n - 1: a standalone server's share of a batch is all of it. */
export function allPositions(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** `cause` as a StoreError naming `operation` and `key` (kept as it is when it already is one). */
export function asStoreError(operation: string, key: string | undefined, cause: unknown): StoreError {
  return cause instanceof StoreError ? cause : new StoreError(operation, key, { cause });
}

/**
 * Key positions grouped by the server that serves them (the transport's
 * `serverOf`): one group, every position, on a standalone server.
 */
export function groupByServer(transport: RedisTransport, keys: readonly string[]): number[][] {
  if (!transport.cluster) return [allPositions(keys.length)];
  const groups = new Map<string, number[]>();
  for (let i = 0; i < keys.length; i++) {
    const server = transport.serverOf(keys[i] as string);
    let group = groups.get(server);
    if (group === undefined) groups.set(server, (group = []));
    group.push(i);
  }
  return [...groups.values()];
}
