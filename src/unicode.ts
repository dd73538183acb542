/**
 * Well-formed Unicode: a string with a lone surrogate (a UTF-16 high
 * surrogate not followed by a low one, or a low one not preceded by a high
 * one) has no UTF-8 form. Node's encoders write each as U+FFFD, so two
 * different strings would become the same bytes: keys, options and field
 * values refuse them instead.
 */

/** `String.prototype.isWellFormed` (Node 20; typed in lib ES2024, newer than this project's lib setting), called through `.call` (see the note on `charCodeAt` in codec/writer.ts). */
const isWellFormedMethod = (String.prototype as unknown as { isWellFormed(this: string): boolean }).isWellFormed;

/** True when `text` has no lone surrogate. Native; immediate for strings V8 holds as one byte per character (Latin-1, ASCII). */
export function isWellFormed(text: string): boolean {
  return isWellFormedMethod.call(text);
}

/** Index of the first lone surrogate in `text`, or -1. */
export function loneSurrogateAt(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return i;
    }
  }
  return -1;
}
