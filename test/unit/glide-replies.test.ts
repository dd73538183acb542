import { describe, expect, it } from "vitest";
import { RedisReplyError as ReplyError } from "../../src/errors.js";
import { isClientError, mapError, mapReply, serverText } from "../../src/stores/valkey-glide/replies.js";

/**
 * The reply mapping of the Valkey GLIDE transport, on the message forms
 * GLIDE's core (redis-rs) prints; the integration test
 * (glide-transport.test.ts) proves the common ones against real servers,
 * these are the forms a server rarely provokes.
 */
describe("valkey-glide replies", () => {
  it("serverText turns every redis-rs error form back into the server's text", () => {
    const cases: [string, string][] = [
      ["An error was signalled by the server: - NoScriptError: No matching script. Please use EVAL.", "NOSCRIPT No matching script. Please use EVAL."],
      ["An error was signalled by the server: - ResponseError: unknown command 'X'", "ERR unknown command 'X'"],
      ["An error was signalled by the server: - PermissionDenied: this user has no permissions to run the 'eval' command", "NOPERM this user has no permissions to run the 'eval' command"],
      ["An error was signalled by the server: - BusyLoadingError: Redis is loading the dataset in memory", "LOADING Redis is loading the dataset in memory"],
      ["An error was signalled by the server: - Moved: 8579 127.0.0.1:7001", "MOVED 8579 127.0.0.1:7001"],
      ["An error was signalled by the server:- TryAgain", "TRYAGAIN"],
      ["An error was signalled by the server: - Moved: An error was signalled by the server: 3999 127.0.0.1:7002", "MOVED 3999 127.0.0.1:7002"],
      ["WRONGTYPE: Operation against a key holding the wrong kind of value", "WRONGTYPE Operation against a key holding the wrong kind of value"],
      ["OOM: command not allowed when used memory > 'maxmemory'.", "OOM command not allowed when used memory > 'maxmemory'."],
      ["BUSY: Redis is busy running a script.", "BUSY Redis is busy running a script."],
      ["CUSTOM: Unknown extension error encountered", "CUSTOM"],
    ];
    for (const [glide, server] of cases) expect(serverText(glide), glide).toBe(server);
  });

  it("serverText is undefined for errors GLIDE made itself (lost node, timeout, its own codes) and for kinds it does not map", () => {
    for (const message of [
      "BrokenPipe: Cluster: Failed to receive command response from internal sender. RecvError",
      "IoError: Connection refused (os error 111)",
      "PipelineNoResponse: no response from node",
      "AllConnectionsUnavailable: Failed to get connection",
      "timed out",
      "Received connection error `Connection refused (os error 111)`. Will attempt to reconnect",
      "Unable to execute requests; the client is closed. Please create a new client.",
      "An error was signalled by the server: - IoError: broken pipe",
    ]) expect(serverText(message), message).toBeUndefined();
  });

  it("mapError makes a RedisReplyError (name RedisReplyError, the GLIDE error as cause) only of a RequestError that carries a server reply", () => {
    const request = Object.assign(new Error("WRONGTYPE: Operation against a key holding the wrong kind of value"), { name: "RequestError" });
    const mapped = mapError(request);
    expect(mapped).toBeInstanceOf(ReplyError);
    expect(mapped).toMatchObject({ name: "RedisReplyError", message: "WRONGTYPE Operation against a key holding the wrong kind of value", cause: request });
    const timeout = Object.assign(new Error("WRONGTYPE: looks like a reply"), { name: "TimeoutError" });
    expect(mapError(timeout)).toBe(timeout);
    const broken = Object.assign(new Error("BrokenPipe: Cluster: Failed to receive command response"), { name: "RequestError" });
    expect(mapError(broken)).toBe(broken);
    expect(isClientError(mapReply(broken))).toBe(true);
    expect(isClientError(mapReply(request))).toBe(false);
  });

  it("mapReply flattens maps ({ key, value }[]) and sets, nested too, and leaves Buffers, numbers, strings and null as they are", () => {
    const b = (s: string): Buffer => Buffer.from(s);
    const buffer = b("x");
    expect(mapReply(buffer)).toBe(buffer);
    expect(mapReply(null)).toBeNull();
    expect(mapReply(3)).toBe(3);
    expect(mapReply("OK")).toBe("OK");
    expect(mapReply([{ key: b("a"), value: [{ key: b("n"), value: 1 }] }, { key: b("b"), value: null }])).toEqual([b("a"), [b("n"), 1], b("b"), null]);
    expect(mapReply([b("0"), [new Set([b("k")])]])).toEqual([b("0"), [[b("k")]]]);
    expect(mapReply([])).toEqual([]);
  });
});
