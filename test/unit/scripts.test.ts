import { describe, expect, it } from "vitest";
import { ScriptPermissionError, StoreError } from "../../src/errors.js";
import { guardedSet } from "../../src/stores/lua.js";
import { runScript, type ScriptTransport } from "../../src/stores/scripts.js";

/**
 * How a script reaches a server, apart from any server: the order of
 * EVALSHA, EVAL and SCRIPT LOAD for each reply Redis can give (the live
 * ACL cases are in test/integration/faults.test.ts).
 */
type Reply = "ok" | "NOSCRIPT" | "NOPERM" | "INSIDE" | "ERR";

function transport(replies: Partial<Record<"evalsha" | "eval" | "load", Reply[]>>): { t: ScriptTransport; calls: string[] } {
  const calls: string[] = [];
  const answer = (command: "evalsha" | "eval" | "load") => async () => {
    calls.push(command);
    const reply = replies[command]?.shift() ?? "ok";
    if (reply === "ok") return 1;
    const message = {
      NOSCRIPT: "NOSCRIPT No matching script. Please use EVAL.",
      NOPERM: `NOPERM this user has no permissions to run the '${command}' command`,
      INSIDE: "ERR The user executing the script can't run this command or subcommand script: abc",
      ERR: "ERR something else",
    }[reply];
    throw new Error(message);
  };
  return { t: { evalsha: answer("evalsha"), eval: answer("eval"), load: answer("load") }, calls };
}

const run = (t: ScriptTransport, state = { evalOnly: false }) => runScript(t, state, "SET", guardedSet, "k", [], (r) => r);

describe("sending a script the way the server and its ACL allow", () => {
  it.each<[string, Partial<Record<"evalsha" | "eval" | "load", Reply[]>>, string[]]>([
    ["cached: EVALSHA only", {}, ["evalsha"]],
    ["not cached: EVAL after NOSCRIPT", { evalsha: ["NOSCRIPT"] }, ["evalsha", "eval"]],
    ["not cached, EVAL denied: SCRIPT LOAD, then EVALSHA", { evalsha: ["NOSCRIPT"], eval: ["NOPERM"] }, ["evalsha", "eval", "load", "evalsha"]],
    ["EVALSHA denied: EVAL", { evalsha: ["NOPERM"] }, ["evalsha", "eval"]],
  ])("%s", async (_, replies, expected) => {
    const { t, calls } = transport(replies);
    expect(await run(t)).toBe(1);
    expect(calls).toEqual(expected);
  });

  it("remembers a denied EVALSHA: later calls go straight to EVAL", async () => {
    const state = { evalOnly: false };
    const first = transport({ evalsha: ["NOPERM"] });
    await run(first.t, state);
    const second = transport({});
    await run(second.t, state);
    expect(state.evalOnly).toBe(true);
    expect(second.calls).toEqual(["eval"]);
  });

  it.each<[string, Partial<Record<"evalsha" | "eval" | "load", Reply[]>>, string[]]>([
    ["every way denied", { evalsha: ["NOSCRIPT"], eval: ["NOPERM"], load: ["NOPERM"] }, ["evalsha", "eval", "load"]],
    ["a command inside the script denied", { evalsha: ["INSIDE"] }, ["evalsha"]],
    ["denied inside the script after EVAL", { evalsha: ["NOSCRIPT"], eval: ["INSIDE"] }, ["evalsha", "eval"]],
  ])("%s: a ScriptPermissionError naming the commands to allow, no further attempts", async (_, replies, expected) => {
    const { t, calls } = transport(replies);
    const error = await run(t).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptPermissionError);
    expect((error as Error).message).toMatch(/^store SET k failed: .*\(the Redis user must be allowed EVALSHA plus EVAL or SCRIPT LOAD/);
    expect(calls).toEqual(expected);
  });

  it("other errors are StoreErrors without a retry", async () => {
    const { t, calls } = transport({ evalsha: ["ERR"] });
    const error = await run(t).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).not.toBeInstanceOf(ScriptPermissionError);
    expect(calls).toEqual(["evalsha"]);
  });
});
