import { userCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { schemaRegistry } from "../../generated/registry.js";
import { internalsOf } from "../../src/accessor/internals.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { envelope, newerUserEntry, userR1Entry, userRevisionId } from "./entries.js";

/** Kinds of entries a migration meets, in the proportions {@link seedUsers} plants them. */
export type SeedKind = "r1-ttl" | "r1-forever" | "r1-expiring" | "current" | "newer" | "legacy" | "corrupt" | "session";

/** One planted entry and what it should become. */
export interface SeedEntry {
  readonly key: string;
  readonly kind: SeedKind;
  readonly value: Buffer;
  readonly ttlSeconds: number | undefined;
  /** The value `get` returns once upgraded (r1 kinds). */
  readonly user: User;
}

const cycle: readonly SeedKind[] = [
  "r1-ttl", "r1-ttl", "r1-ttl", "r1-ttl", "r1-forever", "r1-forever", "current", "current", "r1-expiring",
  "newer", "legacy", "corrupt", "session", "r1-ttl", "r1-forever", "current", "r1-ttl", "r1-forever", "current", "r1-ttl",
];

const encoder = internalsOf<User>(userCache(new MemoryStore()));
const sessionId = schemaRegistry.entries.find((e) => e.message === "acme.session.v1.Session")?.id ?? 0;

/** The bytes current code writes for `user` (an envelope of the current revision). */
export function currentEntry(user: User, key: string): Buffer {
  if (encoder === undefined) throw new Error("no accessor internals");
  return encoder.encode(user, key);
}

/** `n` user entries under `{prefix}user:v1:`, of every kind, most with a TTL, some without, a few expiring within a second. */
export function seedUsers(prefix: string, n: number): SeedEntry[] {
  return Array.from({ length: n }, (_, i): SeedEntry => {
    const kind = cycle[i % cycle.length] as SeedKind;
    const id = `u${i}`;
    const key = `${prefix}user:v1:${id}`;
    const r1 = { id, name: `name ${i}`, email: `${i}@example.com` };
    const user: User = { ...r1, fullName: "Unknown", verified: true, locale: "en-US" };
    const ttlSeconds = kind === "r1-forever" ? undefined : kind === "r1-expiring" ? 1 : 600 + (i % 1000);
    switch (kind) {
      case "r1-ttl":
      case "r1-forever":
      case "r1-expiring":
        return { key, kind, value: userR1Entry(r1), ttlSeconds, user };
      case "current": {
        const value = { ...user, fullName: `Full ${i}`, locale: "nl-NL" };
        return { key, kind, value: currentEntry(value, key), ttlSeconds, user: value };
      }
      case "newer":
        return { key, kind, value: newerUserEntry({ id, name: "n", nickname: "nick" }), ttlSeconds, user };
      case "legacy":
        return { key, kind, value: Buffer.from(JSON.stringify(r1)), ttlSeconds, user };
      case "corrupt":
        return { key, kind, value: envelope(userRevisionId(1), Buffer.from([0x0a, 0xff, 0xff])), ttlSeconds, user };
      case "session":
        return { key, kind, value: envelope(sessionId, Buffer.alloc(0)), ttlSeconds, user };
    }
  });
}

/** Keys next to the `user:v1` namespace that no operation on it may touch. */
export function neighbours(prefix: string): string[] {
  return [
    `${prefix}user:v1`,
    `${prefix}user:v10:u1`,
    `${prefix}user:v2:u1`,
    `${prefix}users:v1:u1`,
    `${prefix}user*:v1:u1`,
    `${prefix}{user}:v1:u1`,
    `${prefix}user:v1\\:u1`,
    `${prefix}xuser:v1:u1`,
    `x${prefix}user:v1:u1`,
    `${prefix}session:v1:t:s`,
  ];
}

export { userEntity };
