/**
 * Node's Buffer has native UTF-8 helpers that skip the argument checks of
 * `write`/`toString`; protobufjs and others rely on them too. Detected once,
 * with the documented methods as fallback.
 */
interface BufferInternals {
  utf8Write?(text: string, offset: number, length?: number): number;
  utf8Slice?(start: number, end: number): string;
  latin1Slice?(start: number, end: number): string;
}

const probe = Buffer.alloc(0) as unknown as BufferInternals;

/** Writes `text` as UTF-8 at `offset`; returns the bytes written. */
export const utf8Write: (buf: Buffer, text: string, offset: number) => number =
  typeof probe.utf8Write === "function"
    ? (buf, text, offset) => (buf as unknown as Required<BufferInternals>).utf8Write(text, offset)
    : (buf, text, offset) => buf.write(text, offset, "utf8");

/** Reads bytes `start..end` as UTF-8 (invalid sequences become U+FFFD). */
export const utf8Slice: (buf: Buffer, start: number, end: number) => string =
  typeof probe.utf8Slice === "function"
    ? (buf, start, end) => (buf as unknown as Required<BufferInternals>).utf8Slice(start, end)
    : (buf, start, end) => buf.toString("utf8", start, end);

/** Reads bytes `start..end` as Latin-1: one char per byte (equal to UTF-8 for ASCII). */
export const latin1Slice: (buf: Buffer, start: number, end: number) => string =
  typeof probe.latin1Slice === "function"
    ? (buf, start, end) => (buf as unknown as Required<BufferInternals>).latin1Slice(start, end)
    : (buf, start, end) => buf.toString("latin1", start, end);
