import { describe, expect, it } from "vitest";
import { decodeSession, encodeSession, sessionCache, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { EncodeError } from "../../src/errors.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

const user: User = { id: "u1", name: "Ada", email: "a@example.com", fullName: "Ada L", verified: true, locale: "en" };
const session: Session = {
  tenantId: "t1",
  sessionId: "s1",
  userId: "u1",
  createdAtMs: 1n,
  device: 1,
  scopes: ["a", "b"],
  attributes: new Map([["k", "v"]]),
  client: { ip: "1.2.3.4", userAgent: "ua" },
  requestCount: 3n,
  impersonatorId: undefined,
  authMethod: { $case: "ssoProvider", ssoProvider: "okta" },
  recentStatusCodes: [200, 404],
  csrfToken: new Uint8Array([1, 2]),
  riskScore: 0.5,
  previousClients: new Map([[5n, { ip: "5.6.7.8", userAgent: "old" }]]),
  lastSeen: { seconds: 10n, nanos: 5 },
  idleTimeout: undefined,
};

/** The EncodeError `set` throws for `value`, or undefined when it writes. */
async function encodeFailure<T>(set: (v: T) => Promise<unknown>, value: T): Promise<EncodeError | undefined> {
  try {
    await set(value);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(EncodeError);
    return error as EncodeError;
  }
}

describe("validated writes: a value that does not fit its field throws EncodeError naming the field, nothing is written", () => {
  const bad = (value: unknown): never => value as never;

  const userCases: [string, Partial<Record<keyof User, unknown>>, string, RegExp][] = [
    ['bool "no"', { verified: "no" }, "verified", /expected bool, got string "no"/],
    ["bool 1", { verified: 1 }, "verified", /expected bool, got number 1/],
    ["string number", { email: 5 }, "email", /expected string, got number 5/],
    ["missing string", { locale: undefined }, "locale", /expected string, got undefined/],
    ["lone high surrogate in a short string", { name: "Ada\uD800" }, "name", /expected a well-formed Unicode string \(lone surrogate at index 3\), got string "Ada\\ud800"/],
    ["lone low surrogate in a long non-ASCII string", { fullName: "Ådå ".repeat(20) + "\uDC00" }, "fullName", /lone surrogate at index 80/],
  ];
  it.each(userCases)("User with %s", async (_, patch, field, message) => {
    const store = new MemoryStore();
    const users = userCache(store);
    const error = await encodeFailure((v: User) => users.set(v), bad({ ...user, ...patch }));
    expect(error?.field).toBe(field);
    expect(error?.message).toMatch(message);
    expect(store.size).toBe(0);
  });

  const sessionCases: [string, Partial<Record<keyof Session, unknown>>, string, RegExp][] = [
    ["int32 2^40 + 1.5 in a repeated field", { recentStatusCodes: [200, 2 ** 40 + 1.5] }, "recentStatusCodes[1]", /expected int32, got number 1099511627777.5/],
    ["int32 above 2^31 - 1", { recentStatusCodes: [2 ** 31] }, "recentStatusCodes[0]", /expected int32/],
    ["enum 2^40 + 1.5", { device: 2 ** 40 + 1.5 }, "device", /expected enum value \(int32\)/],
    ["uint64 2^70 + 5", { requestCount: 2n ** 70n + 5n }, "requestCount", /expected uint64, got bigint 1180591620717411303429n/],
    ["uint64 -1", { requestCount: -1n }, "requestCount", /expected uint64/],
    ["int64 as a number", { createdAtMs: 5 }, "createdAtMs", /expected int64, got number 5/],
    ["int64 2^63", { createdAtMs: 2n ** 63n }, "createdAtMs", /expected int64/],
    ["double as a string", { riskScore: "0.5" }, "riskScore", /expected double, got string "0.5"/],
    ["bytes as an array", { csrfToken: [1, 2] }, "csrfToken", /expected Uint8Array, got Array/],
    ["list that is not an array", { scopes: "a" }, "scopes", /expected array/],
    ["map that is a plain object", { attributes: { k: "v" } }, "attributes", /expected Map, got Object/],
    ["map value of the wrong type", { attributes: new Map([["k", 1]]) }, 'attributes["k"]', /expected string, got number 1/],
    ["int64 map key as a number", { previousClients: new Map([[5, { ip: "", userAgent: "" }]]) }, "previousClients[5]", /expected int64 key/],
    ["nested message field", { client: { ip: 5, userAgent: "" } }, "client.ip", /expected string, got number 5/],
    ["nested message as a string", { client: "1.2.3.4" }, "client", /expected Session_Client object, got string/],
    ["nested message set to null", { client: null }, "client", /expected Session_Client object, got null/],
    ["message in a map value", { previousClients: new Map([[5n, { ip: "", userAgent: 7 }]]) }, "previousClients[5n].userAgent", /expected string, got number 7/],
    ["oneof member of the wrong type", { authMethod: { $case: "ssoProvider", ssoProvider: 5 } }, "authMethod.ssoProvider", /expected string/],
    ["oneof with an unknown $case", { authMethod: { $case: "magic", magic: "x" } }, "authMethod", /expected \$case "passwordHashId" \| "ssoProvider", got string "magic"/],
    ["well-known message field", { lastSeen: { seconds: 1n, nanos: 1.5 } }, "lastSeen.nanos", /expected int32, got number 1.5/],
    ["Timestamp nanos of 1e9 (one second)", { lastSeen: { seconds: 1n, nanos: 1e9 } }, "lastSeen.nanos", /expected nanos from 0 to 999999999 \(google.protobuf.Timestamp\), got number 1000000000/],
    ["Timestamp with negative nanos", { lastSeen: { seconds: 1n, nanos: -1 } }, "lastSeen.nanos", /expected nanos from 0 to 999999999/],
    ["Timestamp after 9999-12-31T23:59:59Z", { lastSeen: { seconds: 253_402_300_800n, nanos: 0 } }, "lastSeen.seconds", /expected seconds of 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z/],
    ["Duration nanos of -1e9", { idleTimeout: { seconds: -1n, nanos: -1e9 } }, "idleTimeout.nanos", /expected nanos from -999999999 to 999999999 \(google.protobuf.Duration\)/],
    ["Duration nanos of another sign than its seconds", { idleTimeout: { seconds: 5n, nanos: -1 } }, "idleTimeout.nanos", /expected nanos of the same sign as seconds/],
    ["Duration above 10 000 years", { idleTimeout: { seconds: 315_576_000_001n, nanos: 0 } }, "idleTimeout.seconds", /expected seconds within ±315576000000/],
    ["optional string", { impersonatorId: 42 }, "impersonatorId", /expected string, got number 42/],
    ["lone surrogate in a string", { userId: "u\uD800" }, "userId", /expected a well-formed Unicode string \(lone surrogate at index 1\)/],
    ["lone surrogate in an optional string", { impersonatorId: "\uDFFF" }, "impersonatorId", /lone surrogate at index 0/],
    ["lone surrogate in a list element", { scopes: ["a", "b\uDC00c"] }, "scopes[1]", /lone surrogate at index 1/],
    ["lone surrogate in a map key", { attributes: new Map([["k\uD800", "v"]]) }, 'attributes["k\\ud800"]', /lone surrogate at index 1/],
    ["lone surrogate in a long map value", { attributes: new Map([["k", "x".repeat(40) + "\uD800"]]) }, 'attributes["k"]', /lone surrogate at index 40/],
    ["lone surrogate in a nested message", { client: { ip: "1.2.3.4", userAgent: "é\uD800" } }, "client.userAgent", /lone surrogate at index 1/],
    ["lone surrogate in a message in a map value", { previousClients: new Map([[5n, { ip: "\uD800".repeat(6000), userAgent: "" }]]) }, "previousClients[5n].ip", /lone surrogate at index 0/],
    ["lone surrogate in a oneof member", { authMethod: { $case: "ssoProvider", ssoProvider: "okta\uDBFF" } }, "authMethod.ssoProvider", /lone surrogate at index 4/],
  ];
  it.each(sessionCases)("Session with %s", async (_, patch, field, message) => {
    const store = new MemoryStore();
    const sessions = sessionCache(store);
    const error = await encodeFailure((v: Session) => sessions.set(v), bad({ ...session, ...patch }));
    expect(error?.field).toBe(field);
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain("cannot encode acme.session.v1.Session for session:v1:t1:s1");
    expect(store.size).toBe(0);
  });

  it("the valid value itself is written", async () => {
    const store = new MemoryStore();
    expect(await sessionCache(store).set(session)).toBe("written");
    expect(await userCache(store).set(user)).toBe("written");
  });

  it("Timestamps and Durations at the ends of their ranges are written", async () => {
    const sessions = sessionCache(new MemoryStore());
    for (const [lastSeen, idleTimeout] of [
      [{ seconds: -62_135_596_800n, nanos: 0 }, { seconds: -315_576_000_000n, nanos: -999_999_999 }],
      [{ seconds: 253_402_300_799n, nanos: 999_999_999 }, { seconds: 315_576_000_000n, nanos: 999_999_999 }],
      [{ seconds: 0n, nanos: 0 }, { seconds: 0n, nanos: -999_999_999 }],
    ] as const) {
      expect(await sessions.set({ ...session, lastSeen, idleTimeout })).toBe("written");
    }
  });
});

describe("-0 in float and double fields", () => {
  it("is written (presence is decided on the bit pattern) and reads back as -0", () => {
    const w = new Writer();
    encodeSession(w, { ...session, riskScore: -0 });
    const bytes = w.copy();
    const decoded = decodeSession(new Reader(bytes), bytes.length);
    expect(Object.is(decoded.riskScore, -0)).toBe(true);
    w.reset();
    encodeSession(w, { ...session, riskScore: 0 });
    expect(w.copy().length).toBe(bytes.length - 9);
  });
});
