import { FieldValueError } from "../codec/field-checks.js";
import { DEFAULT_READ_WORK } from "../codec/work.js";
import { LegacyValueError } from "../errors.js";
import type { Entity } from "./entity.js";
import { parseJsonWithin } from "./legacy-json.js";

/**
 * Where a cache from before protocache keeps its entries and how to read
 * them (the accessor option `legacy`). The accessor looks there on a miss,
 * converts what it finds to the current type (declared defaults for missing
 * fields; a wrong-typed field is a counted, reported `legacy_rejected`
 * miss, never a mistyped value), returns it, and writes it as an envelope at
 * its own key with the old key's expiry.
 *
 * @example
 * ```ts
 * const users = userCache(store, {
 *   legacy: { key: ({ id }) => `v3:user:${id}`, deleteOld: true },
 * });
 * ```
 */
export interface LegacySource<K, T = unknown> {
  /** The old key of an entry, from the typed key fields. Default: this accessor's own key. */
  readonly key?: (fields: K) => string;
  /** Shorthand for `key`: the old key is this prefix followed by the key fields' values joined by `:`. */
  readonly prefix?: string;
  /**
   * Turns stored bytes into a plain object with the current type's property
   * names (or undefined: not a legacy entry, a `foreign` miss), synchronously.
   * Default: UTF-8 JSON, refused before parsing when nested deeper than 32
   * levels (`legacy_rejected`) or costlier than `maxReadWork`
   * (`over_budget`). A reader of your own bounds its own work (what it
   * returns is then checked and decoded within the budget). A reader that
   * throws is reported and counted.
   */
  readonly read?: (bytes: Buffer, key: string) => LegacyObject<T> | undefined;
  /** Write converted values as envelopes at this accessor's key, keeping the old entry's expiry. Default true. */
  readonly adopt?: boolean;
  /** After adopting, delete the old key (only while it still holds the bytes read). Default false. */
  readonly deleteOld?: boolean;
}

/** What a legacy reader returns: an object with (some of) the current type's properties, each still to be checked. */
export type LegacyObject<T> = { readonly [P in keyof T]?: unknown } & { readonly then?: never } & object;

/** {@link LegacySource} with defaults applied. */
export interface ResolvedLegacy {
  /** Old key from the key fields; undefined: the accessor's own key. */
  readonly key: ((fields: unknown) => string) | undefined;
  readonly read: (bytes: Buffer, key: string) => unknown;
  /** `read` is the default JSON reader: the read path scans the text within its work budget first ({@link parseJsonWithin}). */
  readonly json: boolean;
  readonly adopt: boolean;
  readonly deleteOld: boolean;
}

/** The default legacy reader: UTF-8 JSON within the default work budget (the read path uses {@link parseJsonWithin} with its own). */
export function readJson(bytes: Buffer): unknown {
  return parseJsonWithin(bytes, DEFAULT_READ_WORK).value;
}

/**
 * Builds a current-type value from a legacy reader's output: the fields it
 * has (by property name), the declared default (else the zero value) for
 * each field it lacks or holds as `null`, the key fields of the key it was
 * read for. Fields are not checked here: the caller encodes the result
 * (the generated encoder checks every field; see {@link legacyEncodeError})
 * and decodes it back, so what a read returns is exactly what the codec
 * reads. Throws {@link LegacyValueError} for a value that is not an object.
 */
export function legacyValue<T, K>(entity: Entity<T, K>, raw: unknown, keyFields: K | undefined, key: string): T {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new LegacyValueError(key, `expected an object, got ${raw === null ? "null" : Array.isArray(raw) ? "an array" : typeof raw}`);
  }
  if (typeof (raw as { then?: unknown }).then === "function") {
    throw new LegacyValueError(key, "the legacy reader returned a Promise: readers are synchronous (decode the stored bytes, fetch nothing)");
  }
  if (entity.newValue === undefined) throw new LegacyValueError(key, `${entity.typeName} was generated without newValue: regenerate`);
  const value = entity.newValue() as Record<string, unknown>;
  const source = raw as Record<string, unknown>;
  const defaults = entity.defaults ?? {};
  for (const name of Object.keys(value)) {
    const given = Object.prototype.hasOwnProperty.call(source, name) ? source[name] : undefined;
    if (given !== undefined && given !== null) value[name] = given;
    else if (Object.prototype.hasOwnProperty.call(defaults, name)) value[name] = copyDefault(defaults[name]);
  }
  if (keyFields !== undefined) for (const name of entity.keyFields) value[name] = (keyFields as Record<string, unknown>)[name];
  return value as T;
}

/** The error for a legacy value the encoder refused, naming the offending field. */
export function legacyEncodeError(key: string, value: unknown, error: unknown): LegacyValueError {
  if (error instanceof LegacyValueError) return error;
  const field = error instanceof FieldValueError ? error.pathFrom(value) || undefined : undefined;
  return new LegacyValueError(key, error instanceof Error ? error.message : String(error), field, { cause: error });
}

function copyDefault(value: unknown): unknown {
  return value instanceof Uint8Array ? Uint8Array.from(value) : value;
}
