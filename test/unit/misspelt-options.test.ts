import { describe, expect, it } from "vitest";
import { userCache, type User } from "../../generated/acme/user/v1/user.cache.js";
import { schemaRegistry } from "../../generated/registry.js";
import { ConfigError } from "../../src/errors.js";
import { cleanup } from "../../src/ops/cleanup.js";
import { migrate } from "../../src/ops/migrate.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { newerUserEntry, userR1Entry } from "../support/entries.js";

const user = (id: string): User => ({ id, name: "n", email: "", fullName: "F", verified: false, locale: "en" });

/**
 * A store holding what each destructive path could destroy: revision-1
 * entries (migrate rewrites them, cleanup deletes them), a corrupt entry
 * (deleteCorrupt), a newer deploy's entry (the guard's onGuarded: "delete"),
 * and another application's keys under its own prefix.
 */
function seeded(): { store: MemoryStore; snapshot: () => Promise<Map<string, Buffer | null>> } {
  const store = new MemoryStore();
  for (let i = 0; i < 5; i++) store.setRaw(`user:v1:${i}`, userR1Entry({ id: String(i), name: `n${i}`, email: "" }));
  store.setRaw("user:v1:corrupt", Buffer.from([0xc1, 0x01, 0xf0, 0, 0, 0, 1]));
  store.setRaw("user:v1:newer", newerUserEntry({ id: "newer", name: "from a newer deploy" }));
  for (let i = 0; i < 3; i++) store.setRaw(`other:user:v1:${i}`, userR1Entry({ id: String(i), name: "other app", email: "" }));
  const snapshot = async (): Promise<Map<string, Buffer | null>> => {
    const keys = store.keys().sort();
    const values = await store.getMany(keys);
    return new Map(keys.map((k, i) => [k, values[i] ?? null]));
  };
  return { store, snapshot };
}

/** One misspelt (or mistyped) option of a destructive operation, and the option the ConfigError must name. */
interface Case {
  readonly what: string;
  readonly run: (store: MemoryStore) => Promise<unknown>;
  readonly option: string;
  /** The closest valid name the message suggests, for a misspelt name. */
  readonly suggests?: string;
}

const cases: readonly Case[] = [
  { what: "cleanup { all, dryrun }", run: (s) => cleanup(userCache(s), { all: true, dryrun: true } as never), option: "dryrun", suggests: "dryRun" },
  { what: "cleanup { all, dry_run }", run: (s) => cleanup(userCache(s), { all: true, dry_run: true } as never), option: "dry_run", suggests: "dryRun" },
  { what: "cleanup { all, DryRun }", run: (s) => cleanup(userCache(s), { all: true, DryRun: true } as never), option: "DryRun", suggests: "dryRun" },
  { what: 'cleanup { all, dryRun: "yes" }', run: (s) => cleanup(userCache(s), { all: true, dryRun: "yes" } as never), option: "dryRun" },
  { what: "cleanup { revisions: [1], dryRn }", run: (s) => cleanup(userCache(s), { revisions: [1], dryRn: true } as never), option: "dryRn", suggests: "dryRun" },
  { what: "cleanup { revison: [2], all }", run: (s) => cleanup(userCache(s), { revison: [2], all: true } as never), option: "revison", suggests: "revisions" },
  { what: 'cleanup { corrupt: "false", all }', run: (s) => cleanup(userCache(s), { corrupt: "false", legacy: true } as never), option: "corrupt" },
  {
    what: "cleanup of a key space { prefx } (would walk another application's keys)",
    run: (s) => cleanup({ store: s, entity: "user", major: 1, registry: schemaRegistry, prefx: "other:" } as never, { all: true }),
    option: "prefx",
    suggests: "prefix",
  },
  { what: "migrate { dryrun }", run: (s) => migrate(userCache(s), { dryrun: true } as never), option: "dryrun", suggests: "dryRun" },
  { what: "migrate { dryRun: 1 }", run: (s) => migrate(userCache(s), { dryRun: 1 } as never), option: "dryRun" },
  { what: "migrate { dry-run }", run: (s) => migrate(userCache(s), { "dry-run": true } as never), option: "dry-run", suggests: "dryRun" },
  {
    what: "migrate { from: { accesor } }",
    run: (s) => migrate(userCache(s), { from: { accesor: userCache(s), convert: (v: unknown) => v } } as never),
    option: "from.accesor",
    suggests: "accessor",
  },
  { what: 'accessor { onguarded: "keep" } then set over a newer entry', run: async (s) => userCache(s, { onguarded: "keep" } as never).set(user("newer")), option: "onguarded", suggests: "onGuarded" },
  { what: 'accessor { onGuarded: "Keep" } then set over a newer entry', run: async (s) => userCache(s, { onGuarded: "Keep" } as never).set(user("newer")), option: "onGuarded" },
  { what: "accessor { guardwrites: true } then set over a newer entry", run: async (s) => userCache(s, { guardwrites: true } as never).set(user("newer")), option: "guardwrites", suggests: "guardWrites" },
  { what: "accessor { deleteCorupt: false } then a read of a corrupt entry", run: async (s) => userCache(s, { deleteCorupt: false } as never).get({ id: "corrupt" }), option: "deleteCorupt", suggests: "deleteCorrupt" },
  { what: 'accessor { deleteCorrupt: "false" } then a read of a corrupt entry', run: async (s) => userCache(s, { deleteCorrupt: "false" } as never).get({ id: "corrupt" }), option: "deleteCorrupt" },
  { what: "accessor { deleterejected: false, minRevision: 2 } then a read of an r1 entry", run: async (s) => userCache(s, { deleterejected: false, minRevision: 2 } as never).get({ id: "1" }), option: "deleterejected", suggests: "deleteRejected" },
  { what: "set(value, { ttlseconds: 5 }) (would write with the accessor's TTL)", run: (s) => userCache(s).set(user("0"), { ttlseconds: 5 } as never), option: "write options.ttlseconds", suggests: "ttlSeconds" },
];

describe("no misspelt option reaches a destructive operation", () => {
  it.each(cases)("$what: a ConfigError naming $option before anything runs, every entry left as it was", async ({ run, option, suggests }) => {
    const { store, snapshot } = seeded();
    const before = await snapshot();
    const error = await run(store).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).option).toBe(option);
    if (suggests !== undefined) expect((error as ConfigError).hint).toBe(`did you mean ${suggests}?`);
    await new Promise((r) => setTimeout(r, 10)); // any background write-back or delete would have run by now
    expect(await snapshot()).toEqual(before);
  });

  it("the same operations spelt right do change the store (so the cases above could fail)", async () => {
    const cleaned = seeded();
    expect((await cleanup(userCache(cleaned.store), { all: true, includeLive: true })).deleted).toBe(7);
    const migrated = seeded();
    expect((await migrate(userCache(migrated.store), {})).counts.migrated).toBe(5);
    const guarded = seeded();
    expect(await userCache(guarded.store).set(user("newer"))).toBe("guarded");
    expect(await guarded.store.get("user:v1:newer")).toBeNull();
    const corrupt = seeded();
    await userCache(corrupt.store, { deleteCorrupt: true }).get({ id: "corrupt" });
    await new Promise((r) => setTimeout(r, 10));
    expect(await corrupt.store.get("user:v1:corrupt")).toBeNull();
    const other = seeded();
    expect((await cleanup({ store: other.store, entity: "user", major: 1, registry: schemaRegistry, prefix: "other:", retired: true }, { all: true })).deleted).toBe(3);
  });
});
