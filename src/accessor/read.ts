import { FieldValueError } from "../codec/field-checks.js";
import { Reader } from "../codec/reader.js";
import { Work, WorkBudgetError } from "../codec/work.js";
import { copyUnknownFields } from "../codec/unknown-fields.js";
import { Writer } from "../codec/writer.js";
import { decompress } from "../envelope/compression.js";
import { encodeEnvelope, type EnvelopeWriteOptions } from "../envelope/encode.js";
import { encodeTags } from "../invalidation/tag-keys.js";
import { ENVELOPE_VERSION, MAGIC } from "../envelope/format.js";
import { readHeader, type EnvelopeHeader } from "../envelope/header.js";
import { DecodeError, KeyMismatchError, LegacyReaderError, LegacyValueError, MigrationResultError, UpgradeError } from "../errors.js";
import type { ReadOutcome } from "../stats.js";
import type { Entity, RevisionInfo } from "./entity.js";
import { legacyEncodeError, legacyValue } from "./legacy.js";
import { parseJsonWithin } from "./legacy-json.js";
import { migrationsOf } from "./migrations.js";
import { envelopeOptionsOf, type ResolvedOptions } from "./options.js";

/** What the read decision table concluded for one stored value. */
export interface Interpretation<T> {
  readonly outcome: ReadOutcome;
  /** The value to return; undefined for every kind of miss. */
  readonly value: T | undefined;
  readonly header: EnvelopeHeader | undefined;
  /** The revision of this message that wrote the entry, when known. */
  readonly revision: RevisionInfo<T> | undefined;
  /** Why an entry was `corrupt`, `upgrade_failed` or `legacy_rejected`. */
  readonly error: Error | undefined;
  /** For a `legacy` value, or one an upgrade hook made: its envelope in the current revision (what adoption, `rewriteLegacy` or write-back stores). */
  readonly envelope?: Buffer | undefined;
  /** Work units the read took (src/codec/work.ts): what a call's budget is charged (a failed decompression: what it may have produced); absent or 0 when nothing was decoded. */
  readonly work?: number;
}


const reader = new Reader(Buffer.alloc(0));
const writer = new Writer();

function result<T>(
  outcome: ReadOutcome,
  value: T | undefined,
  header?: EnvelopeHeader,
  revision?: RevisionInfo<T>,
  error?: Error,
  envelope?: Buffer,
  work = 0,
): Interpretation<T> {
  return { outcome, value, header, revision, error, envelope, work };
}

/** The `over-budget` failure of a read that could spend `budget` units (less than `maxReadWork` when its call's budget was nearly spent). */
function overBudget(options: ResolvedOptions<unknown>, budget: number, schemaId: number | undefined, what: string, cause?: unknown): DecodeError {
  const limit = budget < options.maxReadWork ? `what was left of the call's maxBatchWork (${options.maxBatchWork})` : `maxReadWork`;
  return new DecodeError("over-budget", `${what} needs more than ${budget} work units (${limit}): raise maxReadWork if the entity's values legitimately need more`, schemaId, { cause });
}

/**
 * The read decision table (docs/policies.md): decides, for bytes found at a
 * key, whether they are a hit, an upgrade, a newer revision, another
 * message, legacy data or corrupt, and runs the entity's upgrade hooks
 * (after declared defaults) on older revisions. Synchronous; never throws:
 * a throwing hook or legacy reader is an outcome with its error. The one
 * place where stored bytes become a current-revision value (accessors and
 * operations share it). `key` names the key read (for errors and legacy
 * readers); `fields` are the key fields of the call that read it: a decoded
 * value whose key fields differ is a `key_mismatch` miss, and a legacy value
 * gets them. Without `fields` (operations, which read keys they found by
 * SCAN) nothing is compared. Decoding may take at most `budget` work units
 * (default `maxReadWork`; a batch passes what is left of its own): past it
 * the read is an `over_budget` miss, and `work` in the result says what it
 * took.
 */
export function interpret<T, K>(entity: Entity<T, K>, options: ResolvedOptions<T>, bytes: Buffer, key?: string, fields?: K, budget = options.maxReadWork): Interpretation<T> {
  if (budget > options.maxReadWork) budget = options.maxReadWork;
  if (bytes.length === 0 || bytes[0] !== MAGIC) {
    if (bytes.length > options.maxPayloadBytes) {
      return result<T>("foreign", undefined, undefined, undefined, new DecodeError("too-large", `value of ${bytes.length} bytes exceeds maxPayloadBytes (${options.maxPayloadBytes}): not given to the legacy reader`));
    }
    return interpretLegacy(entity, options, bytes, key, fields, budget);
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
  if (header.absent) {
    // An absent marker of any revision of this message says the same: the loader found nothing.
    return result<T>(revision === undefined && entity.registry.get(id) !== undefined ? "wrong_type" : "absent", undefined, header, revision);
  }
  if (revision === entity.current) return decodeAs(entity, options, bytes, header, "hit", revision, budget, key, fields);
  if (revision !== undefined && revision.revision > entity.current.revision) {
    // A later locked revision (the schema was reverted): newer than this code, so read it like an unknown one.
    return decodeAs(entity, options, bytes, header, "unknown", undefined, budget, key, fields);
  }
  if (revision !== undefined) {
    if (options.onOlderRevision === "miss" || revision.revision < options.minRevision) {
      return result("rejected", undefined, header, revision);
    }
    return decodeAs(entity, options, bytes, header, "upgraded", revision, budget, key, fields);
  }
  if (entity.registry.get(id) !== undefined) return result<T>("wrong_type", undefined, header);
  // Same major, unknown ID: a newer revision. CI guarantees it is wire-compatible with ours.
  return decodeAs(entity, options, bytes, header, "unknown", undefined, budget, key, fields);
}

/** How an entry is rewritten in the current revision: the accessor's envelope options, with written-at whenever the entry has tags (they need it). */
function restampOptions(options: ResolvedOptions<unknown>, header: EnvelopeHeader): EnvelopeWriteOptions {
  const base = envelopeOptionsOf(options);
  return header.tags === undefined || base.writtenAt ? base : { ...base, writtenAt: true };
}

/**
 * True when `value`'s key fields are `fields` (the call's, which made the
 * key read). Compared field by field, which is cheaper than building the
 * value's key and says the same: key fields are strings, integers, bigints
 * and booleans, and the key of valid fields is a one-to-one function of them
 * (docs/reliability.md, "Keys").
 */
export function keyFieldsMatch(keyFields: readonly string[], value: unknown, fields: unknown): boolean {
  for (let i = 0; i < keyFields.length; i++) {
    const name = keyFields[i] as string;
    if ((value as Record<string, unknown>)[name] !== (fields as Record<string, unknown>)[name]) return false;
  }
  return true;
}

/** The key `value`'s own fields make, in the key space of `key` (made of `fields`); undefined, with why, when they make none. */
export function valueKeyOf<T, K>(entity: Entity<T, K>, value: T, key: string | undefined, fields: K): { key: string | undefined; cause: unknown } {
  try {
    const own = entity.key(value as unknown as K);
    const asked = entity.key(fields);
    const base = key !== undefined && key.endsWith(asked) ? key.slice(0, key.length - asked.length) : "";
    return { key: base + own, cause: undefined };
  } catch (cause) {
    return { key: undefined, cause };
  }
}

/** A decoded value for another key than the one read: a `key_mismatch` miss with its KeyMismatchError. */
function mismatch<T, K>(entity: Entity<T, K>, value: T, key: string | undefined, fields: K, header: EnvelopeHeader, revision: RevisionInfo<T> | undefined, work: number): Interpretation<T> {
  const own = valueKeyOf(entity, value, key, fields);
  return result<T>("key_mismatch", undefined, header, revision, new KeyMismatchError(key ?? "(unknown key)", own.key, own.cause, "entry"), undefined, work);
}

function decodeAs<T, K>(
  entity: Entity<T, K>,
  options: ResolvedOptions<T>,
  bytes: Buffer,
  header: EnvelopeHeader,
  outcome: "hit" | "upgraded" | "unknown",
  revision: RevisionInfo<T> | undefined,
  budget: number,
  key: string | undefined,
  fields: K | undefined,
): Interpretation<T> {
  const stored = bytes.length - header.payloadStart;
  if (stored > options.maxPayloadBytes) {
    // Checked before any work: an oversized payload is never decompressed nor decoded.
    const error = new DecodeError("too-large", `payload of ${stored} bytes exceeds maxPayloadBytes (${options.maxPayloadBytes})`, header.schemaId);
    return result("corrupt", undefined, header, revision, error);
  }
  // Decompressed bytes are charged first (the budget also caps how many decompression may produce); the
  // reader charges the rest, and until the finally below releases it, `charged + reader.workUsed()` is the work.
  let charged = 0;
  try {
    let payload = bytes;
    let start = header.payloadStart;
    if (header.compression !== "none") {
      const perUnit = header.compression === "brotli" ? Work.unbrotliedBytesPerUnit : Work.gunzippedBytesPerUnit;
      const cap = Math.min(options.maxPayloadBytes, budget * perUnit);
      try {
        payload = decompress(header.compression, bytes.subarray(start), cap, header.schemaId);
      } catch (error) {
        if (cap < options.maxPayloadBytes && error instanceof DecodeError && error.reason === "too-large") {
          return result("over_budget", undefined, header, revision, overBudget(options as ResolvedOptions<unknown>, budget, header.schemaId, "decompressing the payload", error), undefined, budget);
        }
        // A failed decompression did its work all the same (a bomb produced `cap` bytes, a stream with a bad
        // checksum or a truncated end all of its output): the corrupt read is charged the most it may have made.
        charged = Math.ceil(failedOutput(header.compression, stored, cap) / perUnit);
        throw error;
      }
      charged = Math.ceil(payload.length / perUnit);
      start = 0;
    }
    reader.reset(payload, start, payload.length, budget - charged);
    let value = entity.decode(reader, payload.length);
    const hook = outcome === "upgraded" && revision !== undefined ? migrationsOf(entity)?.upgrades?.[revision.revision] : undefined;
    // The revision's own view is taken before declared defaults fill the value.
    const old = hook === undefined ? undefined : view(revision as RevisionInfo<T>, value);
    (revision ?? entity.current).fill?.(value);
    if (hook === undefined) {
      if (fields !== undefined && !keyFieldsMatch(entity.keyFields, value, fields)) return mismatch(entity, value, key, fields, header, revision, charged + reader.workUsed());
      return result(outcome, value, header, revision, undefined, undefined, charged + reader.workUsed());
    }
    let envelope: Buffer;
    try {
      value = checkedResult(hook(old as never, value));
      // The hook's result is checked field by field now (the envelope write-back stores): never a mistyped value.
      // Written back with the entry's own written-at and tags: an upgrade changes neither its age nor what invalidates it.
      envelope = encodeEnvelope(writer, entity.current.schemaId, value, entity.encode, restampOptions(options, header), header.writtenAt ?? Date.now(), header.tags === undefined ? undefined : encodeTags(header.tags));
    } catch (error) {
      const cause = error instanceof FieldValueError ? new MigrationResultError(`field ${error.pathFrom(value) || "(value)"}: ${error.message}`, { cause: error }) : error;
      const failure = new UpgradeError(entity.typeName, key, `upgrades[${(revision as RevisionInfo<T>).revision}]`, cause);
      return result("upgrade_failed", undefined, header, revision, failure, undefined, charged + reader.workUsed());
    }
    // The value returned (and written back) is the hook's: its key fields are the ones compared.
    if (fields !== undefined && !keyFieldsMatch(entity.keyFields, value, fields)) return mismatch(entity, value, key, fields, header, revision, charged + reader.workUsed());
    return result(outcome, value, header, revision, undefined, envelope, charged + reader.workUsed());
  } catch (error) {
    if (error instanceof WorkBudgetError) {
      return result("over_budget", undefined, header, revision, overBudget(options as ResolvedOptions<unknown>, budget, header.schemaId, "decoding the payload", error), undefined, budget);
    }
    const failure =
      error instanceof DecodeError
        ? error
        : new DecodeError("payload", error instanceof Error ? error.message : String(error), header.schemaId, { cause: error });
    return result("corrupt", undefined, header, revision, failure, undefined, charged + reader.workUsed());
  } finally {
    reader.release();
  }
}

/** Deflate's largest ratio: one input byte never inflates to more than about 1032 output bytes (258-byte matches, each in under 2 bits). */
const DEFLATE_MAX_RATIO = 1032;

/**
 * The most a decompression that failed may have produced from `stored` bytes, given its `cap`: for gzip,
 * at most deflate's ratio times the input (a small damaged stream is charged little); for brotli, whose
 * ratio has no useful bound (113 bytes make 64 MiB), the cap.
 */
function failedOutput(compression: "gzip" | "brotli", stored: number, cap: number): number {
  return compression === "gzip" ? Math.min(cap, stored * DEFLATE_MAX_RATIO) : cap;
}

/** The value as an older revision wrote it (for its upgrade hook), keeping unknown fields. */
function view<T>(revision: RevisionInfo<T>, value: T): unknown {
  if (revision.view === undefined) return value;
  const old = revision.view(value) as object;
  copyUnknownFields(value as object, old);
  return old;
}

/** A hook's result must at least be an object, and not a Promise (the types say the rest; encoding checks it before any write); else a MigrationResultError. */
export function checkedResult<T>(value: T): T {
  if (typeof value !== "object" || value === null) throw new MigrationResultError(`expected the upgraded value (an object), got ${value === null ? "null" : typeof value}`);
  if (typeof (value as { then?: unknown }).then === "function") throw new MigrationResultError("got a Promise: migration functions are synchronous");
  return value;
}

/**
 * A non-envelope value: given to the legacy reader, made into a value of
 * the current type (declared defaults, the key's fields, every field
 * checked), encoded as the envelope adoption writes, and read back from it.
 */
function interpretLegacy<T, K>(entity: Entity<T, K>, options: ResolvedOptions<T>, bytes: Buffer, at: string | undefined, fields: K | undefined, budget: number): Interpretation<T> {
  const legacy = options.legacy;
  if (legacy === undefined) return result<T>("foreign", undefined);
  const key = at ?? "(unknown key)";
  let raw: unknown;
  // The default JSON reader's work is counted before parsing; a reader of the service's own is not.
  let work = 0;
  try {
    if (legacy.json) ({ value: raw, work } = parseJsonWithin(bytes, budget));
    else raw = legacy.read(bytes, key);
  } catch (error) {
    if (error instanceof WorkBudgetError) {
      return result<T>("over_budget", undefined, undefined, undefined, overBudget(options as ResolvedOptions<unknown>, budget, undefined, "the legacy JSON", error), undefined, budget);
    }
    return result<T>("legacy_rejected", undefined, undefined, undefined, new LegacyReaderError(key, error), undefined, work);
  }
  if (raw === undefined) return result<T>("foreign", undefined);
  let envelope: Buffer;
  let value: T | undefined;
  try {
    value = legacyValue(entity, raw, fields, key);
    envelope = encodeEnvelope(writer, entity.current.schemaId, value, entity.encode, envelopeOptionsOf(options as ResolvedOptions<unknown>), Date.now());
  } catch (error) {
    return result<T>("legacy_rejected", undefined, undefined, undefined, legacyEncodeError(key, value, error));
  }
  const read = interpret(entity, { ...options, legacy: undefined }, envelope, undefined, undefined, budget - work);
  work += read.work ?? 0;
  if (read.outcome === "over_budget") return { ...read, header: undefined, revision: undefined, work };
  if (read.outcome !== "hit") return result<T>("legacy_rejected", undefined, undefined, undefined, read.error ?? new LegacyValueError(key, `does not read back (${read.outcome})`), undefined, work);
  return result<T>("legacy", read.value, undefined, undefined, undefined, envelope, work);
}
