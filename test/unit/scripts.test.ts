import { describe, expect, it } from "vitest";
import { RedisReplyError, ScriptPermissionError, StoreError } from "../../src/errors.js";
import { scriptCall, ScriptRunner } from "../../src/stores/redis/script.js";
import { guardedSet } from "../../src/stores/redis/scripts/guarded-set.js";
import type { Command, RedisTransport } from "../../src/stores/redis/transport.js";

/**
 * How a script reaches a server, apart from any server: the order of
 * EVALSHA, EVAL and SCRIPT LOAD for each reply Redis can give, over a
 * transport that answers from a script of replies (the live ACL cases are
 * in test/integration/faults.test.ts).
 */
type Reply = "ok" | "NOSCRIPT" | "NOPERM" | "INSIDE" | "ERR";
type Step = "evalsha" | "eval" | "load";

const messages: Record<Exclude<Reply, "ok">, (command: string) => string> = {
  NOSCRIPT: () => "NOSCRIPT No matching script. Please use EVAL.",
  NOPERM: (command) => `NOPERM this user has no permissions to run the '${command}' command`,
  INSIDE: () => "ERR The user executing the script can't run this command or subcommand script: abc",
  ERR: () => "ERR something else",
};

function stepOf(command: Command): Step {
  return command[0] === "EVALSHA" ? "evalsha" : command[0] === "EVAL" ? "eval" : "load";
}

function transport(replies: Partial<Record<Step, Reply[]>>): { t: RedisTransport; calls: string[] } {
  const calls: string[] = [];
  const answer = (command: Command): unknown => {
    const step = stepOf(command);
    calls.push(step);
    const reply = replies[step]?.shift() ?? "ok";
    return reply === "ok" ? (step === "load" ? guardedSet.sha1 : 1) : new RedisReplyError(messages[reply](step));
  };
  const t: RedisTransport = {
    client: "test",
    cluster: false,
    send: async (_key, command) => {
      const r = answer(command);
      if (r instanceof Error) throw r;
      return r;
    },
    batch: async (_keys, commands) => commands.map(answer),
    serverOf: () => "server",
    servers: async () => [{ id: "server", pipeline: async (commands) => commands.map(answer) }],
  };
  return { t, calls };
}

const write = { key: "k", value: Buffer.from("v"), ttlSeconds: 0 };
const guard = { knownIds: Buffer.alloc(4) };
const run = (runner: ScriptRunner) => runner.run("SET", guardedSet, "k", write, guard);

describe("sending a script the way the server and its ACL allow", () => {
  it.each<[string, Partial<Record<Step, Reply[]>>, string[]]>([
    ["cached: EVALSHA only", {}, ["evalsha"]],
    ["not cached: EVAL after NOSCRIPT", { evalsha: ["NOSCRIPT"] }, ["evalsha", "eval"]],
    ["not cached, EVAL denied: SCRIPT LOAD, then EVALSHA", { evalsha: ["NOSCRIPT"], eval: ["NOPERM"] }, ["evalsha", "eval", "load", "evalsha"]],
    ["EVALSHA denied: EVAL", { evalsha: ["NOPERM"] }, ["evalsha", "eval"]],
  ])("%s", async (_, replies, expected) => {
    const { t, calls } = transport(replies);
    expect(await run(new ScriptRunner(t))).toBe("written");
    expect(calls).toEqual(expected);
  });

  it("remembers a denied EVALSHA: later calls go straight to EVAL", async () => {
    const replies: Partial<Record<Step, Reply[]>> = { evalsha: ["NOPERM"] };
    const { t, calls } = transport(replies);
    const runner = new ScriptRunner(t);
    await run(runner);
    calls.length = 0;
    await run(runner);
    expect(calls).toEqual(["eval"]);
  });

  it.each<[string, Partial<Record<Step, Reply[]>>, string[]]>([
    ["every way denied", { evalsha: ["NOSCRIPT"], eval: ["NOPERM"], load: ["NOPERM"] }, ["evalsha", "eval", "load"]],
    ["a command inside the script denied", { evalsha: ["INSIDE"] }, ["evalsha"]],
    ["denied inside the script after EVAL", { evalsha: ["NOSCRIPT"], eval: ["INSIDE"] }, ["evalsha", "eval"]],
  ])("%s: a ScriptPermissionError naming the commands to allow, no further attempts", async (_, replies, expected) => {
    const { t, calls } = transport(replies);
    const error = await run(new ScriptRunner(t)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScriptPermissionError);
    expect((error as Error).message).toMatch(/^store SET k failed: .*\(the Redis user must be allowed EVALSHA plus EVAL or SCRIPT LOAD/);
    expect(calls).toEqual(expected);
  });

  it("other errors are StoreErrors without a retry", async () => {
    const { t, calls } = transport({ evalsha: ["ERR"] });
    const error = await run(new ScriptRunner(t)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreError);
    expect(error).not.toBeInstanceOf(ScriptPermissionError);
    expect(calls).toEqual(["evalsha"]);
  });
});

describe("a batch of script calls recovers the scripts its server lacked", () => {
  const calls3 = [0, 1, 2].map((i) => scriptCall(guardedSet, { ...write, key: `k${i}` }, guard));

  async function batch(replies: Partial<Record<Step, Reply[]>>): Promise<{ out: unknown[]; calls: string[] }> {
    const { t, calls } = transport(replies);
    const runner = new ScriptRunner(t);
    const commands = calls3.map((c) => runner.command(c));
    const out = await t.batch([], commands);
    await runner.recoverBatch(out, calls3, (_positions, again) => t.batch([], again));
    return { out, calls };
  }

  it.each<[string, Partial<Record<Step, Reply[]>>, string[]]>([
    ["every call cached: one round", {}, ["evalsha", "evalsha", "evalsha"]],
    ["two lacked it: SCRIPT LOAD, then only those two again by EVALSHA", { evalsha: ["NOSCRIPT", "ok", "NOSCRIPT"] }, ["evalsha", "evalsha", "evalsha", "load", "evalsha", "evalsha"]],
    ["SCRIPT LOAD denied: those calls again as EVAL", { evalsha: ["NOSCRIPT"], load: ["NOPERM"] }, ["evalsha", "evalsha", "evalsha", "load", "eval"]],
    ["EVALSHA denied: EVAL for those calls, no SCRIPT LOAD", { evalsha: ["NOPERM", "NOPERM", "NOPERM"] }, ["evalsha", "evalsha", "evalsha", "eval", "eval", "eval"]],
  ])("%s", async (_, replies, expected) => {
    const { out, calls } = await batch(replies);
    expect(out).toEqual([1, 1, 1]);
    expect(calls).toEqual(expected);
  });

  it("a call whose script never arrives keeps its NOSCRIPT error after three rounds", async () => {
    const { out, calls } = await batch({ evalsha: Array<Reply>(10).fill("NOSCRIPT").map((r, i) => (i === 1 ? "ok" : r)) });
    expect(out[1]).toBe(1);
    expect((out[0] as Error).message).toMatch(/^NOSCRIPT/);
    expect(calls.filter((c) => c === "load")).toHaveLength(3);
  });
});
