import { ENVELOPE_VERSION, FIXED_HEADER_BYTES, MAGIC } from "./format.js";

/**
 * The never-downgrade rule, shared by every store: a write may replace the
 * current value unless that value is an envelope this writer cannot fully
 * understand: a newer envelope version, or a version-1 envelope with a schema ID missing from
 * `knownIds` (concatenated big-endian uint32s: every ID of the writer's lock).
 * Anything else (no value, legacy bytes, known IDs, the reserved ID 0) may
 * be overwritten.
 */
export function guardAllows(current: Uint8Array | undefined, knownIds: Uint8Array): boolean {
  if (current === undefined || current.length === 0 || current[0] !== MAGIC) return true;
  if (current.length < FIXED_HEADER_BYTES) return true;
  const version = current[1] as number;
  if (version > ENVELOPE_VERSION) return false;
  if (version !== ENVELOPE_VERSION) return true;
  // Schema ID 0 is reserved: such an envelope is damage, not a newer deploy's entry.
  if (current[3] === 0 && current[4] === 0 && current[5] === 0 && current[6] === 0) return true;
  for (let i = 0; i + 4 <= knownIds.length; i += 4) {
    if (
      knownIds[i] === current[3] &&
      knownIds[i + 1] === current[4] &&
      knownIds[i + 2] === current[5] &&
      knownIds[i + 3] === current[6]
    ) {
      return true;
    }
  }
  return false;
}
