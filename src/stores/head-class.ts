import { ENVELOPE_VERSION, FIXED_HEADER_BYTES, Flags, MAGIC } from "../envelope/format.js";
import { peekSchemaId } from "../envelope/header.js";
import type { HeadClass } from "./bulk.js";

/**
 * Classifies a stored value from its first 7 bytes, exactly as the census
 * and cleanup scripts do on the server (src/stores/redis/scripts/head-lua.ts): a
 * version-1 envelope with valid flags, a newer envelope version, a header
 * that cannot be valid, or a non-envelope (legacy) value. `undefined` means
 * the key is gone. The payload is never looked at, so a damaged payload
 * behind a valid header counts as `envelope`.
 */
export function classifyHead(value: Uint8Array | undefined): { kind: HeadClass; schemaId: number | undefined } {
  if (value === undefined) return { kind: "gone", schemaId: undefined };
  if (value.length === 0 || value[0] !== MAGIC) return { kind: "legacy", schemaId: undefined };
  if (value.length < FIXED_HEADER_BYTES) return { kind: "corrupt", schemaId: undefined };
  const version = value[1] as number;
  const flags = value[2] as number;
  if (version === 0) return { kind: "corrupt", schemaId: undefined };
  if (version > ENVELOPE_VERSION) return { kind: "newer", schemaId: peekSchemaId(value) };
  const compression = flags & Flags.compressionMask;
  // An absent marker has no payload, so no compression.
  if ((flags & Flags.reserved) !== 0 || compression === 3 || ((flags & Flags.absent) !== 0 && compression !== 0) || ((flags & Flags.tags) !== 0 && (flags & Flags.writtenAt) === 0)) return { kind: "corrupt", schemaId: undefined };
  return { kind: "envelope", schemaId: peekSchemaId(value) };
}

/** True when a cleanup rule selects a value of this class and schema ID. */
export function ruleSelects(rule: { schemaIds: readonly number[]; legacy: boolean; corrupt: boolean; all: boolean }, kind: HeadClass, schemaId: number | undefined): boolean {
  if (kind === "gone" || kind === "other-type") return false;
  if (rule.all) return true;
  if (kind === "legacy") return rule.legacy;
  if (kind === "corrupt") return rule.corrupt;
  return kind === "envelope" && schemaId !== undefined && rule.schemaIds.includes(schemaId);
}
