import { expect, it } from "vitest";
import { isScanCapable, type BulkStore, type ScanNode } from "../../src/stores/bulk.js";
import { classifyHead, ruleSelects } from "../../src/stores/head-class.js";
import { describeEveryBackend } from "../support/backends.js";
import { envelope } from "../support/entries.js";
import { uniquePrefix } from "../support/redis-client.js";

/** A unique prefix whose keys share one Cluster slot (a hash tag), so one server holds them all. */
const sameSlotPrefix = (): string => `{${uniquePrefix().slice(0, -1)}}:`;

/** Every key matching `match` on every server, in one full walk. */
async function scanAll(bulk: BulkStore, match: string, count = 50): Promise<string[]> {
  const keys: string[] = [];
  for (const node of await bulk.nodes()) {
    let cursor = "0";
    do {
      const page = await bulk.scan(node, cursor, match, count);
      keys.push(...page.keys);
      cursor = page.cursor;
    } while (cursor !== "0");
  }
  return keys;
}

/** The server holding `key` (the one whose scan returns it). */
async function nodeOf(bulk: BulkStore, key: string): Promise<ScanNode> {
  for (const node of await bulk.nodes()) {
    let cursor = "0";
    do {
      const page = await bulk.scan(node, cursor, key, 1000);
      if (page.keys.includes(key)) return node;
      cursor = page.cursor;
    } while (cursor !== "0");
  }
  throw new Error(`no server holds ${key}`);
}

/** Values every classification must get right, server-side and in TypeScript alike. */
const corpus: [string, Buffer][] = [
  ["json", Buffer.from('{"a":1}')],
  ["empty", Buffer.alloc(0)],
  ["short envelope", Buffer.from([0xc1, 1, 0])],
  ["r1", envelope(0x0000_0001, Buffer.from([8, 1]))],
  ["r2", envelope(0x0000_0002, Buffer.alloc(40))],
  ["r2 again", envelope(0x0000_0002, Buffer.alloc(3))],
  ["version 0", envelope(9, Buffer.alloc(0), { version: 0 })],
  ["version 2", envelope(7, Buffer.alloc(0), { version: 2 })],
  ["reserved flags", envelope(1, Buffer.alloc(0), { flags: 0x10 })],
  ["compression 3", envelope(1, Buffer.alloc(0), { flags: 0x03 })],
  ["id with 0xC1 bytes", envelope(0xc1c1_0001, Buffer.alloc(1))],
  ["tags and written-at", envelope(1, Buffer.alloc(2), { flags: 0x24 })],
  ["tags without written-at", envelope(1, Buffer.alloc(2), { flags: 0x20 })],
  ["absent marker with tags", envelope(1, Buffer.alloc(0), { flags: 0x34 })],
  ["compressed absent marker with tags", envelope(1, Buffer.alloc(0), { flags: 0x35 })],
  ["reserved bit 6", envelope(1, Buffer.alloc(0), { flags: 0x44 })],
];

/** The bulk primitives (store.bulk), run over every backend. */
describeEveryBackend("bulk primitives", (backend) => {
  it("every store offers them", () => {
    expect(isScanCapable(backend().store)).toBe(true);
  });

  it("a SCAN walk over every server returns exactly the keys its pattern matches, hostile neighbours excluded", async () => {
    const prefix = uniquePrefix();
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    const inside = Array.from({ length: 120 }, (_, i) => `${prefix}user:v1:${i}`);
    const outside = [`${prefix}user:v10:1`, `${prefix}user:v2:1`, `${prefix}users:v1:1`, `${prefix}user:v1`, `${prefix}user*:v1:1`, `${prefix}{user}:v1:1`];
    for (const k of [...inside, ...outside]) await raw.set(k, "x");
    const found = await scanAll(bulk, `${prefix}user:v1:*`);
    expect(new Set(found)).toEqual(new Set(inside));
    for (const node of await bulk.nodes()) {
      const info = await bulk.describe(node);
      expect(info.runId).toMatch(/\S/);
      expect(info.keys).toBeGreaterThanOrEqual(0);
    }
  });

  it("read returns values with their absolute expiry, none for keys without one, null for absent keys", async () => {
    const prefix = sameSlotPrefix();
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    await raw.set(`${prefix}a`, Buffer.from([1, 2]), 100);
    const node = await nodeOf(bulk, `${prefix}a`);
    const [withTtl, absent] = await bulk.read(node, [`${prefix}a`, `${prefix}none`], true);
    expect(absent).toBeNull();
    expect(withTtl).toMatchObject({ value: Buffer.from([1, 2]) });
    const at = (withTtl as { expireAt: number }).expireAt;
    expect(Math.abs(at - (await raw.expireTime(`${prefix}a`)))).toBeLessThanOrEqual(5);
    await raw.set(`${prefix}b`, "v");
    const [forever] = await bulk.read(await nodeOf(bulk, `${prefix}b`), [`${prefix}b`], true);
    expect(forever).toEqual({ value: Buffer.from("v"), expireAt: undefined });
  });

  it("tally classifies and sizes every value exactly like classifyHead, wrong-type and vanished keys included", async () => {
    const prefix = sameSlotPrefix();
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    for (const [name, value] of corpus) await raw.set(`${prefix}${name}`, value);
    const keys = [...corpus.map(([name]) => `${prefix}${name}`), `${prefix}gone`];
    if (raw.setWrongType !== undefined) {
      await raw.setWrongType(`${prefix}hash`);
      keys.push(`${prefix}hash`);
    }
    const node = await nodeOf(bulk, `${prefix}json`);
    const tally = await bulk.tally(node, keys);
    const expected = new Map<string, { count: number; bytes: number }>();
    for (const [, value] of [...corpus, ["gone", undefined] as const]) {
      const { kind, schemaId } = classifyHead(value);
      const g = expected.get(`${kind}:${schemaId}`) ?? { count: 0, bytes: 0 };
      expected.set(`${kind}:${schemaId}`, { count: g.count + 1, bytes: g.bytes + (value?.length ?? 0) });
    }
    if (raw.setWrongType !== undefined) expected.set("other-type:undefined", { count: 1, bytes: 0 });
    expect(new Map(tally.map((t) => [`${t.kind}:${t.schemaId}`, { count: t.count, bytes: t.bytes }]))).toEqual(expected);
  });

  it("tallyScan (SCAN and census in one script) counts the namespace's keys exactly like tally over a SCAN walk", async () => {
    const prefix = uniquePrefix();
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    const inside = corpus.flatMap(([name, value]) => Array.from({ length: 20 }, (_, i) => ({ key: `${prefix}ns:${name}:${i}`, value })));
    await raw.setMany([...inside, { key: `${prefix}ns`, value: "x" }, { key: `${prefix}nsx:1`, value: "y" }]);
    const totals = new Map<string, number>();
    let keys = 0;
    for (const node of await bulk.nodes()) {
      let cursor = "0";
      do {
        const page = await bulk.tallyScan(node, cursor, `${prefix}ns*`, 37, `${prefix}ns:`);
        keys += page.keys;
        for (const t of page.tally) totals.set(`${t.kind}:${t.schemaId}`, (totals.get(`${t.kind}:${t.schemaId}`) ?? 0) + t.count);
        cursor = page.cursor;
      } while (cursor !== "0");
    }
    expect(keys).toBe(inside.length);
    const expected = new Map<string, number>();
    for (const { value } of inside) {
      const { kind, schemaId } = classifyHead(value);
      expected.set(`${kind}:${schemaId}`, (expected.get(`${kind}:${schemaId}`) ?? 0) + 1);
    }
    expect(totals).toEqual(expected);
  });

  it("replace keeps the TTL exactly (none stays none), never re-creates a deleted key and leaves changed values alone", async () => {
    const prefix = sameSlotPrefix();
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    await raw.set(`${prefix}ttl`, "old", 500);
    await raw.set(`${prefix}forever`, "old");
    await raw.set(`${prefix}changed`, "new");
    const before = await raw.expireTime(`${prefix}ttl`);
    const node = await nodeOf(bulk, `${prefix}ttl`);
    const results = await bulk.replace(node, [
      { key: `${prefix}ttl`, expected: Buffer.from("old"), value: Buffer.from("v2") },
      { key: `${prefix}forever`, expected: Buffer.from("old"), value: Buffer.from("v2") },
      { key: `${prefix}changed`, expected: Buffer.from("old"), value: Buffer.from("v2") },
      { key: `${prefix}deleted`, expected: Buffer.from("old"), value: Buffer.from("v2") },
    ]);
    expect(results).toEqual(["replaced", "replaced", "changed", "absent"]);
    expect(await raw.expireTime(`${prefix}ttl`)).toBe(before);
    expect(await raw.expireTime(`${prefix}forever`)).toBe(-1);
    expect((await raw.get(`${prefix}changed`))?.toString()).toBe("new");
    expect(await raw.get(`${prefix}deleted`)).toBeNull();
  });

  it("create sets only absent keys, with the absolute expiry given, routed to each key's server", async () => {
    const prefix = uniquePrefix();
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    await raw.set(`${prefix}k3`, "kept");
    const at = Date.now() + 60_000;
    const items = Array.from({ length: 8 }, (_, i) => ({ key: `${prefix}k${i}`, value: Buffer.from(`v${i}`), expireAt: i % 2 === 0 ? at : undefined }));
    const results = await bulk.create(items);
    expect(results).toEqual(items.map((_, i) => (i === 3 ? "exists" : "created")));
    expect((await raw.get(`${prefix}k3`))?.toString()).toBe("kept");
    expect(Math.abs((await raw.expireTime(`${prefix}k2`)) - at)).toBeLessThanOrEqual(1);
    expect(await raw.expireTime(`${prefix}k5`)).toBe(-1);
  });

  it("deleteWhere deletes exactly what the rule selects, deciding on the server like ruleSelects", async () => {
    const { raw, store } = backend();
    const bulk = (store as unknown as { bulk: BulkStore }).bulk;
    const rules = [
      { schemaIds: [2], legacy: false, corrupt: false, all: false },
      { schemaIds: [0xc1c1_0001, 1], legacy: true, corrupt: false, all: false },
      { schemaIds: [], legacy: false, corrupt: true, all: false },
      { schemaIds: [], legacy: false, corrupt: false, all: true },
    ];
    for (const rule of rules) {
      const prefix = sameSlotPrefix();
      for (const [name, value] of corpus) await raw.set(`${prefix}${name}`, value);
      const keys = [...corpus.map(([name]) => `${prefix}${name}`), `${prefix}gone`];
      const done = await bulk.deleteWhere(await nodeOf(bulk, `${prefix}json`), keys, rule);
      const selected = corpus.filter(([, v]) => {
        const { kind, schemaId } = classifyHead(v);
        return ruleSelects(rule, kind, schemaId);
      });
      expect(done).toEqual({ deleted: selected.length, bytes: selected.reduce((n, [, v]) => n + v.length, 0) });
      for (const [name, value] of corpus) {
        const left = await raw.get(`${prefix}${name}`);
        expect(left === null, `${name} under ${JSON.stringify(rule)}`).toBe(selected.some(([n]) => n === name));
        if (left !== null) expect(left).toEqual(value);
      }
    }
  });
});
