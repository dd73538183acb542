import { fromBinary, fromJsonString, toJsonString, type Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { fromJsonSession, toJsonSession, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { toJsonUser, type User } from "../../generated/acme/user/v1/user.cache.js";
import { Writer } from "../../src/codec/writer.js";
import type { Fixture } from "../fixtures.js";
import { compareMicro, median, passes, type BenchRow, type Goal, type MicroOptions } from "../harness.js";
import { SessionSchema } from "../protobuf-es/acme/session/v1/session_pb.js";
import { UserSchema } from "../protobuf-es/acme/user/v1/user_pb.js";

/**
 * JSON cases: the generated `toJsonX` / `fromJsonX` (with `JSON.stringify` /
 * `JSON.parse`) against protobuf-es's generated code (`toJsonString`,
 * `fromJsonString`) on the same message, and against `JSON.stringify` of a
 * hand-made JSON-safe copy. The protobuf-es message is the fixture encoded
 * by protocache and read by protobuf-es's `fromBinary`, so both sides hold
 * the same content; a sanity check compares the JSON texts before timing.
 */
export function jsonCases(user: Fixture<User>, session: Fixture<Session>, micro: MicroOptions): BenchRow[] {
  const rows: BenchRow[] = [];
  const row = (name: string, entity: string, subject: string, baseline: string, goal: Goal, a: () => unknown, b: () => unknown): void => {
    const r = compareMicro(a, b, micro);
    // The median of per-round ratios: each round's two numbers were measured moments apart.
    const ratio = median(r.ratios.map((x) => (goal.kind === "speedup-at-least" ? 1 / x : x)));
    rows.push({ case: name, entity, subject, baseline, goal, ratio, pass: passes(goal, ratio), detail: `${fmtNs(r.subjectNs)} vs ${fmtNs(r.baselineNs)}` });
  };

  const es = viaBinary(SessionSchema, session);
  const ours = JSON.stringify(toJsonSession(session.value));
  const theirs = toJsonString(SessionSchema, es);
  // Sanity: the same message, the same JSON text (field for field, in the same order).
  if (ours !== theirs) throw new Error(`${session.name}: toJsonSession and protobuf-es write different JSON:\n${ours}\n${theirs}`);
  if (JSON.stringify(toJsonSession(fromJsonSession(JSON.parse(theirs)))) !== theirs) throw new Error(`${session.name}: fromJsonSession does not read back protobuf-es's JSON`);
  const bytes = Buffer.byteLength(ours);

  row("toJson + JSON.stringify", `${session.name}, ${bytes} B of JSON`, "JSON.stringify(toJsonSession(v))", "protobuf-es toJsonString(SessionSchema, m)", { kind: "speedup-at-least", target: 1 },
    () => JSON.stringify(toJsonSession(session.value)),
    () => toJsonString(SessionSchema, es));
  row("JSON.parse + fromJson", `${session.name}, ${bytes} B of JSON`, "fromJsonSession(JSON.parse(text))", "protobuf-es fromJsonString(SessionSchema, text)", { kind: "speedup-at-least", target: 1 },
    () => fromJsonSession(JSON.parse(ours)),
    () => fromJsonString(SessionSchema, ours));

  const userOurs = JSON.stringify(toJsonUser(user.value));
  if (userOurs !== JSON.stringify(user.json)) throw new Error(`${user.name}: toJsonUser writes ${userOurs}, the JSON-safe copy ${JSON.stringify(user.json)}`);
  if (userOurs !== toJsonString(UserSchema, viaBinary(UserSchema, user))) throw new Error(`${user.name}: toJsonUser and protobuf-es write different JSON`);
  row("toJson + JSON.stringify", `${user.name}, ${Buffer.byteLength(userOurs)} B of JSON`, "JSON.stringify(toJsonUser(v))", "JSON.stringify of a hand-made JSON-safe copy", { kind: "speedup-at-least", target: 0.7 },
    () => JSON.stringify(toJsonUser(user.value)),
    () => JSON.stringify(user.json));
  return rows;
}

/** The fixture's value as a protobuf-es message: encoded by protocache, decoded by protobuf-es. */
function viaBinary<T, M extends Message>(schema: GenMessage<M>, fx: Fixture<T>): M {
  const w = new Writer();
  fx.encode(w, fx.value);
  return fromBinary(schema, w.copy());
}

function fmtNs(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
