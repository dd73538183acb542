import { expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { ProtocacheError } from "../../src/errors.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * Adopting an existing JSON cache of 10k entries at its old key layout
 * (`v3:user:<id>`, written the classic way with SET … EX), read by three
 * accessors at once: valid, partial, wrong-typed, malformed and soon
 * expiring entries, and entries deleted after adoption.
 */
const kinds = ["valid", "partial", "wrong", "malformed", "expiring"] as const;
type Kind = (typeof kinds)[number];
const count: Record<Kind, number> = { valid: 6000, partial: 1500, wrong: 1000, malformed: 1000, expiring: 500 };

function legacyJson(kind: Kind, i: number): string {
  switch (kind) {
    case "valid":
    case "expiring":
      return JSON.stringify({ id: `${kind}${i}`, name: `n${i}`, email: `${i}@x`, fullName: `Full ${i}`, verified: i % 2 === 0, locale: "en-GB" });
    case "partial":
      return JSON.stringify({ name: `n${i}`, fullName: null });
    case "wrong":
      return JSON.stringify(i % 2 === 0 ? { name: i } : { verified: "yes" });
    case "malformed":
      return `{"name": "n${i}"`;
  }
}

describeEveryBackend(
  "adopting 10k legacy JSON entries",
  (backend: () => Backend) => {
    it("adopts every valid entry exactly once with its expiry kept, counts and reports every bad one, and resurrects none", async () => {
      const prefix = uniquePrefix();
      const { store, raw } = backend();
      const legacyKey = (id: string): string => `${prefix}v3:user:${id}`;
      const entries = kinds.flatMap((kind) => Array.from({ length: count[kind] }, (_, i) => ({ kind, id: `${kind}${i}`, json: legacyJson(kind, i) })));
      // Plant them as another service would have: valid ones with expiries, some without.
      for (let i = 0; i < entries.length; i += 500) {
        await Promise.all(
          entries.slice(i, i + 500).map((e, j) => {
            if (e.kind === "expiring") return raw.set(legacyKey(e.id), e.json, 1);
            return (i + j) % 10 === 0 ? raw.set(legacyKey(e.id), e.json) : raw.set(legacyKey(e.id), e.json, 600 + ((i + j) % 300));
          }),
        );
      }
      const good = entries.filter((e) => e.kind === "valid" || e.kind === "partial");
      const bad = entries.filter((e) => e.kind === "wrong" || e.kind === "malformed");
      const expiry = new Map<string, number>();
      for (let i = 0; i < good.length; i += 500) {
        const batch = good.slice(i, i + 500);
        (await Promise.all(batch.map((e) => raw.expireTime(legacyKey(e.id))))).forEach((t, j) => expiry.set((batch[j] as { id: string }).id, t));
      }
      const errors: ProtocacheError[] = [];
      const options = { prefix, deadlineMs: 10_000, onError: (e: ProtocacheError) => errors.push(e), legacy: { key: ({ id }: { id: string }) => legacyKey(id), deleteOld: true } };
      const readers = Array.from({ length: 3 }, () => userCache(store, options));
      // The soon-expiring ones go while the readers run.
      await new Promise((r) => setTimeout(r, 600));
      const ids = entries.map((e) => ({ id: e.id }));
      const read = async (): Promise<(User | undefined)[][]> =>
        Promise.all(
          readers.map(async (reader) => {
            const out: (User | undefined)[] = [];
            for (let i = 0; i < ids.length; i += 200) out.push(...(await reader.getMany(ids.slice(i, i + 200))));
            return out;
          }),
        );
      const first = await read();
      const stat = (pick: (s: ReturnType<(typeof readers)[number]["stats"]>) => number): number => readers.reduce((n, r) => n + pick(r.stats()), 0);
      await expect.poll(() => stat((s) => s.writes.adopted + s.writes.adopt_skipped + s.writes.adopt_error)).toBe(stat((s) => s.reads.legacy));
      expect(stat((s) => s.deletes.legacy_deleted)).toBe(stat((s) => s.writes.adopted));

      // Every valid (and partial) entry: returned to every reader, adopted exactly once, its expiry kept, its old key gone.
      const expiring = entries.filter((e) => e.kind === "expiring").length;
      expect(stat((s) => s.writes.adopted)).toBeGreaterThanOrEqual(good.length);
      expect(stat((s) => s.writes.adopted)).toBeLessThanOrEqual(good.length + expiring);
      expect(stat((s) => s.writes.adopt_error)).toBe(0);
      // Each reader got the value or (when another reader adopted it and deleted the old key between this
      // reader's two lookups) a miss, never anything else; at least one reader got each.
      const at = new Map(entries.map((e, i) => [e.id, i]));
      for (const e of good) {
        const got = first.map((values) => values[at.get(e.id) as number]).filter((v) => v !== undefined);
        expect(got.length, e.id).toBeGreaterThan(0);
        for (const v of got) {
          expect(v.id, e.id).toBe(e.id);
          if (e.kind === "partial") expect(v).toMatchObject({ fullName: "Unknown", verified: true, locale: "en-US", email: "" });
        }
      }
      for (let i = 0; i < good.length; i += 500) {
        const batch = good.slice(i, i + 500);
        const times = await Promise.all(batch.map((e) => raw.expireTime(`${prefix}user:v1:${e.id}`)));
        const gone = await Promise.all(batch.map((e) => raw.get(legacyKey(e.id))));
        batch.forEach((e, j) => {
          expect(times[j], e.id).toBe(expiry.get(e.id));
          expect(gone[j], e.id).toBeNull();
        });
      }
      // Every bad one: a counted legacy_rejected miss for each reader, reported with its key, never written.
      expect(stat((s) => s.reads.legacy_rejected)).toBe(bad.length * readers.length);
      const reported = new Set(errors.map((e) => (e as ProtocacheError & { key?: string }).key));
      for (const e of bad) expect(reported.has(legacyKey(e.id)), e.id).toBe(true);
      expect(errors.every((e) => e.name === "LegacyValueError" || e.name === "LegacyReaderError")).toBe(true);
      const written = await Promise.all(bad.slice(0, 500).map((e) => raw.get(`${prefix}user:v1:${e.id}`)));
      expect(written.every((w) => w === null)).toBe(true);
      // Expired ones never come back: their new key is gone too (it expired with the old one), or was never written.
      const expired = await Promise.all(entries.filter((e) => e.kind === "expiring").map((e) => raw.get(`${prefix}user:v1:${e.id}`)));
      expect(expired.every((w) => w === null)).toBe(true);

      // Deleted after adoption: never resurrected by later reads.
      const deleted = good.slice(0, 300);
      for (const e of deleted) await readers[0]?.delete({ id: e.id });
      const again = await readers[1]?.getMany(deleted.map((e) => ({ id: e.id })));
      expect(again?.every((v) => v === undefined)).toBe(true);
      const hits = await readers[2]?.getMany(good.slice(300, 600).map((e) => ({ id: e.id })));
      expect(hits?.every((v) => v !== undefined)).toBe(true);
    });
  },
  ["ioredis standalone", "node-redis cluster"],
);
