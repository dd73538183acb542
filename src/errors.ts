import { describeKey } from "./describe-value.js";

/**
 * Every error protocache raises is a {@link ProtocacheError}: one small class
 * per failure mode, each carrying the context needed to act on it.
 */
export class ProtocacheError extends Error {
  override readonly name: string = "ProtocacheError";
}

/** An option passed to protocache is missing, of the wrong type or out of range. */
export class ConfigError extends ProtocacheError {
  override readonly name = "ConfigError";
  /** Dotted path of the offending option, e.g. `compression.minBytes`. */
  readonly option: string;

  constructor(option: string, message: string) {
    super(`invalid option ${option}: ${message}`);
    this.option = option;
  }
}

/** Key fields given to an accessor cannot form a key (missing, wrong type, empty). */
export class KeyError extends ProtocacheError {
  override readonly name = "KeyError";
  readonly entity: string;
  readonly field: string;

  constructor(entity: string, field: string, message: string) {
    super(`${entity} key field "${field}": ${message}`);
    this.entity = entity;
    this.field = field;
  }
}

/** A value could not be encoded: a field value that does not fit its proto type, a cycle, or a payload over `maxPayloadBytes`. */
export class EncodeError extends ProtocacheError {
  override readonly name = "EncodeError";
  readonly entity: string;
  readonly key: string | undefined;
  /** Path of the offending field inside the value, e.g. `client.ip` or `scopes[2]`, when one field is to blame. */
  readonly field: string | undefined;

  constructor(entity: string, key: string | undefined, message: string, options?: ErrorOptions, field?: string) {
    super(`cannot encode ${entity}${key === undefined ? "" : ` for ${describeKey(key)}`}: ${field === undefined ? "" : `field ${field}: `}${message}`, options);
    this.entity = entity;
    this.key = key;
    this.field = field;
  }
}

/** Why stored bytes could not be decoded. */
export type DecodeFailure =
  | "truncated"
  | "bad-magic"
  | "bad-version"
  | "bad-schema-id"
  | "bad-flags"
  | "bad-writer-tag"
  | "decompress"
  | "too-large"
  | "payload"
  /** Well-formed as far as read, but decoding it needs more work than the read's budget (`maxReadWork`) or what was left of its call's (`maxBatchWork`). */
  | "over-budget";

/** Stored bytes are not a readable envelope or payload; readers count these as `corrupt` misses (`over_budget` for reason `over-budget`). */
export class DecodeError extends ProtocacheError {
  override readonly name = "DecodeError";
  readonly reason: DecodeFailure;
  /** Schema ID from the header, when the header was readable. */
  readonly schemaId: number | undefined;

  constructor(reason: DecodeFailure, message: string, schemaId?: number, options?: ErrorOptions) {
    super(`cannot decode entry (${reason}): ${message}`, options);
    this.reason = reason;
    this.schemaId = schemaId;
  }
}

/** A schema ID is not in the schema lock this code was generated from. */
export class UnknownSchemaError extends ProtocacheError {
  override readonly name = "UnknownSchemaError";
  readonly schemaId: number;

  constructor(schemaId: number) {
    super(`schema ID 0x${schemaId.toString(16).padStart(8, "0")} is not in the schema lock (written by a newer deploy?)`);
    this.schemaId = schemaId;
  }
}

/** The store (Redis) failed or timed out; carries the key and the driver's error as `cause`. */
export class StoreError extends ProtocacheError {
  override readonly name: string = "StoreError";
  readonly operation: string;
  readonly key: string | undefined;

  constructor(operation: string, key: string | undefined, options: ErrorOptions) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`store ${operation}${key === undefined ? "" : ` ${describeKey(key)}`} failed: ${reason}`, options);
    this.operation = operation;
    this.key = key;
  }
}

/**
 * A store call outlived the accessor's `deadlineMs`: the read failed open
 * (or the write resolved `"error"`) without waiting for Redis; a late reply
 * is dropped.
 */
export class StoreTimeoutError extends StoreError {
  override readonly name = "StoreTimeoutError";
  /** The deadline that passed, in milliseconds. */
  readonly deadlineMs: number;

  constructor(operation: string, key: string | undefined, deadlineMs: number) {
    super(operation, key, { cause: new Error(`no reply within the ${deadlineMs} ms deadline`) });
    this.deadlineMs = deadlineMs;
  }
}

/** Redis commands a Redis ACL must allow for protocache's writes (see docs/operations.md). */
export const SCRIPT_ACL_HINT =
  "the Redis user must be allowed EVALSHA plus EVAL or SCRIPT LOAD, and inside the scripts GET, SET, GETRANGE and DEL on the cache's keys";

/**
 * Redis refused a guarded write, write-back or compare-and-delete because
 * the connection's ACL user may not run protocache's Lua scripts (or a
 * command inside them). The message names the commands to allow.
 */
export class ScriptPermissionError extends StoreError {
  override readonly name = "ScriptPermissionError";

  constructor(operation: string, key: string | undefined, cause: unknown) {
    super(operation, key, { cause });
    this.message = `${this.message} (${SCRIPT_ACL_HINT})`;
  }
}

/** A configured `legacy` reader threw; the value was a counted `legacy_rejected` miss. */
export class LegacyReaderError extends ProtocacheError {
  override readonly name = "LegacyReaderError";
  readonly key: string;

  constructor(key: string, cause: unknown) {
    super(`legacy reader threw for ${describeKey(key)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.key = key;
  }
}

/**
 * A service's migration code threw (or returned something that is not an
 * object): an upgrade hook of an older revision, or `fromPrevious` on a
 * read-through from the previous major. The read was a counted
 * `upgrade_failed` miss.
 */
export class UpgradeError extends ProtocacheError {
  override readonly name = "UpgradeError";
  readonly entity: string;
  readonly key: string | undefined;
  /** What ran: `upgrades[1]` or `fromPrevious`. */
  readonly hook: string;

  constructor(entity: string, key: string | undefined, hook: string, cause: unknown) {
    super(`${hook} of ${entity} failed${key === undefined ? "" : ` for ${key}`}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.entity = entity;
    this.key = key;
    this.hook = hook;
  }
}

/**
 * A legacy value (from before protocache) was converted, but does not fit
 * the current type: not an object, or a field of the wrong type. The read
 * was a counted `legacy_rejected` miss; nothing was written.
 */
export class LegacyValueError extends ProtocacheError {
  override readonly name = "LegacyValueError";
  readonly key: string;
  /** The offending field, when one field is to blame. */
  readonly field: string | undefined;

  constructor(key: string, message: string, field?: string, options?: ErrorOptions) {
    super(`legacy value at ${key} does not fit the current type: ${field === undefined ? "" : `field ${field}: `}${message}`, options);
    this.key = key;
    this.field = field;
  }
}
