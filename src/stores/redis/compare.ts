import type { TrackingOptions } from "../../l1/redis-tracking.js";
import type { compareModes } from "../../validation/store-options.js";
import { isUnsupported } from "./replies.js";
import { scriptError, type ScriptRunner } from "./script.js";
import { compareAndDelete } from "./scripts/compare-and-delete.js";
import { compareAndSet } from "./scripts/compare-and-set.js";
import type { RedisTransport } from "./transport.js";

/**
 * How a store runs compare-and-set and compare-and-delete: `"auto"` uses
 * `SET key value IFEQ expected KEEPTTL` and `DELEX key IFEQ expected` where
 * every server has them (Redis 8.4+), Lua scripts elsewhere; `"lua"` always
 * uses the scripts.
 */
export type CompareMode = (typeof compareModes)[number];

/** Options of the Redis stores (checked by `storeOptionsOf`, src/validation/). */
export interface RedisStoreOptions {
  /** Compare-and-set / compare-and-delete commands: detected (default `"auto"`) or always Lua. */
  readonly compare?: CompareMode;
  /** Redis tracking of an accessor's L1 (`l1` option; docs/l1.md): heartbeat and reconnection. */
  readonly tracking?: TrackingOptions;
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

/** Resolves true when every server of `transport` has IFEQ and DELEX; undefined while a Cluster's topology is unknown. */
export async function detectIfeq(transport: RedisTransport): Promise<boolean | undefined> {
  const servers = await transport.servers();
  if (servers.length === 0) return undefined;
  const replies = await Promise.all(servers.map((s) => s.pipeline([[...detectArgs]])));
  return replies.every(([reply]) => hasDelex(reply));
}

/** Compare-and-set keeping the TTL, by `SET … IFEQ` or the script; failures as StoreErrors. */
export function replaceIfEqualOn(commands: CompareCommands, t: RedisTransport, scripts: ScriptRunner, key: string, expected: Buffer, value: Buffer): Promise<boolean> {
  return compareWith(
    commands,
    () => t.send(key, setIfEqualArgs(key, expected, value)).then((r) => r !== null),
    () => scripts.run("CAS", compareAndSet, key, key, expected, value),
  ).catch((error: unknown) => {
    throw scriptError("CAS", key, error);
  });
}

/** Compare-and-delete, by `DELEX … IFEQ` or the script; failures as StoreErrors. */
export function deleteIfEqualOn(commands: CompareCommands, t: RedisTransport, scripts: ScriptRunner, key: string, expected: Buffer): Promise<boolean> {
  return compareWith(
    commands,
    () => t.send(key, deleteIfEqualArgs(key, expected)).then((r) => r === 1),
    () => scripts.run("CAD", compareAndDelete, key, key, expected),
  ).catch((error: unknown) => {
    throw scriptError("CAD", key, error);
  });
}
