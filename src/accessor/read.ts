import { Reader } from "../codec/reader.js";
import { decompress } from "../envelope/compression.js";
import { ENVELOPE_VERSION, MAGIC } from "../envelope/format.js";
import { readHeader, type EnvelopeHeader } from "../envelope/header.js";
import { DecodeError } from "../errors.js";
import type { ReadOutcome } from "../stats.js";
import type { Entity, RevisionInfo } from "./entity.js";
import type { ResolvedOptions } from "./options.js";

/** What the read decision table concluded for one stored value. */
export interface Interpretation<T> {
  readonly outcome: ReadOutcome;
  /** The value to return; undefined for every kind of miss. */
  readonly value: T | undefined;
  readonly header: EnvelopeHeader | undefined;
  /** The revision of this message that wrote the entry, when known. */
  readonly revision: RevisionInfo<T> | undefined;
  /** Why an entry was `corrupt`, or what the legacy reader threw. */
  readonly error: Error | undefined;
}

const reader = new Reader(Buffer.alloc(0));

function result<T>(
  outcome: ReadOutcome,
  value: T | undefined,
  header?: EnvelopeHeader,
  revision?: RevisionInfo<T>,
  error?: Error,
): Interpretation<T> {
  return { outcome, value, header, revision, error };
}

/**
 * The read decision table (docs/policies.md): decides, for bytes found at a
 * key, whether they are a hit, an upgrade, a newer revision, another
 * message, legacy data or corrupt. Pure and synchronous; never throws.
 */
export function interpret<T, K>(entity: Entity<T, K>, options: ResolvedOptions<T>, bytes: Buffer): Interpretation<T> {
  if (bytes.length === 0 || bytes[0] !== MAGIC) {
    if (bytes.length > options.maxPayloadBytes) {
      return result<T>("foreign", undefined, undefined, undefined, new DecodeError("too-large", `value of ${bytes.length} bytes exceeds maxPayloadBytes (${options.maxPayloadBytes}): not given to the legacy reader`));
    }
    return interpretLegacy(options, bytes);
  }
  let header: EnvelopeHeader;
  try {
    header = readHeader(bytes);
  } catch (error) {
    const decodeError = error as DecodeError;
    // A newer envelope version is a newer deploy's entry, not damage: miss, never delete. Version 0 is damage.
    const newer = decodeError.reason === "bad-version" && (bytes[1] as number) > ENVELOPE_VERSION;
    return result<T>(newer ? "unknown" : "corrupt", undefined, undefined, undefined, decodeError);
  }
  const id = header.schemaId;
  const revision = entity.revisionsById.get(id);
  if (revision === entity.current) return decodeAs(entity, options, bytes, header, "hit", revision);
  if (revision !== undefined && revision.revision > entity.current.revision) {
    // A later locked revision (the schema was reverted): newer than this code, so read it like an unknown one.
    return decodeAs(entity, options, bytes, header, "unknown", undefined);
  }
  if (revision !== undefined) {
    if (options.onOlderRevision === "miss" || revision.revision < options.minRevision) {
      return result("rejected", undefined, header, revision);
    }
    return decodeAs(entity, options, bytes, header, "upgraded", revision);
  }
  if (entity.registry.get(id) !== undefined) return result<T>("wrong_type", undefined, header);
  // Same major, unknown ID: a newer revision. CI guarantees it is wire-compatible with ours.
  return decodeAs(entity, options, bytes, header, "unknown", undefined);
}

function decodeAs<T, K>(
  entity: Entity<T, K>,
  options: ResolvedOptions<T>,
  bytes: Buffer,
  header: EnvelopeHeader,
  outcome: "hit" | "upgraded" | "unknown",
  revision: RevisionInfo<T> | undefined,
): Interpretation<T> {
  const stored = bytes.length - header.payloadStart;
  if (stored > options.maxPayloadBytes) {
    // Checked before any work: an oversized payload is never decompressed nor decoded.
    const error = new DecodeError("too-large", `payload of ${stored} bytes exceeds maxPayloadBytes (${options.maxPayloadBytes})`, header.schemaId);
    return result("corrupt", undefined, header, revision, error);
  }
  try {
    let payload = bytes;
    let start = header.payloadStart;
    if (header.compression !== "none") {
      payload = decompress(header.compression, bytes.subarray(start), options.maxPayloadBytes, header.schemaId);
      start = 0;
    }
    reader.reset(payload, start, payload.length);
    const value = entity.decode(reader, payload.length);
    (revision ?? entity.current).fill?.(value);
    return result(outcome, value, header, revision);
  } catch (error) {
    const failure =
      error instanceof DecodeError
        ? error
        : new DecodeError("payload", error instanceof Error ? error.message : String(error), header.schemaId, { cause: error });
    return result("corrupt", undefined, header, revision, failure);
  } finally {
    reader.release();
  }
}

function interpretLegacy<T>(options: ResolvedOptions<T>, bytes: Buffer): Interpretation<T> {
  if (options.legacy === undefined) return result<T>("foreign", undefined);
  try {
    const value = options.legacy(bytes);
    return value === undefined ? result<T>("foreign", undefined) : result<T>("legacy", value);
  } catch (error) {
    return result<T>("foreign", undefined, undefined, undefined, error instanceof Error ? error : new Error(String(error)));
  }
}
