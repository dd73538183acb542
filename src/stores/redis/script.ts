import { createHash } from "node:crypto";
import { RedisReplyError, ScriptPermissionError, StoreError } from "../../errors.js";
import { isInsideScript, isNoPermission, isNoScript } from "./replies.js";
import type { Arg, Command, Reply, RedisTransport, ServerLink } from "./transport.js";

/**
 * A Lua script protocache runs, defined once (node-redis's `defineScript`
 * is the model): its source and SHA1, how many of its arguments are keys,
 * how its arguments are built and how its reply is read. One module per
 * script under `scripts/`; {@link ScriptRunner} runs them all.
 */
export interface RedisScript<A extends readonly unknown[], R> {
  /** Short name, for errors and docs. */
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
  /** The script's KEYS and ARGV for one call. */
  arguments(...input: A): { readonly keys: readonly Arg[]; readonly args: readonly Arg[] };
  /** The script's reply, read. */
  parse(reply: Reply): R;
}

/** Defines a script: computes its SHA1 once. */
export function defineScript<A extends readonly unknown[], R>(definition: Omit<RedisScript<A, R>, "sha1">): RedisScript<A, R> {
  return { ...definition, sha1: createHash("sha1").update(definition.source).digest("hex") };
}

/** `EVALSHA sha numkeys keys… args…`, or `EVAL source …` with `withSource`. */
export function scriptCommand(script: RedisScript<readonly never[], unknown>, keys: readonly Arg[], args: readonly Arg[], withSource = false): Command {
  return [withSource ? "EVAL" : "EVALSHA", withSource ? script.source : script.sha1, String(keys.length), ...keys, ...args];
}

type AnyScript = RedisScript<readonly never[], unknown>;

/** A script call inside a batch: position `i`'s command runs `script`. */
export interface ScriptCall {
  readonly script: AnyScript;
  readonly keys: readonly Arg[];
  readonly args: readonly Arg[];
}

/** A script call with its arguments built, for a batch. */
export function scriptCall<A extends readonly unknown[], R>(script: RedisScript<A, R>, ...input: A): ScriptCall {
  const { keys, args } = script.arguments(...input);
  return { script: script as unknown as AnyScript, keys, args };
}

/** How often a batch is sent again for scripts a server lacked (a failover during recovery can empty the cache again). */
const MAX_RECOVERY_ROUNDS = 3;

/**
 * Runs scripts on one store's servers, the only place that knows how a
 * script gets there: EVALSHA first; on NOSCRIPT, EVAL (one round trip,
 * also caching the script), or SCRIPT LOAD on every server then EVALSHA
 * when an ACL denies EVAL; a user whose ACL denies EVALSHA itself gets
 * EVAL from then on. Failures become StoreErrors, permission failures a
 * {@link ScriptPermissionError} naming the commands to allow. Batches
 * (pipelines of script calls) recover the same way: the scripts their
 * servers lacked are loaded and only those calls are sent again.
 */
export class ScriptRunner {
  /** EVALSHA was refused by the ACL: send EVAL from now on. */
  private evalOnly = false;

  constructor(private readonly transport: RedisTransport) {}

  /** One call of `script`, routed by its first key on a Cluster; the common case is one EVALSHA. */
  run<A extends readonly unknown[], R>(operation: string, script: RedisScript<A, R>, routeKey: string, ...input: A): Promise<R> {
    const { keys, args } = script.arguments(...input);
    const s = script as unknown as AnyScript;
    if (this.evalOnly) {
      return this.transport.send(routeKey, scriptCommand(s, keys, args, true)).then(
        (reply) => script.parse(reply),
        (error: unknown) => {
          throw scriptError(operation, routeKey, error);
        },
      );
    }
    return this.transport.send(routeKey, scriptCommand(s, keys, args)).then(
      (reply) => script.parse(reply),
      (error: unknown) => this.recover(operation, s, routeKey, keys, args, error).then((reply) => script.parse(reply)),
    );
  }

  /** The command of a script call in a batch (EVALSHA, or EVAL once EVALSHA is denied). */
  command(call: ScriptCall): Command {
    return scriptCommand(call.script, call.keys, call.args, this.evalOnly);
  }

  /**
   * After a batch: sends again (through `resend`, same routing) the calls
   * whose reply was NOSCRIPT, once the scripts they need are on the
   * servers (`link`: the one server the batch went to; every server when
   * undefined). `replies` is updated in place; a call still without its
   * script after a few rounds keeps its NOSCRIPT error.
   */
  async recoverBatch(replies: Reply[], calls: readonly (ScriptCall | undefined)[], resend: (positions: readonly number[], commands: readonly Command[]) => Promise<Reply[]>, link?: ServerLink): Promise<void> {
    for (let round = 0; round < MAX_RECOVERY_ROUNDS; round++) {
      // EVALSHA itself denied by the ACL: EVAL from now on, for these calls too.
      const denied = replies.flatMap((r, i) => (calls[i] !== undefined && isNoPermission(r) && !isInsideScript(r) && !this.evalOnly ? [i] : []));
      if (denied.length > 0) this.evalOnly = true;
      const missing = replies.flatMap((r, i) => (calls[i] !== undefined && (isNoScript(r) || denied.includes(i)) ? [i] : []));
      if (missing.length === 0) return;
      let withSource = this.evalOnly;
      if (!withSource) {
        // SCRIPT LOAD where the ACL allows it; else the calls go as EVAL, which carries the source.
        const scripts = [...new Set(missing.map((i) => (calls[i] as ScriptCall).script))];
        withSource = !(await this.load(scripts, link === undefined ? await this.transport.servers() : [link]));
      }
      const commands = missing.map((i) => scriptCommand((calls[i] as ScriptCall).script, (calls[i] as ScriptCall).keys, (calls[i] as ScriptCall).args, withSource));
      const again = await resend(missing, commands);
      missing.forEach((i, j) => (replies[i] = again[j]));
    }
  }

  /** The slow path of {@link run}, after EVALSHA failed with `first`. */
  private async recover(operation: string, script: AnyScript, routeKey: string, keys: readonly Arg[], args: readonly Arg[], first: unknown): Promise<Reply> {
    try {
      if (isNoPermission(first) && !isInsideScript(first)) {
        this.evalOnly = true;
        return await this.transport.send(routeKey, scriptCommand(script, keys, args, true));
      }
      if (!isNoScript(first)) throw first;
      try {
        return await this.transport.send(routeKey, scriptCommand(script, keys, args, true));
      } catch (error) {
        if (!isNoPermission(error) || isInsideScript(error)) throw error;
      }
      await this.load([script], await this.transport.servers(), true);
      return await this.transport.send(routeKey, scriptCommand(script, keys, args));
    } catch (error) {
      throw scriptError(operation, routeKey, error);
    }
  }

  /**
   * SCRIPT LOAD of `scripts` on `links`; false when the ACL denies it
   * (`strict`: throw that denial instead). Other failures throw.
   */
  private async load(scripts: readonly AnyScript[], links: readonly ServerLink[], strict = false): Promise<boolean> {
    const replies = (await Promise.all(links.map((l) => l.pipeline(scripts.map((s) => ["SCRIPT", "LOAD", s.source]))))).flat();
    const failed = replies.find((r) => r instanceof Error);
    if (failed === undefined) return true;
    if (isNoPermission(failed) && !strict) return false;
    throw failed;
  }
}

/** Wraps a script failure as the StoreError the accessor reports; permission failures say what to allow. */
export function scriptError(operation: string, key: string | undefined, error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const cause = error instanceof RedisReplyError && error.cause !== undefined ? error.cause : error;
  return isNoPermission(error) ? new ScriptPermissionError(operation, key, cause) : new StoreError(operation, key, { cause });
}
