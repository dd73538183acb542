import { WorkBudgetError } from "../codec/work.js";

/**
 * Deepest nesting of arrays and objects the default legacy reader accepts.
 * A cached entity's JSON is a few levels deep; `JSON.parse` itself accepts
 * millions of levels (an 8 MiB value of `[` costs it 1.5 s and 230 MB).
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Work units (src/codec/work.ts) the default legacy reader charges, by
 * what `JSON.parse` was measured to spend on each (docs/reliability.md,
 * "Work budget"): a property (distinct keys make the object a dictionary,
 * ~1.3 µs each), an object (~460 ns), an array (~200 ns), each further
 * element (~45 ns), and the text itself (~1.6 ns a byte, ~4.6 for
 * non-ASCII bytes, decoded from UTF-8 first).
 */
export const JsonWork = {
  property: 40,
  object: 16,
  array: 8,
  element: 2,
  textBytesPerUnit: 16,
  nonAsciiBytesPerUnit: 8,
} as const;

/** JSON text nested deeper than {@link MAX_JSON_DEPTH}: the legacy value is refused before parsing. */
export class JsonDepthError extends Error {
  override readonly name = "JsonDepthError";

  constructor(at: number) {
    super(`JSON nested deeper than ${MAX_JSON_DEPTH} levels (at byte ${at}): refused before parsing`);
  }
}

/**
 * One linear pass over JSON text before it is parsed: counts what parsing
 * it would cost in work units ({@link JsonWork}) and its nesting depth,
 * without building anything. Throws {@link WorkBudgetError} as soon as the
 * count passes `budget` and {@link JsonDepthError} past
 * {@link MAX_JSON_DEPTH}; returns the units counted. Malformed text is
 * left for `JSON.parse` to reject (the scan only has to bound its work).
 */
export function scanJson(bytes: Uint8Array, budget: number): number {
  const n = bytes.length;
  let work = budget - Math.ceil(n / JsonWork.textBytesPerUnit);
  if (work < 0) throw new WorkBudgetError(budget, "parsing the legacy JSON");
  let depth = 0;
  let nonAscii = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i] as number;
    switch (c) {
      case 0x22: // a string: skipped to its closing quote, escapes included
        for (i++; i < n; i++) {
          const d = bytes[i] as number;
          if (d === 0x5c) i++;
          else if (d === 0x22) break;
          else if (d >= 0x80) nonAscii++;
        }
        continue;
      case 0x5b: // [
        work -= JsonWork.array;
        if (++depth > MAX_JSON_DEPTH) throw new JsonDepthError(i);
        break;
      case 0x7b: // {
        work -= JsonWork.object;
        if (++depth > MAX_JSON_DEPTH) throw new JsonDepthError(i);
        break;
      case 0x5d: // ]
      case 0x7d: // }
        depth--;
        continue;
      case 0x2c: // ,
        work -= JsonWork.element;
        break;
      case 0x3a: // :
        work -= JsonWork.property;
        break;
      default:
        if (c >= 0x80) nonAscii++;
        continue;
    }
    if (work < 0) throw new WorkBudgetError(budget, "parsing the legacy JSON");
  }
  work -= Math.floor(nonAscii / JsonWork.nonAsciiBytesPerUnit);
  if (work < 0) throw new WorkBudgetError(budget, "parsing the legacy JSON");
  return budget - work;
}

/**
 * The default legacy reader: UTF-8 JSON, scanned first ({@link scanJson})
 * so that a value nested deeper than {@link MAX_JSON_DEPTH} or costlier
 * than `budget` work units is refused before `JSON.parse` builds anything.
 */
export function parseJsonWithin(bytes: Buffer, budget: number): { readonly value: unknown; readonly work: number } {
  const work = scanJson(bytes, budget);
  return { value: JSON.parse(bytes.toString("utf8")) as unknown, work };
}
