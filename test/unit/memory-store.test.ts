import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { guardAllows } from "../../src/envelope/guard.js";
import { envelope } from "../support/entries.js";

const known = Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]);

describe("MemoryStore", () => {
  it("expires values like Redis: TTL in seconds, 0 for none, PTTL -1/-2", async () => {
    let now = 0;
    const store = new MemoryStore({ now: () => now });
    await store.setMany([{ key: "a", value: Buffer.from("1"), ttlSeconds: 10 }, { key: "b", value: Buffer.from("2"), ttlSeconds: 0 }], undefined);
    expect(store.pttl("a")).toBe(10_000);
    expect(store.pttl("b")).toBe(-1);
    expect(store.pttl("c")).toBe(-2);
    now = 9_999;
    expect((await store.get("a"))?.toString()).toBe("1");
    now = 10_000;
    expect(await store.get("a")).toBeNull();
    expect(store.keys()).toEqual(["b"]);
    expect(await store.delete(["a", "b"])).toBe(1);
  });

  it("copies values in and out, as over a network", async () => {
    const store = new MemoryStore();
    const value = Buffer.from("abc");
    await store.setMany([{ key: "k", value, ttlSeconds: 0 }], undefined);
    value[0] = 0x7a;
    const read = await store.get("k");
    expect(read?.toString()).toBe("abc");
    (read as Buffer)[0] = 0x7a;
    expect((await store.get("k"))?.toString()).toBe("abc");
  });
});

describe("the never-downgrade guard", () => {
  it.each([
    ["no value", undefined, true],
    ["a legacy value", Buffer.from('{"a":1}'), true],
    ["a truncated envelope", Buffer.from([0xc1, 1, 0]), true],
    ["a known ID", envelope(2, Buffer.alloc(0)), true],
    ["an envelope version 0", envelope(9, Buffer.alloc(0), { version: 0 }), true],
    ["schema ID 0 (reserved: a corrupt entry)", envelope(0, Buffer.alloc(0)), true],
    ["an unknown ID", envelope(9, Buffer.alloc(0)), false],
    ["a newer envelope version", envelope(1, Buffer.alloc(0), { version: 2 }), false],
    ["an ID whose bytes straddle two known IDs", envelope(0x00010000, Buffer.alloc(0)), false],
  ])("over %s: allowed = %s", async (_, current, allowed) => {
    expect(guardAllows(current, known)).toBe(allowed);
    const store = new MemoryStore();
    if (current !== undefined) store.setRaw("k", current);
    const [result] = await store.setMany([{ key: "k", value: Buffer.from("new"), ttlSeconds: 0 }], { knownIds: known });
    expect(result).toBe(allowed ? "written" : "guarded");
  });
});
