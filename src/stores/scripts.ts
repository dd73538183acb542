import { ScriptPermissionError, StoreError } from "../errors.js";
import type { LuaScript } from "./lua.js";
import type { SetOutcome, StoreWrite, WriteGuard } from "./store.js";

/** The three ways a store can get a script run by one Redis server; each store maps them onto its client. */
export interface ScriptTransport {
  /** `EVALSHA sha 1 key ...args`. */
  evalsha(script: LuaScript, key: string, args: readonly (string | Buffer)[]): Promise<unknown>;
  /** `EVAL source 1 key ...args` (also caches the script on that server). */
  eval(script: LuaScript, key: string, args: readonly (string | Buffer)[]): Promise<unknown>;
  /** `SCRIPT LOAD source` on the server that owns `key` (every master, where the client cannot tell). */
  load(script: LuaScript, key: string): Promise<unknown>;
}

/** True for Redis's NOSCRIPT reply: the server has not cached the script (restart, SCRIPT FLUSH, new node). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}

/** True when an ACL refused a command, directly (NOPERM) or inside a script. */
export function isNoPermission(error: unknown): boolean {
  return error instanceof Error && (error.message.startsWith("NOPERM") || error.message.includes("can't run this command"));
}

/**
 * Runs a script by SHA and, when the server does not have it, sends it the
 * way the ACL allows: EVAL (one round trip, as node-redis and ioredis do),
 * else SCRIPT LOAD then EVALSHA. A store whose ACL denies EVALSHA itself
 * switches to EVAL for good (`state.evalOnly`). Any failure becomes a
 * StoreError; permission failures a {@link ScriptPermissionError} naming
 * the commands to allow. The common case costs one EVALSHA and one `then`
 * (which also maps the reply with `map`).
 */
export function runScript<R>(
  transport: ScriptTransport,
  state: { evalOnly: boolean },
  operation: string,
  script: LuaScript,
  key: string,
  args: readonly (string | Buffer)[],
  map: (reply: unknown) => R,
): Promise<R> {
  if (state.evalOnly) {
    return transport.eval(script, key, args).then(map, (error: unknown) => {
      throw scriptError(operation, key, error);
    });
  }
  return transport.evalsha(script, key, args).then(map, (error: unknown) => recover(transport, state, operation, script, key, args, error).then(map));
}

/** The slow path of {@link runScript}, after EVALSHA failed with `first`. */
async function recover(
  transport: ScriptTransport,
  state: { evalOnly: boolean },
  operation: string,
  script: LuaScript,
  key: string,
  args: readonly (string | Buffer)[],
  first: unknown,
): Promise<unknown> {
  try {
    if (isNoPermission(first) && !isInsideScript(first)) {
      state.evalOnly = true;
      return await transport.eval(script, key, args);
    }
    if (!isNoScript(first)) throw first;
    try {
      return await transport.eval(script, key, args);
    } catch (error) {
      if (!isNoPermission(error) || isInsideScript(error)) throw error;
    }
    await transport.load(script, key);
    return await transport.evalsha(script, key, args);
  } catch (error) {
    throw scriptError(operation, key, error);
  }
}

/** Wraps a script failure as the StoreError the accessor reports; permission failures say what to allow. */
export function scriptError(operation: string, key: string | undefined, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  return isNoPermission(error) ? new ScriptPermissionError(operation, key, error) : new StoreError(operation, key, { cause: error });
}

function isInsideScript(error: unknown): boolean {
  return error instanceof Error && error.message.includes("can't run this command");
}

/** The guard script's reply: 0 refused, 2 refused and the entry deleted, 1 stored. */
export function guardOutcome(reply: unknown): SetOutcome {
  return reply === 0 ? "guarded" : reply === 2 ? "invalidated" : "written";
}

/** The guard script's arguments after the key: value, TTL, known IDs and the delete flag. */
export function guardArgs(w: StoreWrite, guard: WriteGuard): (string | Buffer)[] {
  return guard.invalidate === true ? [w.value, String(w.ttlSeconds), guard.knownIds, "1"] : [w.value, String(w.ttlSeconds), guard.knownIds];
}

/** Maps any SET reply to "written". */
export function written(): "written" {
  return "written";
}

/** The compare-and-set and compare-and-delete scripts' reply: 1 done, 0 left alone. */
export function isOne(reply: unknown): boolean {
  return reply === 1;
}
