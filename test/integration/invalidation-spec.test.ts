import { expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import type { EntityCache } from "../../src/accessor/entity-cache.js";
import { accessorInternals, type WithInternals } from "../../src/accessor/internals.js";
import type { AccessorOptions } from "../../src/accessor/options.js";
import { readHeader } from "../../src/envelope/header.js";
import { ConfigError, InvalidationStateError, type ProtocacheError } from "../../src/errors.js";
import { invalidateTags } from "../../src/invalidation/invalidate.js";
import { scopeKeyOf, tagKeyOf } from "../../src/invalidation/tag-keys.js";
import { describeEveryBackend, type Backend } from "../support/backends.js";
import { heardAll, l1, listen, user } from "../support/l1-harness.js";
import { uniquePrefix } from "../support/redis-client.js";

/**
 * Tags and clear() over every backend (docs/invalidation.md). Assertions
 * that an invalidation by someone else reached an accessor wait for the
 * invalidation of the state key itself (a listener on the same source),
 * never for a time.
 */

type Users = EntityCache<User, { id: string }>;

/** Resolves once the accessor's tag states are kept valid by tracking. */
async function statesLive(cache: Users): Promise<void> {
  expect(await (cache as unknown as WithInternals<User, { id: string }>)[accessorInternals]().invalidationReady(10_000)).toBe(true);
}

describeEveryBackend("tags and clear()", (backend: () => Backend) => {
  const users = (prefix: string, options: AccessorOptions<User> = {}): Users =>
    userCache(backend().store, { prefix, deadlineMs: 5_000, invalidation: { tracking: backend().tracking }, ...options });
  const withL1 = (prefix: string, options: AccessorOptions<User> = {}): Users => users(prefix, { l1: { ...l1, tracking: backend().tracking }, ...options });

  it("invalidateTags makes entries carrying a tag misses for get, getMany and getOrSet (which loads again); entries without it stay hits", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    await cache.setMany([user("1"), user("2")], { tags: ["shop:1", "all"] });
    await cache.set(user("3"), { tags: ["shop:2"] });
    await cache.set(user("4"));
    expect((await cache.getMany([{ id: "1" }, { id: "2" }, { id: "3" }, { id: "4" }])).map((u) => u?.id)).toEqual(["1", "2", "3", "4"]);
    await cache.invalidateTags(["shop:1"]);
    expect(await cache.get({ id: "1" })).toBeUndefined();
    expect((await cache.getMany([{ id: "1" }, { id: "2" }, { id: "3" }, { id: "4" }])).map((u) => u?.id)).toEqual([undefined, undefined, "3", "4"]);
    let loads = 0;
    const loaded = await cache.getOrSet({ id: "2" }, ({ id }) => (loads++, user(id, "reloaded")));
    expect(loaded?.name).toBe("reloaded");
    expect(loads).toBe(1);
    // Loaded after the invalidation: a hit again (with no tags, as this load gave none).
    expect((await cache.get({ id: "2" }))?.name).toBe("reloaded");
    expect(cache.stats().invalidation).toMatchObject({ tags_invalidated: 1 });
    expect(cache.stats().invalidation.invalidated).toBeGreaterThanOrEqual(4);
    await cache.close();
  });

  it("tags given per call and chosen by the loader (setTags) are both written in the envelope, and either one invalidates the entry", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    let loads = 0;
    const loader = ({ id }: { id: string }, { setTags }: { setTags(tags: readonly string[]): void }): User => {
      loads++;
      setTags([`user:${id}`]);
      return user(id);
    };
    await cache.getOrSet({ id: "1" }, loader, { tags: ["call"] });
    const bytes = await backend().raw.get(cache.keyOf({ id: "1" }));
    expect(readHeader(bytes as Buffer).tags).toEqual(["call", "user:1"]);
    await cache.getOrSet({ id: "1" }, loader, { tags: ["call"] });
    expect(loads).toBe(1);
    await cache.invalidateTags(["user:1"]);
    await cache.getOrSet({ id: "1" }, loader, { tags: ["call"] });
    expect(loads).toBe(2);
    await cache.invalidateTags(["call"]);
    await cache.getOrSet({ id: "1" }, loader, { tags: ["call"] });
    expect(loads).toBe(3);
    await cache.close();
  });

  it("a batch loader tags each key's entry (setTags with an index) or all of them (without); invalidating one key's tag reloads only that key, the shared tag all three", async () => {
    const prefix = uniquePrefix();
    const cache = users(prefix);
    const loaded: string[] = [];
    const loader = (fields: readonly { id: string }[], { setTags }: { setTags(tags: readonly string[], index?: number): void }): User[] => {
      setTags(["batch"]);
      fields.forEach((f, i) => setTags([`user:${f.id}`], i));
      loaded.push(...fields.map((f) => f.id));
      return fields.map((f) => user(f.id));
    };
    await cache.getManyOrSet([{ id: "a" }, { id: "b" }, { id: "c" }], loader);
    expect(readHeader((await backend().raw.get(cache.keyOf({ id: "b" }))) as Buffer).tags).toEqual(["batch", "user:b"]);
    await cache.invalidateTags(["user:b"]);
    loaded.length = 0;
    await cache.getManyOrSet([{ id: "a" }, { id: "b" }, { id: "c" }], loader);
    expect(loaded).toEqual(["b"]);
    // "batch" is on every entry, the one reloaded above too.
    await cache.invalidateTags(["batch"]);
    loaded.length = 0;
    await cache.getManyOrSet([{ id: "a" }, { id: "b" }, { id: "c" }], loader);
    expect(loaded).toEqual(["a", "b", "c"]);
    await cache.close();
  });

  it("an invalidation written by another process (a raw SET of the tag's state) reaches an accessor's L1: the next read after it arrives is a miss", async () => {
    const prefix = uniquePrefix();
    const heard = listen(backend().tracking, prefix);
    const cache = withL1(prefix);
    await statesLive(cache);
    expect(await (cache as unknown as WithInternals<User, { id: string }>)[accessorInternals]().l1?.ready(10_000)).toBe(true);
    await cache.set(user("1"), { tags: ["t"] });
    await heardAll(heard, [cache.keyOf({ id: "1" })]);
    expect((await cache.get({ id: "1" }))?.id).toBe("1");
    expect((await cache.get({ id: "1" }))?.id).toBe("1");
    expect(cache.stats().l1.hit).toBeGreaterThanOrEqual(1);
    const state = tagKeyOf(prefix, "t");
    await backend().raw.set(state, String(Date.now() + 1));
    await heardAll(heard, [state]);
    expect(await cache.get({ id: "1" })).toBeUndefined();
    expect(cache.stats().invalidation.invalidated).toBeGreaterThanOrEqual(1);
    heard.close();
    await cache.close();
  });

  it("invalidateTags of the runtime (no accessor) reaches accessors of the same prefix, in this process at once", async () => {
    const prefix = uniquePrefix();
    const cache = withL1(prefix);
    await cache.set(user("1"), { tags: ["shop:9"] });
    await cache.get({ id: "1" });
    await invalidateTags(backend().store, ["shop:9"], { prefix });
    expect(await cache.get({ id: "1" })).toBeUndefined();
    await cache.close();
  });

  it("clear() makes every entry of the key space written before it a miss, entries written after it hits, and leaves another variant's key space alone", async () => {
    const prefix = uniquePrefix();
    const cache = withL1(prefix);
    const other = users(prefix, { variant: "eu" });
    await cache.setMany([user("1"), user("2")]);
    await other.set(user("1"));
    await cache.get({ id: "1" });
    await cache.clear();
    expect(await cache.getMany([{ id: "1" }, { id: "2" }])).toEqual([undefined, undefined]);
    expect((await other.get({ id: "1" }))?.id).toBe("1");
    // A write in the same millisecond as the clear counts as before it (written-at has millisecond resolution).
    const cleared = Date.now();
    while (Date.now() <= cleared) await new Promise((r) => setTimeout(r, 1));
    await cache.set(user("2", "after"));
    expect((await cache.get({ id: "2" }))?.name).toBe("after");
    expect(await backend().raw.get(scopeKeyOf(prefix, cache.keyOf({ id: "x" }).slice(0, -1)))).not.toBeNull();
    expect(cache.stats().invalidation.cleared).toBe(1);
    await Promise.all([cache.close(), other.close()]);
  });

  it("without the invalidation option, tags and clear() are ConfigErrors, and a tagged entry whose tag was invalidated is still a miss", async () => {
    const prefix = uniquePrefix();
    const plain = userCache(backend().store, { prefix, deadlineMs: 5_000 });
    await expect(plain.set(user("1"), { tags: ["t"] })).rejects.toThrow(ConfigError);
    await expect(plain.clear()).rejects.toThrow(/invalidation option/);
    const tagged = users(prefix);
    await tagged.set(user("1"), { tags: ["t"] });
    expect((await plain.get({ id: "1" }))?.id).toBe("1");
    await tagged.invalidateTags(["t"]);
    expect(await plain.get({ id: "1" })).toBeUndefined();
    await Promise.all([plain.close(), tagged.close()]);
  });

  it("a damaged tag state makes the entries it covers misses, reported once as an InvalidationStateError", async () => {
    const prefix = uniquePrefix();
    const errors: ProtocacheError[] = [];
    const cache = users(prefix, { onError: (e) => errors.push(e) });
    await cache.set(user("1"), { tags: ["t"] });
    await cache.set(user("2"), { tags: ["t"] });
    await backend().raw.set(tagKeyOf(prefix, "t"), "not a time");
    expect(await cache.getMany([{ id: "1" }, { id: "2" }])).toEqual([undefined, undefined]);
    expect(await cache.get({ id: "1" })).toBeUndefined();
    expect(errors.filter((e) => e instanceof InvalidationStateError)).toHaveLength(1);
    expect(cache.stats().invalidation.state_error).toBeGreaterThanOrEqual(1);
    await cache.close();
  });
});
