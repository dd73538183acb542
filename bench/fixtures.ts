import type protobuf from "protobufjs";
import { encodeSession, decodeSession, sessionEntity, type Session } from "../generated/acme/session/v1/session.cache.js";
import { encodeUser, decodeUser, userEntity, type User } from "../generated/acme/user/v1/user.cache.js";
import { SchemaDecoder } from "../src/descriptors/index.js";
import { schemaDescriptors } from "../generated/descriptors.js";
import type { Entity } from "../src/accessor/entity.js";
import type { Reader } from "../src/codec/reader.js";
import type { Writer } from "../src/codec/writer.js";

/** One benchmark entity in every representation the contenders need. */
export interface Fixture<T> {
  readonly name: string;
  readonly entity: Entity<T, never>;
  /** The value as protocache (and ts-proto's types) hold it. */
  readonly value: T;
  /** The same data as plain JSON-safe data (what the "classic" path stores). */
  readonly json: unknown;
  /** The protobufjs type of the current revision, compiled from the lock. */
  readonly type: protobuf.Type;
  /** The same data as a protobufjs message (what a hand-written protobufjs path holds). */
  readonly pb: protobuf.Message;
  readonly encode: (w: Writer, v: T) => void;
  readonly decode: (r: Reader, end: number) => T;
  /** Name of the ts-proto module and export, for its own codec. */
  readonly tsProto: { readonly module: string; readonly name: string };
}

const user: User = {
  id: "user-000042",
  name: "ada",
  email: "ada.lovelace@example.com",
  fullName: "Ada Lovelace",
  verified: true,
  locale: "en-GB",
};

function largeSession(): Session {
  const scopes = Array.from({ length: 16 }, (_, i) => `scope:resource-${i}:read`);
  const attributes = new Map(Array.from({ length: 12 }, (_, i) => [`attribute-${i}`, `value-${i}-${"x".repeat(12)}`] as [string, string]));
  return {
    tenantId: "tenant-eu-west-1",
    sessionId: "3f2c9a8e-4b1d-4c8e-9f7a-2d6b1e0c5a93",
    userId: "user-000042",
    createdAtMs: 1_767_225_600_123n,
    device: 1,
    scopes,
    attributes,
    client: { ip: "203.0.113.17", userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36" },
    requestCount: 18_446_744_073n,
    impersonatorId: undefined,
    authMethod: { $case: "ssoProvider", ssoProvider: "okta" },
    recentStatusCodes: [200, 200, 201, 204, 304, 404, 200, 500],
    csrfToken: Uint8Array.from({ length: 32 }, (_, i) => (i * 37) & 0xff),
    riskScore: 0.125,
    previousClients: new Map([[1_767_000_000_000n, { ip: "198.51.100.4", userAgent: "curl/8.5.0" }]]),
    lastSeen: { seconds: 1_767_225_660n, nanos: 250_000_000 },
    idleTimeout: { seconds: 1800n, nanos: 0 },
  };
}

/** protobufjs/JSON-friendly form: bigint → string, Map → object, bytes → base64, unions flattened. */
function plain(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (v !== null && typeof v === "object" && "$case" in v) {
        const c = (v as { $case: string }).$case;
        out[c] = plain((v as Record<string, unknown>)[c]);
      } else out[k] = plain(v);
    }
    return out;
  }
  return value;
}

function fixture<T>(name: string, entity: Entity<T, never>, value: T, encode: Fixture<T>["encode"], decode: Fixture<T>["decode"], tsProto: Fixture<T>["tsProto"]): Fixture<T> {
  const type = new SchemaDecoder(schemaDescriptors).typeOf(entity.current.schemaId);
  const json = plain(value);
  return { name, entity, value, json, type, pb: type.fromObject(json as Record<string, unknown>), encode, decode, tsProto };
}

/** The small entity (User, ~70 bytes encoded) and the ~1 KB one (a busy Session). */
export function fixtures(): [Fixture<User>, Fixture<Session>] {
  return [
    fixture("User (small)", userEntity as unknown as Entity<User, never>, user, encodeUser, decodeUser, { module: "acme/user/v1/user.ts", name: "User" }),
    fixture("Session (~1 KB)", sessionEntity as unknown as Entity<Session, never>, largeSession(), encodeSession, decodeSession, { module: "acme/session/v1/session.ts", name: "Session" }),
  ];
}
