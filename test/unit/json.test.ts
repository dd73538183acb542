import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSession, createSession_Client, fromJsonSession, newSession, toJsonSession, type Session } from "../../generated/acme/session/v1/session.cache.js";
import { DeviceKind } from "../../generated/acme/session/v1/session.cache.js";
import { toJsonUser } from "../../generated/acme/user/v2/user.cache.js";
import { fromJsonDuration, toJsonDuration } from "../../generated/google/protobuf/duration.cache.js";
import { fromJsonTimestamp, toJsonTimestamp } from "../../generated/google/protobuf/timestamp.cache.js";
import { JsonError } from "../../src/errors.js";

function session(): Session {
  return createSession({
    tenantId: "t1",
    sessionId: "s1",
    createdAtMs: 1_700_000_000_000n,
    device: DeviceKind.DEVICE_KIND_MOBILE,
    scopes: ["read", "write"],
    attributes: new Map([["__proto__", "x"], ["k", "v"]]),
    client: createSession_Client({ ip: "::1", userAgent: "curl" }),
    requestCount: 18_446_744_073_709_551_615n,
    impersonatorId: "",
    authMethod: { $case: "ssoProvider", ssoProvider: "okta" },
    recentStatusCodes: [200, -1],
    csrfToken: new Uint8Array([0xfb, 0xff, 0x00]),
    riskScore: NaN,
    previousClients: new Map([[-5n, createSession_Client({ ip: "10.0.0.1" })]]),
    lastSeen: { seconds: 1_700_000_000n, nanos: 21_000_000 },
    idleTimeout: { seconds: -1n, nanos: -500_000_000 },
  });
}

/** What JSON.stringify + JSON.parse make of a value: what a client sends back. */
const wire = (j: unknown): unknown => JSON.parse(JSON.stringify(j));

function errorOf(f: () => unknown): JsonError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(JsonError);
    return error as JsonError;
  }
  throw new Error("did not throw");
}

describe("generated JSON codecs (proto3 JSON mapping)", () => {
  it("write the proto3 JSON form: int64 as strings, bytes as base64, enums by name, NaN as a string, Timestamp and Duration as strings, map keys as strings", () => {
    const j = toJsonSession(session());
    expect(j).toEqual({
      tenantId: "t1",
      sessionId: "s1",
      createdAtMs: "1700000000000",
      device: "DEVICE_KIND_MOBILE",
      scopes: ["read", "write"],
      attributes: JSON.parse('{"__proto__":"x","k":"v"}'),
      client: { ip: "::1", userAgent: "curl" },
      requestCount: "18446744073709551615",
      impersonatorId: "",
      ssoProvider: "okta",
      recentStatusCodes: [200, -1],
      csrfToken: "+/8A",
      riskScore: "NaN",
      previousClients: { "-5": { ip: "10.0.0.1" } },
      lastSeen: "2023-11-14T22:13:20.021Z",
      idleTimeout: "-1.500s",
    });
    // A map key "__proto__" is an own property, not the prototype.
    expect(Object.getOwnPropertyDescriptor(j["attributes"], "__proto__")?.value).toBe("x");
    expect(JSON.stringify(j)).toContain('"__proto__":"x"');
  });

  it("read back what they write (through JSON text), and the .proto names too", () => {
    const value = session();
    expect(fromJsonSession(wire(toJsonSession(value)))).toEqual(value);
    expect(fromJsonSession(wire(toJsonSession(value, { useProtoFieldName: true, enumAsInteger: true })))).toEqual(value);
    expect(fromJsonSession({ tenant_id: "a", session_id: "b", device: 3 })).toEqual(createSession({ tenantId: "a", sessionId: "b", device: DeviceKind.DEVICE_KIND_CLI }));
  });

  it("options: emitDefaultValues, enumAsInteger, useProtoFieldName", () => {
    expect(toJsonSession(newSession())).toEqual({});
    expect(toJsonSession(newSession(), { emitDefaultValues: true })).toEqual({
      tenantId: "", sessionId: "", userId: "", createdAtMs: "0", device: "DEVICE_KIND_UNSPECIFIED", scopes: [], attributes: {},
      requestCount: "0", recentStatusCodes: [], csrfToken: "", riskScore: 0, previousClients: {},
    });
    expect(toJsonSession(createSession({ device: 7 as DeviceKind }))).toEqual({ device: 7 }); // unknown enum values as numbers
    expect(toJsonSession(createSession({ device: DeviceKind.DEVICE_KIND_CLI, tenantId: "t" }), { enumAsInteger: true, useProtoFieldName: true })).toEqual({ tenant_id: "t", device: 3 });
    expect(toJsonUser({ id: "1", displayName: "A", email: "", emailVerified: false, locale: "", roles: [] }, { useProtoFieldName: true })).toEqual({ id: "1", display_name: "A" });
  });

  it("null is the default value; ignoreUnknownFields skips unknown keys and enum names", () => {
    expect(fromJsonSession({ tenantId: null, client: null, scopes: null, attributes: null, lastSeen: null })).toEqual(newSession());
    expect(errorOf(() => fromJsonSession({ nope: 1 })).message).toBe('invalid JSON at nope: no field "nope" in acme.session.v1.Session');
    expect(fromJsonSession({ nope: 1, device: "DEVICE_KIND_TELEPATHY", tenantId: "t" }, { ignoreUnknownFields: true })).toEqual(createSession({ tenantId: "t" }));
    expect(errorOf(() => fromJsonSession({ device: "DEVICE_KIND_TELEPATHY" })).path).toBe("device");
  });

  it("refuse bad input with a typed error naming the field path", () => {
    const cases: [unknown, string][] = [
      [{ client: { ip: 5 } }, "client.ip"],
      [{ scopes: ["a", "b", 3] }, "scopes[2]"],
      [{ scopes: ["a", null] }, "scopes[1]"],
      [{ previousClients: { "5": { userAgent: false } } }, 'previousClients["5"].userAgent'],
      [{ previousClients: { x: {} } }, 'previousClients["x"]'],
      [{ attributes: { k: "\ud800" } }, 'attributes["k"]'], // a lone surrogate has no UTF-8 form
      [{ createdAtMs: "9223372036854775808" }, "createdAtMs"], // int64 overflow
      [{ createdAtMs: 1.5 }, "createdAtMs"],
      [{ requestCount: "-1" }, "requestCount"],
      [{ recentStatusCodes: [2147483648] }, "recentStatusCodes[0]"],
      [{ riskScore: "1e999" }, "riskScore"],
      [{ csrfToken: "not base64!" }, "csrfToken"],
      [{ lastSeen: "2023-02-29T00:00:00Z" }, "lastSeen"],
      [{ lastSeen: "2023-01-01T00:00:00" }, "lastSeen"],
      [{ idleTimeout: "1.5" }, "idleTimeout"],
      [{ idleTimeout: "315576000001s" }, "idleTimeout"],
      [{ tenantId: "a", tenant_id: "b" }, "tenant_id"],
      [{ ssoProvider: "a", passwordHashId: "b" }, "passwordHashId"],
      [[], ""],
      [null, ""],
    ];
    for (const [input, path] of cases) expect(errorOf(() => fromJsonSession(input)).path, JSON.stringify(input)).toBe(path);
    // A null member of a oneof does not select it.
    expect(fromJsonSession({ ssoProvider: null, passwordHashId: "b" }).authMethod).toEqual({ $case: "passwordHashId", passwordHashId: "b" });
  });

  it("refuse values with no JSON form, naming the field", () => {
    expect(errorOf(() => toJsonSession({ ...session(), createdAtMs: 1 as unknown as bigint })).path).toBe("createdAtMs");
    expect(errorOf(() => toJsonSession({ ...session(), scopes: ["a", "\udc00"] })).path).toBe("scopes[1]");
    expect(errorOf(() => toJsonSession({ ...session(), client: createSession_Client({ ip: 1 as unknown as string }) })).path).toBe("client.ip");
    expect(errorOf(() => toJsonSession({ ...session(), lastSeen: { seconds: 253_402_300_800n, nanos: 0 } })).path).toBe("lastSeen.seconds");
    expect(errorOf(() => toJsonSession({ ...session(), idleTimeout: { seconds: 1n, nanos: -1 } })).path).toBe("idleTimeout.nanos");
    expect(errorOf(() => toJsonSession({ ...session(), lastSeen: { seconds: -62_135_596_801n, nanos: 0 } })).path).toBe("lastSeen.seconds");
    expect(errorOf(() => toJsonSession({ ...session(), lastSeen: { seconds: 5 as unknown as bigint, nanos: 0 } })).path).toBe("lastSeen.seconds");
    expect(errorOf(() => toJsonSession({ ...session(), idleTimeout: { seconds: -315_576_000_001n, nanos: 0 } })).path).toBe("idleTimeout.seconds");
    expect(errorOf(() => toJsonSession({ ...session(), idleTimeout: { seconds: 1n << 64n, nanos: 0 } })).path).toBe("idleTimeout.seconds");
  });

  it("refuse map keys and values with no JSON form, naming the entry by its key", () => {
    const at = (patch: Partial<Session>): string => errorOf(() => toJsonSession({ ...session(), ...patch })).path;
    expect(at({ attributes: new Map([["k", "v"], ["bad", "\ud800"]]) })).toBe('attributes["bad"]');
    expect(at({ attributes: new Map([["\udc00", "v"]]) })).toBe('attributes["\\udc00"]');
    expect(at({ attributes: new Map([[7 as unknown as string, "v"]]) })).toBe('attributes["7"]');
    expect(at({ attributes: new Map([["k", 1 as unknown as string]]) })).toBe('attributes["k"]');
    expect(at({ previousClients: new Map([[1n << 63n, createSession_Client()]]) })).toBe('previousClients["9223372036854775808"]');
    expect(at({ previousClients: new Map([[3 as unknown as bigint, createSession_Client()]]) })).toBe('previousClients["3"]');
    expect(at({ previousClients: new Map([[-5n, createSession_Client({ userAgent: 1 as unknown as string })]]) })).toBe('previousClients["-5"].userAgent');
  });

  it("Timestamp and Duration: RFC 3339 with offsets in, UTC with 0, 3, 6 or 9 fraction digits out", () => {
    expect(toJsonTimestamp({ seconds: 0n, nanos: 0 })).toBe("1970-01-01T00:00:00Z");
    expect(toJsonTimestamp({ seconds: -62_135_596_800n, nanos: 1000 })).toBe("0001-01-01T00:00:00.000001Z");
    expect(toJsonTimestamp({ seconds: 253_402_300_799n, nanos: 999_999_999 })).toBe("9999-12-31T23:59:59.999999999Z");
    expect(fromJsonTimestamp("1970-01-01T08:00:01+08:00")).toEqual({ seconds: 1n, nanos: 0 });
    expect(fromJsonTimestamp("2000-02-29T23:59:59.5-01:30")).toEqual({ seconds: BigInt(Date.parse("2000-02-29T23:59:59.5-01:30") / 1000 - 0.5), nanos: 500_000_000 });
    expect(toJsonDuration({ seconds: 0n, nanos: -1000 })).toBe("-0.000001s");
    expect(toJsonDuration({ seconds: 315_576_000_000n, nanos: 0 })).toBe("315576000000s");
    expect(fromJsonDuration("-0.5s")).toEqual({ seconds: 0n, nanos: -500_000_000 });
    fc.assert(
      fc.property(fc.bigInt(-62_135_596_800n, 253_402_300_799n), fc.integer({ min: 0, max: 999_999_999 }), (seconds, nanos) => {
        const text = toJsonTimestamp({ seconds, nanos });
        expect(fromJsonTimestamp(text)).toEqual({ seconds, nanos });
        if (seconds >= -8_640_000_000_000n / 1000n && seconds <= 8_640_000_000_000n / 1000n) {
          expect(new Date(text).getTime()).toBe(Number(seconds) * 1000 + Math.floor(nanos / 1e6));
        }
      }),
    );
    fc.assert(
      fc.property(fc.bigInt(-315_576_000_000n, 315_576_000_000n), fc.integer({ min: 0, max: 999_999_999 }), (seconds, magnitude) => {
        const nanos = seconds < 0n ? -magnitude : seconds > 0n ? magnitude : magnitude * (magnitude % 2 === 0 ? 1 : -1);
        expect(fromJsonDuration(toJsonDuration({ seconds, nanos }))).toEqual({ seconds, nanos: nanos === 0 ? 0 : nanos });
      }),
    );
  });

  it("read every scalar form the mapping allows", () => {
    const read = (j: object) => fromJsonSession(j);
    expect(read({ createdAtMs: 12, requestCount: "18446744073709551615", recentStatusCodes: ["7", 1e2, "-3", 2.0] })).toMatchObject({ createdAtMs: 12n, requestCount: 18_446_744_073_709_551_615n, recentStatusCodes: [7, 100, -3, 2] });
    expect(read({ riskScore: "Infinity" }).riskScore).toBe(Infinity);
    expect(read({ riskScore: "-1.5e3" }).riskScore).toBe(-1500);
    expect([...read({ csrfToken: "-_8" }).csrfToken]).toEqual([0xfb, 0xff]); // URL-safe, unpadded
    expect([...read({ csrfToken: "+/8=" }).csrfToken]).toEqual([0xfb, 0xff]);
  });
});
