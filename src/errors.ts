import { describeKey, describeValue } from "./describe-value.js";

/**
 * Every error protocache raises is a {@link ProtocacheError}: one small class
 * per failure mode, each carrying the context needed to act on it.
 */
export class ProtocacheError extends Error {
  override readonly name: string = "ProtocacheError";
}

/** What a {@link ConfigError} knows beyond its message, for tools that word it their own way (the CLI). */
export interface ConfigErrorDetails {
  /** The valid form, e.g. `a whole number from 1 to 100000`. */
  readonly expected: string;
  /** A likely fix, e.g. `did you mean dryRun?`. */
  readonly hint?: string | undefined;
}

/**
 * An option passed to protocache is unknown (misspelt), missing, of the
 * wrong type or out of range: raised by the one validation module
 * (`protocache/tools`) before anything runs.
 */
export class ConfigError extends ProtocacheError {
  override readonly name = "ConfigError";
  /** Dotted path of the offending option, e.g. `compression.minBytes`. */
  readonly option: string;
  /** The message without the `invalid option <option>: ` lead. */
  readonly reason: string;
  /** The valid form, when the check knows one. */
  readonly expected: string | undefined;
  /** A likely fix (the closest valid name of a misspelt option, a corrected value), when there is one. */
  readonly hint: string | undefined;

  constructor(option: string, message: string, details?: ConfigErrorDetails) {
    super(`invalid option ${option}: ${message}`);
    this.option = option;
    this.reason = message;
    this.expected = details?.expected;
    this.hint = details?.hint;
  }
}

/** Data handed to an operation is not what it reads: read counts that are neither `stats()` snapshots, a `{ "0x…": n }` map nor a Prometheus result. */
export class ReadCountsError extends ProtocacheError {
  override readonly name = "ReadCountsError";
  /** Where in the data the problem is, e.g. `[1].readsBySchemaId` or `0xnothex`; empty for the whole. */
  readonly at: string;

  constructor(at: string, message: string) {
    super(`read counts${at === "" ? "" : ` at ${at}`}: ${message}`);
    this.at = at;
  }
}

/** Which part of a cleanup selection reached live entries. */
export type LiveSelector = "all" | "schemaIds" | "legacy";

/**
 * A cleanup (or its dry run) would delete entries that code still reads or
 * writes, and was not told to with `includeLive: true`: nothing was deleted
 * or counted. Live: the key space of an accessor, and a key space named
 * without `retired: true`; what is selected there: everything (`all`), the
 * revision it writes now (`schemaIds`, `revisions`), or legacy values an
 * accessor's `legacy` reader reads at its own keys (`legacy`).
 */
export class LiveDataError extends ProtocacheError {
  override readonly name = "LiveDataError";
  /** The key space, e.g. `user:v1:`. */
  readonly namespace: string;
  /** Full name of the key space's message, when known. */
  readonly typeName: string | undefined;
  /** The selection that reached live entries. */
  readonly selector: LiveSelector;
  /** The schema IDs the key space is written with now (the ones selected, for `schemaIds`). */
  readonly schemaIds: readonly number[];
  /** Why the key space is live, e.g. `the accessor given reads and writes it`. */
  readonly reason: string;

  constructor(namespace: string, typeName: string | undefined, selector: LiveSelector, schemaIds: readonly number[], reason: string) {
    const ids = schemaIds.map((id) => `0x${id.toString(16).padStart(8, "0")}`).join(", ");
    const what =
      selector === "all" ? `all: true would delete every entry of ${namespace}*, the revision written now (${ids || "unknown"}) included`
      : selector === "schemaIds" ? `${ids} ${schemaIds.length === 1 ? "is" : "are"} the revision ${namespace}* is written with now: its entries would only be written again`
      : `legacy: true would delete the values the accessor's legacy reader reads at its own keys`;
    super(
      `cleanup refused, nothing deleted: ${what}; ${typeName ?? namespace} is live (${reason}). ` +
        "Pass includeLive: true to delete live entries on purpose; for a major no code reads any more, retire it (protocache retire <message>) and name its key space with retired: true",
    );
    this.namespace = namespace;
    this.typeName = typeName;
    this.selector = selector;
    this.schemaIds = schemaIds;
    this.reason = reason;
  }
}

/**
 * A service's migration function (an upgrade hook, `fromPrevious`,
 * `toPrevious`) returned something that is not a value of the type: not an
 * object, a Promise (migration functions are synchronous), or a field that
 * does not fit its proto type. Reported as the cause of an
 * {@link UpgradeError}.
 */
export class MigrationResultError extends ProtocacheError {
  override readonly name = "MigrationResultError";
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

/**
 * A generated JSON codec (`fromJsonX`, `toJsonX`) refused a value: JSON
 * input that does not follow the proto3 JSON mapping for its field, or a
 * value with no JSON form. `path` names the field, e.g. `client.ip`,
 * `scopes[2]` or `attributes["k"]`; "" is the value itself.
 */
export class JsonError extends ProtocacheError {
  override readonly name = "JsonError";
  /** Which direction failed. */
  readonly direction: "fromJson" | "toJson";
  /** Path of the offending field, in JSON names as given (`fromJson`) or property names (`toJson`). */
  readonly path: string;
  /** The message without the path lead. */
  readonly reason: string;

  constructor(direction: "fromJson" | "toJson", path: string, reason: string) {
    super(`${direction === "fromJson" ? "invalid JSON" : "cannot write JSON"}${path === "" ? "" : ` at ${path}`}: ${reason}`);
    this.direction = direction;
    this.path = path;
    this.reason = reason;
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
  /** A tag count or tag length out of range (docs/envelope.md). */
  | "bad-tags"
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

/**
 * A tag's or key space's invalidation state (docs/invalidation.md) holds
 * something that is not epoch milliseconds: every entry it covers is a
 * miss until it is set again (`invalidateTags`, `clear()`).
 */
export class InvalidationStateError extends ProtocacheError {
  override readonly name = "InvalidationStateError";
  readonly key: string;

  constructor(key: string) {
    super(`invalidation state ${key} is not epoch milliseconds: entries it covers are misses until it is set again`);
    this.key = key;
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

/**
 * One command's error reply from a Redis server (`-ERR …`, NOSCRIPT,
 * MOVED, OOM, …), as every client transport hands it to the Redis store
 * inside a batch: the message is the server's text, `cause` the client
 * library's own error. Tells an answer of the server from a connection
 * failure, whatever the client.
 */
export class RedisReplyError extends ProtocacheError {
  override readonly name = "RedisReplyError";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }

  /** `error` as a RedisReplyError (kept when it is one), with its message. */
  static of(error: Error): RedisReplyError {
    return error instanceof RedisReplyError ? error : new RedisReplyError(error.message, { cause: error });
  }
}

/**
 * A Redis reply had a shape protocache did not expect (a script's or a
 * command's reply of the wrong type or length): a server or proxy that
 * does not speak what protocache sent, or a bug. Names what was expected.
 */
export class UnexpectedReplyError extends ProtocacheError {
  override readonly name = "UnexpectedReplyError";
}

/**
 * A server a walking operation (migrate, census, cleanup) works on stopped
 * answering and did not come back within `retryForMs`: the operation gave
 * up (a checkpoint, if given, resumes it).
 */
export class ServerUnreachableError extends StoreError {
  override readonly name = "ServerUnreachableError";
  /** The server's id (`host:port`). */
  readonly node: string;
  /** How long it was retried, in milliseconds. */
  readonly retriedMs: number;

  constructor(operation: string, node: string, retriedMs: number, cause: unknown) {
    super(operation, undefined, { cause });
    this.node = node;
    this.retriedMs = retriedMs;
    this.message = `${operation}: server ${node} did not answer for ${retriedMs} ms: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
}

/**
 * A batch of a walking operation failed in a way worth retrying (the
 * server was unreachable, restarting, loading or failing over): the walk
 * sends it again once the server answers. Internal to the operations.
 */
export class RetryableBatchError extends ProtocacheError {
  override readonly name = "RetryableBatchError";
}

/** The protobuf time type a {@link TimeValueError} or {@link TimePrecisionError} is about. */
export type TimeType = "Timestamp" | "Duration";

/**
 * A time helper (`timestampFromDate`, `timestampToMillis`,
 * `durationFromMillis`, ...) was given a value that is not valid, or that
 * the other side cannot hold: an invalid `Date`, milliseconds that are not
 * a whole number, a time outside the `google.protobuf.Timestamp` range
 * (0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z), a Timestamp's
 * nanos outside 0 to 999 999 999, a `google.protobuf.Duration` beyond
 * ±315 576 000 000 seconds (10 000 years), nanos outside ±999 999 999 or
 * of the other sign than its seconds. Nothing is clamped or wrapped.
 *
 * @example
 * ```ts
 * try {
 *   timestampFromDate(new Date("not a date"));
 * } catch (error) {
 *   if (error instanceof TimeValueError) console.log(error.type, error.field, error.expected); // "Timestamp" undefined "a valid Date …"
 * }
 * ```
 */
export class TimeValueError extends ProtocacheError {
  override readonly name = "TimeValueError";
  /** The Timestamp or Duration being made or read. */
  readonly type: TimeType;
  /** The offending field of the Timestamp or Duration given (`seconds`, `nanos`); undefined when the input as a whole is at fault (a Date, milliseconds, not an object). */
  readonly field: "seconds" | "nanos" | undefined;
  /** The valid form, e.g. `a whole number from 0 to 999999999`. */
  readonly expected: string;
  /** The value refused. */
  readonly value: unknown;

  constructor(type: TimeType, field: "seconds" | "nanos" | undefined, expected: string, value: unknown) {
    super(`${field === undefined ? type : `${type}.${field}`}: expected ${expected}, got ${value instanceof Date ? `Date ${Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()}` : describeValue(value)}`);
    this.type = type;
    this.field = field;
    this.expected = expected;
    this.value = value;
  }
}

/**
 * A Timestamp or Duration holds a fraction of a millisecond (its nanos are
 * not a whole number of milliseconds) and was converted to milliseconds or
 * a `Date` without a rounding mode: the conversion would lose it, so it
 * refuses to choose. Pass `{ round }` (`"floor"`, `"ceil"`, `"trunc"`,
 * `"halfExpand"`, ...; see `TimeRounding`) to say how.
 *
 * @example
 * ```ts
 * const ts = { seconds: 1n, nanos: 1_500_000 };  // 1.0015 s after the epoch
 * timestampToMillis(ts);                          // throws TimePrecisionError (lostNanos 500000)
 * timestampToMillis(ts, { round: "floor" });      // 1001
 * ```
 */
export class TimePrecisionError extends ProtocacheError {
  override readonly name = "TimePrecisionError";
  /** The Timestamp or Duration converted. */
  readonly type: TimeType;
  /** The value's `nanos`. */
  readonly nanos: number;
  /** The part below a millisecond that would be lost, in nanoseconds: `nanos % 1_000_000` (negative for a negative Duration). */
  readonly lostNanos: number;

  constructor(type: TimeType, nanos: number, target: "milliseconds" | "a Date") {
    const lost = (nanos % 1_000_000) + 0;
    super(
      `${type} with nanos ${nanos} has ${lost} ns below a millisecond, which ${target} cannot hold: pass { round: "floor" } (or "ceil", "trunc", "halfExpand", …) to say how to round it`,
    );
    this.type = type;
    this.nanos = nanos;
    this.lostNanos = lost;
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

/**
 * A load (`getOrSet`, `getManyOrSet`) passed its `hardTimeoutMs`: the
 * loader's `signal` was aborted with this error, and callers without a stale
 * value to fall back on were rejected with it. Nothing was cached.
 */
export class LoadTimeoutError extends ProtocacheError {
  override readonly name = "LoadTimeoutError";
  readonly key: string;
  readonly timeoutMs: number;

  constructor(key: string, timeoutMs: number) {
    super(`the loader of ${describeKey(key)} did not finish within hardTimeoutMs (${timeoutMs} ms)`);
    this.key = key;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A loader failed where nobody was waiting for it (a background refresh), or
 * where a stale value was returned instead (fail-safe): handed to `onError`
 * with the loader's own error as `cause`. A caller without a stale value gets
 * the loader's error itself, unchanged.
 */
export class LoaderError extends ProtocacheError {
  override readonly name = "LoaderError";
  readonly key: string;

  constructor(key: string, cause: unknown) {
    super(`the loader of ${describeKey(key)} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.key = key;
  }
}

/**
 * A value whose key fields make another key than the one it belongs to:
 *
 * - `origin: "loader"`: a loader returned it for another key than the one
 *   asked for; it was returned to the caller but not cached (it would have
 *   landed under a key nobody asked for, or been served for the wrong one);
 * - `origin: "entry"`: an entry read at `key` (or, read through, converted
 *   for it from the previous major) decodes to it, e.g. bytes copied
 *   between keys by a script, or an upgrade hook or `fromPrevious` that
 *   changed key fields; the read was a `key_mismatch` miss, nothing was
 *   returned, written back or copied.
 */
export class KeyMismatchError extends ProtocacheError {
  override readonly name = "KeyMismatchError";
  readonly key: string;
  /** The key the value's own fields make, or undefined when they make none (invalid key fields). */
  readonly valueKey: string | undefined;
  /** Where the value came from: a loader, or an entry in the cache. */
  readonly origin: "loader" | "entry";

  constructor(key: string, valueKey: string | undefined, cause?: unknown, origin: "loader" | "entry" = "loader") {
    const value = valueKey === undefined ? "a value without valid key fields" : `a value for ${describeKey(valueKey)}`;
    super(
      origin === "loader" ? `the loader of ${describeKey(key)} returned ${value}: returned, not cached` : `the entry read for ${describeKey(key)} holds ${value}: a key_mismatch miss, not returned`,
      cause === undefined ? undefined : { cause },
    );
    this.key = key;
    this.valueKey = valueKey;
    this.origin = origin;
  }
}

/** A `getManyOrSet` loader returned something other than an array with one entry (a value or undefined) per key it was given. */
export class LoaderResultError extends ProtocacheError {
  override readonly name = "LoaderResultError";
}

/** A call on an accessor after its `close()`: the accessor no longer reads, writes or loads. */
export class AccessorClosedError extends ProtocacheError {
  override readonly name = "AccessorClosedError";

  constructor(entity: string, call: string) {
    super(`${call} on the ${entity} accessor after close(): create a new accessor`);
  }
}

/**
 * A loader's context (`setTtl`, `setGrace`, `skip`, `entry(i)`) was used
 * after its load had settled (the loader returned or threw, or the load
 * passed `hardTimeoutMs` and was given up): the call did nothing. Handed to
 * `onError`, never thrown (a late call often runs where nothing catches it).
 */
export class LoadContextError extends ProtocacheError {
  override readonly name = "LoadContextError";
  readonly key: string;
  /** The context method that was called late, e.g. `setTtl`. */
  readonly call: string;

  constructor(key: string, call: string) {
    super(`context.${call}() of the loader of ${describeKey(key)} called after its load settled: ignored (call it before the loader returns)`);
    this.key = key;
    this.call = call;
  }
}
