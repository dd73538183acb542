/**
 * `npm run demo`: the migration story in one run, on a local redis-server
 * (started on a free port when one is installed) or else on MemoryStore.
 * Every number printed comes from the accessors' own `stats()`.
 *
 * 1. Before protocache: a JSON cache at `v3:user:<id>`.
 * 2. protocache v1 adopts it: values checked, declared defaults filled,
 *    written as envelopes with their expiry, old keys deleted.
 * 3. Revision 2 of acme.user.v1.User rolls out while revision-1 instances
 *    still run: upgrades with declared defaults and a hook, write-back,
 *    and the never-downgrade guard refusing revision 1's writes.
 * 4. Major v2 (acme.user.v2.User, migrates_from v1): read-through with
 *    each entry's expiry kept, dual-write so v1 readers keep hitting, then
 *    the transition ends.
 */
import { Redis } from "ioredis";
import { schemaDescriptors } from "../../generated/descriptors.js";
import { createUser, defineUserCache, userEntity, type User } from "../../generated/acme/user/v1/user.cache.js";
import { createUser as createUserV2, defineUserCache as defineUserV2Cache } from "../../generated/acme/user/v2/user.cache.js";
import { SchemaDecoder } from "../../src/descriptors/index.js";
import { MemoryStore, RedisStore, type CacheStore, type CacheStats, type SetOutcome } from "../../src/index.js";
import { hasRedisServer, startRedis, type RedisProcess } from "../../test/support/redis-server.js";

const users = 1000;
// Generous deadlines: this demo may share its machine with anything else running; 200 ms (the default) suits a production Redis.
const options = { deadlineMs: 2000 } as const;
const say = (text = ""): void => console.log(text);
const count = (stats: CacheStats, ...names: string[]): string =>
  names.map((n) => `${n}=${(stats.reads as Record<string, number>)[n] ?? (stats.writes as Record<string, number>)[n] ?? (stats.deletes as Record<string, number>)[n]}`).join(", ");
/** Waits until the background copies and rewrites the reads started are done (they run after each read returns). */
async function settle(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
}

// The service's migrations, defined once per entity (docs/migrations.md): every accessor made below uses them.
const userCache = defineUserCache({
  // Revision 1 had no full_name: derive one from its name instead of the declared default "Unknown".
  upgrades: { 1: (old, upgraded) => ({ ...upgraded, fullName: upgraded.fullName === "Unknown" ? titleCase(old.name) : upgraded.fullName }) },
});
const userV2Cache = defineUserV2Cache({
  fromPrevious: (old) => createUserV2({ id: old.id, displayName: old.fullName, email: old.email, emailVerified: old.verified, locale: old.locale }),
  toPrevious: (v) => createUser({ id: v.id, name: v.displayName, fullName: v.displayName, email: v.email, verified: v.emailVerified, locale: v.locale }),
});

function titleCase(name: string): string {
  return name.replace(/\b\w/g, (c) => c.toUpperCase());
}

/**
 * An instance still running revision 1 of acme.user.v1.User, as its
 * generated code behaves: it writes revision-1 envelopes, and its
 * never-downgrade guard knows only the schema IDs its lock had then (so
 * not revision 2's). Built from the lock's stored descriptor.
 */
class RevisionOneInstance {
  private readonly id: number;
  private readonly type;
  private readonly knownIds: Buffer;

  constructor(private readonly store: CacheStore) {
    const r1 = schemaDescriptors.find((d) => d.message === userEntity.typeName && d.revision === 1);
    if (r1 === undefined) throw new Error("revision 1 of acme.user.v1.User is not in the lock");
    this.id = r1.id;
    this.type = new SchemaDecoder(schemaDescriptors).typeOf(r1.id);
    // What its lock held: everything but User's later revisions and the v2 major.
    const known = schemaDescriptors.filter((d) => d.major === 1 && !(d.message === userEntity.typeName && d.revision > 1));
    this.knownIds = Buffer.concat(known.map((d) => Buffer.from([d.id >>> 24, (d.id >>> 16) & 255, (d.id >>> 8) & 255, d.id & 255])));
  }

  set(value: { id: string; name: string; email: string }, ttlSeconds: number): Promise<SetOutcome> {
    const head = Buffer.from([0xc1, 1, 0, this.id >>> 24, (this.id >>> 16) & 255, (this.id >>> 8) & 255, this.id & 255]);
    const payload = Buffer.from(this.type.encode(this.type.fromObject(value)).finish());
    return this.store.set({ key: `user:v1:${value.id}`, value: Buffer.concat([head, payload]), ttlSeconds }, { knownIds: this.knownIds, invalidate: true });
  }
}

async function openStore(): Promise<{ store: CacheStore; raw: Redis | undefined; close: () => Promise<void>; where: string }> {
  if (!hasRedisServer()) {
    return { store: new MemoryStore(), raw: undefined, close: async () => {}, where: "MemoryStore (redis-server is not installed: apt-get install redis-server to run this against Redis)" };
  }
  const server: RedisProcess = await startRedis();
  const client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  const raw = new Redis(server.url);
  return {
    store: new RedisStore(client),
    raw,
    where: `a local redis-server on port ${server.port}, started for this demo`,
    close: async () => {
      client.disconnect();
      raw.disconnect();
      await server.stop();
    },
  };
}

async function main(): Promise<void> {
  const { store, raw, close, where } = await openStore();
  const ids = Array.from({ length: users }, (_, i) => ({ id: String(i) }));
  const ttlOf = async (key: string): Promise<string> => {
    const ms = raw === undefined ? (store as MemoryStore).pttl(key) : await raw.pttl(key);
    return ms < 0 ? (ms === -1 ? "no expiry" : "absent") : `${(ms / 1000).toFixed(1)} s left`;
  };
  const setRaw = async (key: string, json: string, ttl: number): Promise<void> => {
    if (raw === undefined) (store as MemoryStore).setRaw(key, Buffer.from(json), ttl);
    else await raw.set(key, json, "EX", ttl);
  };
  try {
    say(`protocache migration demo, on ${where}.`);
    say();
    say(`1. Before protocache, the accounts service cached ${users} users as JSON at v3:user:<id> (SETEX 600):`);
    for (const { id } of ids) {
      const n = Number(id);
      const json =
        n % 50 === 0 ? `{"id":${id},"name":` // cut off mid-write
        : n % 25 === 0 ? JSON.stringify({ id, name: 42 }) // a bug once wrote a number
        : n % 10 === 0 ? JSON.stringify({ id, name: `user ${id}` }) // written before email existed
        : JSON.stringify({ id, name: `user ${id}`, email: `u${id}@example.com`, fullName: `User ${id}`, verified: true, locale: "en-GB" });
      await setRaw(`v3:user:${id}`, json, 600);
    }
    say(`   e.g. v3:user:7 = {"id":"7","name":"user 7",...}, ${await ttlOf("v3:user:7")}`);
    say();

    say("2. protocache v1 is deployed and adopts the old cache on misses (legacy: { key: ({ id }) => `v3:user:${id}`, deleteOld: true }):");
    const adopting = userCache(store, { ...options, legacy: { key: ({ id }) => `v3:user:${id}`, deleteOld: true }, onError: () => {} });
    for (let i = 0; i < ids.length; i += 100) await adopting.getMany(ids.slice(i, i + 100));
    await settle(() => {
      const w = adopting.stats().writes;
      return w.adopted + w.adopt_skipped + w.adopt_error === adopting.stats().reads.legacy;
    });
    const s2 = adopting.stats();
    say(`   ${count(s2, "legacy", "legacy_rejected")}: valid and partial entries converted, wrong-typed and malformed ones refused (counted, reported to onError).`);
    say(`   ${count(s2, "adopted", "legacy_deleted")}: written as envelopes at user:v1:<id> with the old expiry, old keys deleted.`);
    say(`   user:v1:7 now: ${await ttlOf("user:v1:7")} (the old key's), v3:user:7: ${await ttlOf("v3:user:7")}.`);
    say(`   user 10 had no email or fullName: ${JSON.stringify(await adopting.get({ id: "10" }))} (declared defaults).`);
    say();

    say("3. Revision 2 of acme.user.v1.User (full_name, verified, locale) rolls out while revision-1 instances still run.");
    const old = new RevisionOneInstance(store);
    for (let i = 0; i < 200; i++) await old.set({ id: `r1-${i}`, name: `grace hopper ${i}`, email: `g${i}@example.com` }, 300);
    const rolling = userCache(store, options);
    const r1Ids = Array.from({ length: 200 }, (_, i) => ({ id: `r1-${i}` }));
    const upgraded = await rolling.getMany(r1Ids);
    await settle(() => {
      const w = rolling.stats().writes;
      return w.written_back + w.write_back_skipped + w.write_back_error === rolling.stats().reads.upgraded;
    });
    const s3 = rolling.stats();
    say(`   revision 2 reads revision 1's entries: ${count(s3, "upgraded", "written_back")} (compare-and-set, TTL kept: ${await ttlOf("user:v1:r1-0")}).`);
    say(`   user r1-0 reads as ${JSON.stringify(upgraded[0])}: declared defaults, then the upgrade hook (fullName from name).`);
    let invalidated = 0;
    for (let i = 0; i < 50; i++) if ((await old.set({ id: `r1-${i}`, name: "changed by revision 1", email: "" }, 300)) === "invalidated") invalidated++;
    say(`   a revision-1 instance writing 50 of those keys: invalidated=${invalidated} of 50 (it cannot know revision 2's fields, so it never`);
    say(`   overwrites them; its value is newer data, so the guard deletes them instead: onGuarded "delete", the default).`);
    const before = rolling.stats().reads;
    await rolling.getMany(r1Ids);
    const after = rolling.stats().reads;
    say(`   one more pass over them: hit=${after.hit - before.hit}, miss=${after.miss - before.miss} (converted once, hits since; the 50 deleted ones reload from the source).`);
    say();

    say("4. Major v2 (acme.user.v2.User, migrates_from acme.user.v1.User) ships beside v1, reading through and dual-writing.");
    const v2 = userV2Cache(store, { ...options, previousMajor: "dual-write" });
    const v1 = userCache(store, options);
    for (let i = 0; i < ids.length; i += 100) await v2.getMany(ids.slice(i, i + 100));
    await settle(() => {
      const w = v2.stats().writes;
      return w.migrated + w.migrate_skipped + w.migrate_error === v2.stats().reads.read_through;
    });
    const s4 = v2.stats();
    say(`   v2 misses read through to v1: ${count(s4, "read_through", "miss")}; copies written to user:v2:<id>: ${count(s4, "migrated", "migrate_skipped")}.`);
    say(`   user:v2:7 ${await ttlOf("user:v2:7")}, user:v1:7 ${await ttlOf("user:v1:7")}: a copy never outlives its source.`);
    for (let i = 0; i < 100; i++) await v2.set(createUserV2({ id: String(i), displayName: `Renamed ${i}`, email: `u${i}@example.com`, emailVerified: true, roles: ["member"] }));
    const seenByV1 = await v1.getMany(ids.slice(0, 100));
    say(`   v2 writes 100 users: ${count(v2.stats(), "written", "dual_written")}; v1 instances read them: ${count(v1.stats(), "hit", "miss")}, e.g. ${JSON.stringify((seenByV1[5] as User).fullName)}.`);
    await v2.delete({ id: "5" });
    say(`   v2 deletes user 5: user:v2:5 ${await ttlOf("user:v2:5")}, user:v1:5 ${await ttlOf("user:v1:5")}.`);
    const done = userV2Cache(store, { ...options, previousMajor: "off" });
    await done.get({ id: "999" });
    say(`   once every instance runs v2, previousMajor: "off" ends the transition: ${count(done.stats(), "hit", "read_through")} for user 999.`);
    say();
    say("Next: docs/migrations.md (strategies side by side), docs/policies.md (every outcome and option).");
  } finally {
    await close();
  }
}

await main();
