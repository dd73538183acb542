import { ConfigError } from "../errors.js";
import { deleteIfEqual, replaceIfEqual, type LuaScript } from "./lua.js";
import { isOne, scriptError } from "./scripts.js";

/**
 * How a store runs compare-and-set and compare-and-delete: `"auto"` uses
 * `SET key value IFEQ expected KEEPTTL` and `DELEX key IFEQ expected` where
 * every server has them (Redis 8.4+), Lua scripts elsewhere; `"lua"` always
 * uses the scripts.
 */
export type CompareMode = "auto" | "lua";

/** Options of the Redis stores. */
export interface RedisStoreOptions {
  /** Compare-and-set / compare-and-delete commands: detected (default `"auto"`) or always Lua. */
  readonly compare?: CompareMode;
}

/** Validates store options (a typo must not pass silently). */
export function compareModeOf(options: RedisStoreOptions | undefined): CompareMode {
  if (options === undefined) return "auto";
  if (typeof options !== "object" || options === null || Array.isArray(options)) throw new ConfigError("store options", `expected an object like { compare: "auto" }, got ${String(options)}`);
  for (const key of Object.keys(options)) if (key !== "compare") throw new ConfigError(`store options.${key}`, "unknown option; valid options are compare");
  const mode = options.compare ?? "auto";
  if (mode !== "auto" && mode !== "lua") throw new ConfigError("store options.compare", `expected "auto" or "lua", got ${String(mode)}`);
  return mode;
}

/** `COMMAND INFO DELEX`: the reply names the command on Redis 8.4+ (which added DELEX and SET's IFEQ together), `[null]` before. */
export const detectArgs = ["COMMAND", "INFO", "DELEX"] as const;

/** True when a `COMMAND INFO DELEX` reply describes the command. */
export function hasDelex(reply: unknown): boolean {
  return Array.isArray(reply) && reply.length === 1 && Array.isArray(reply[0]);
}

/** `SET key value IFEQ expected KEEPTTL`: replaced (OK) or left alone (nil); never creates a key. */
export function setIfEqualArgs(key: string, expected: Buffer, value: Buffer): (string | Buffer)[] {
  return ["SET", key, value, "IFEQ", expected, "KEEPTTL"];
}

/** `DELEX key IFEQ expected`: 1 deleted, 0 left alone. */
export function deleteIfEqualArgs(key: string, expected: Buffer): (string | Buffer)[] {
  return ["DELEX", key, "IFEQ", expected];
}

/** True for the replies of a server without IFEQ or DELEX (older than 8.4): switch to Lua. */
export function isUnsupported(error: unknown): boolean {
  return error instanceof Error && /^ERR (syntax error|unknown command)/i.test(error.message);
}

/**
 * Whether one store's connection has IFEQ: detected once, in the
 * background, the first time it matters (until then, and if detection
 * fails, calls use Lua: never a wait for detection). A server that answers
 * an IFEQ command with a syntax error (a failover to an older server, a
 * Cluster node not yet upgraded) switches the store back to Lua for good.
 */
export class CompareCommands {
  private state: "unknown" | "detecting" | "ifeq" | "lua";

  constructor(
    mode: CompareMode,
    /** Resolves true when every server the store talks to has IFEQ and DELEX; undefined when it cannot tell yet (no Cluster topology). */
    private readonly detect: () => Promise<boolean | undefined>,
  ) {
    this.state = mode === "lua" ? "lua" : "unknown";
  }

  /** What the store uses now: `"ifeq"`, `"lua"`, or `"unknown"` while detection has not finished. */
  get path(): "ifeq" | "lua" | "unknown" {
    return this.state === "detecting" ? "unknown" : this.state;
  }

  /** True when this call may use IFEQ; starts detection the first time. */
  useIfeq(): boolean {
    if (this.state === "unknown") {
      this.state = "detecting";
      this.detect().then(
        (yes) => {
          if (this.state === "detecting") this.state = yes === undefined ? "unknown" : yes ? "ifeq" : "lua";
        },
        () => {
          if (this.state === "detecting") this.state = "lua";
        },
      );
    }
    return this.state === "ifeq";
  }

  /** Resolves once detection has finished (tests and tools that want the IFEQ path at once). */
  async ready(): Promise<"ifeq" | "lua"> {
    this.useIfeq();
    while (this.state === "detecting") await new Promise((r) => setTimeout(r, 1));
    return this.state === "ifeq" ? "ifeq" : "lua";
  }


  /** The server refused IFEQ: Lua from now on. */
  fallBack(): void {
    this.state = "lua";
  }
}

/**
 * Runs `ifeq` when the connection has IFEQ, else (or when the server turns
 * out not to support it) `lua`.
 */
export function compareWith<R>(commands: CompareCommands, ifeq: () => Promise<R>, lua: () => Promise<R>): Promise<R> {
  if (!commands.useIfeq()) return lua();
  return ifeq().catch((error: unknown) => {
    if (!isUnsupported(error)) throw error;
    commands.fallBack();
    return lua();
  });
}

/** How one store reaches the server that owns a key: a raw command, or a script (mapped like `runScript`). */
export interface CompareTransport {
  raw(key: string, args: (string | Buffer)[]): Promise<unknown>;
  script(operation: string, script: LuaScript, key: string, args: (string | Buffer)[]): Promise<boolean>;
}

/** Compare-and-set keeping the TTL, by `SET … IFEQ` or the script; failures as StoreErrors. Shared by the Redis stores. */
export function replaceIfEqualOn(commands: CompareCommands, t: CompareTransport, key: string, expected: Buffer, value: Buffer): Promise<boolean> {
  return compareWith(
    commands,
    () => t.raw(key, setIfEqualArgs(key, expected, value)).then((r) => r !== null),
    () => t.script("CAS", replaceIfEqual, key, [expected, value]),
  ).catch((error: unknown) => {
    throw scriptError("CAS", key, error);
  });
}

/** Compare-and-delete, by `DELEX … IFEQ` or the script; failures as StoreErrors. Shared by the Redis stores. */
export function deleteIfEqualOn(commands: CompareCommands, t: CompareTransport, key: string, expected: Buffer): Promise<boolean> {
  return compareWith(
    commands,
    () => t.raw(key, deleteIfEqualArgs(key, expected)).then(isOne),
    () => t.script("CAD", deleteIfEqual, key, [expected]),
  ).catch((error: unknown) => {
    throw scriptError("CAD", key, error);
  });
}
