/**
 * Estimated heap bytes of an L1 entry: what its byte bound counts. V8's
 * layout is not observable, so this is a model, calibrated against the heap
 * itself (`npm run bench -- --only=l1`, rows "heap bytes per entry" and
 * "the L1's byte estimate" in docs/benchmarks.md: the estimate is meant to
 * be at or a little above what is measured, so that maxBytes bounds the
 * real heap): strings 2 bytes per code unit plus a header, objects a header
 * plus 8 bytes per property, typed arrays their bytes plus a header, and a
 * fixed cost per entry for the map node, the Map's slot, the held record
 * and the sketch. The id is counted though it is often the value's own
 * string. The walk is bounded by the value's size,
 * which the decoder already bounded (maxReadWork).
 */

/**
 * Fixed bytes per entry: the map node (88 bytes), the Map's slot (28 to 56
 * bytes as its table doubles), the held record (src/accessor/held.ts: 56
 * bytes), the frequency sketch's share (13 to 52 bytes as it doubles): 252
 * bytes at most, and a margin.
 */
export const ENTRY_OVERHEAD = 272;

const OBJECT = 48;
const SLOT = 8;
const STRING = 24;

/** Bytes of an entry held in an L1 by `id`, holding `value`. */
export function estimateBytes(id: string, value: unknown): number {
  return ENTRY_OVERHEAD + STRING + 2 * id.length + sizeOf(value);
}

/** Bytes of `value` alone (what an entry holds besides its value: its tags, say). */
export function estimateValueBytes(value: unknown): number {
  return sizeOf(value);
}

function sizeOf(value: unknown): number {
  switch (typeof value) {
    case "string":
      return STRING + 2 * value.length;
    case "object": {
      if (value === null) return 0;
      if (ArrayBuffer.isView(value)) return 64 + value.byteLength;
      if (value instanceof Date) return OBJECT + SLOT;
      if (value instanceof Map) {
        let n = OBJECT + 32;
        for (const [k, v] of value) n += 3 * SLOT + sizeOf(k) + sizeOf(v);
        return n;
      }
      if (Array.isArray(value)) {
        let n = OBJECT + SLOT * value.length;
        for (const v of value) n += sizeOf(v);
        return n;
      }
      let n = OBJECT;
      for (const k in value) n += SLOT + sizeOf((value as Record<string, unknown>)[k]);
      return n;
    }
    case "bigint":
      return 24;
    default:
      return 0; // numbers, booleans, undefined: in the slot (a heap number is 16 bytes, counted as 0 here)
  }
}
