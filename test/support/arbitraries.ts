import fc from "fast-check";
import type { Session, Session_Client } from "../../generated/acme/session/v1/session.cache.js";
import type { User } from "../../generated/acme/user/v1/user.cache.js";

/** Strings that exercise the ASCII fast path, multi-byte UTF-8 and long lengths. */
export const text = (maxLength = 60): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: "grapheme", maxLength }),
    fc.string({ minLength: 100, maxLength: 400 }),
  );

const int64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
const uint64 = fc.bigInt(0n, 2n ** 64n - 1n);
const double = fc.double().map((d) => (Object.is(d, -0) ? 0 : d));

/** Arbitrary `acme.user.v1.User` values (key field never empty). */
export const userArb: fc.Arbitrary<User> = fc.record({
  id: text(20).filter((s) => s !== ""),
  name: text(),
  email: text(),
  fullName: text(),
  verified: fc.boolean(),
  locale: text(10),
});

const clientArb: fc.Arbitrary<Session_Client> = fc.record({ ip: text(20), userAgent: text() });

/** Arbitrary `acme.session.v1.Session` values covering every field kind. */
export const sessionArb: fc.Arbitrary<Session> = fc.record({
  tenantId: text(12).filter((s) => s !== ""),
  sessionId: text(12).filter((s) => s !== ""),
  userId: text(),
  createdAtMs: int64,
  device: fc.oneof(fc.constantFrom(0, 1, 2, 3), fc.integer({ min: -5, max: 1000 })),
  scopes: fc.array(text(15), { maxLength: 5 }),
  attributes: fc.array(fc.tuple(text(10), text(20)), { maxLength: 4 }).map((pairs) => new Map(pairs)),
  client: fc.option(clientArb, { nil: undefined }),
  requestCount: uint64,
  impersonatorId: fc.option(text(), { nil: undefined }),
  authMethod: fc.option(
    fc.oneof(
      text().map((v) => ({ $case: "passwordHashId" as const, passwordHashId: v })),
      text().map((v) => ({ $case: "ssoProvider" as const, ssoProvider: v })),
    ),
    { nil: undefined },
  ),
  recentStatusCodes: fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 8 }),
  csrfToken: fc.uint8Array({ maxLength: 40 }),
  riskScore: double,
  previousClients: fc.array(fc.tuple(int64, clientArb), { maxLength: 3 }).map((pairs) => new Map(pairs)),
  // Within the ranges google/protobuf/timestamp.proto and duration.proto give (the encoder checks them).
  lastSeen: fc.option(fc.record({ seconds: fc.bigInt({ min: -62_135_596_800n, max: 253_402_300_799n }), nanos: fc.integer({ min: 0, max: 999_999_999 }) }), { nil: undefined }),
  idleTimeout: fc.option(
    fc
      .record({ seconds: fc.bigInt({ min: -315_576_000_000n, max: 315_576_000_000n }), nanos: fc.integer({ min: 0, max: 999_999_999 }) })
      .map(({ seconds, nanos }) => ({ seconds, nanos: seconds < 0n && nanos !== 0 ? -nanos : nanos })),
    { nil: undefined },
  ),
});
