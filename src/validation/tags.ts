import { MAX_TAG_BYTES, MAX_TAGS } from "../envelope/format.js";
import { isWellFormed, loneSurrogateAt } from "../unicode.js";
import { invalid, type Check } from "./checks.js";

/**
 * A list of invalidation tags (docs/invalidation.md): an array of 1 to
 * {@link MAX_TAGS} distinct non-empty, well-formed strings of at most
 * {@link MAX_TAG_BYTES} UTF-8 bytes each. Duplicates are dropped (the first
 * kept), so the same tags in another order are still the same tags;
 * `allowEmpty` lets `[]` through (a write with no tags).
 */
export function tagList(allowEmpty = false): Check<readonly string[]> {
  const expected = `an array of ${allowEmpty ? "0" : "1"} to ${MAX_TAGS} non-empty strings of at most ${MAX_TAG_BYTES} UTF-8 bytes`;
  return (value, path) => {
    if (!Array.isArray(value)) throw invalid(path, expected, value);
    const out: string[] = [];
    const seen = new Set<string>();
    value.forEach((tag: unknown, i) => {
      const at = `${path}[${i}]`;
      if (typeof tag !== "string" || tag === "") throw invalid(at, "a non-empty string", tag);
      if (!isWellFormed(tag)) throw invalid(at, "well-formed Unicode", tag, `lone surrogate at index ${loneSurrogateAt(tag)}`);
      if (Buffer.byteLength(tag, "utf8") > MAX_TAG_BYTES) throw invalid(at, `a tag of at most ${MAX_TAG_BYTES} UTF-8 bytes`, tag);
      if (seen.has(tag)) return;
      seen.add(tag);
      out.push(tag);
    });
    if (out.length > MAX_TAGS) throw invalid(path, expected, value, `${out.length} distinct tags`);
    if (out.length === 0 && !allowEmpty) throw invalid(path, expected, value);
    return out;
  };
}
