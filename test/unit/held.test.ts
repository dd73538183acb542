import { describe, expect, it } from "vitest";
import { Held, HeldShapes } from "../../src/accessor/held.js";
import type { Interpretation } from "../../src/accessor/read.js";
import type { EnvelopeHeader } from "../../src/envelope/header.js";

const header = (over: Partial<EnvelopeHeader> = {}): EnvelopeHeader => ({ version: 1, schemaId: 0xd37c_9a1c, compression: "none", writtenAt: Date.now() - 1234, writerTag: "svc@1", payloadStart: 19, absent: false, tags: undefined, ...over });
const seen = (h: EnvelopeHeader | undefined, value: unknown = { id: "u1" }): Interpretation<unknown> => ({ outcome: "hit", value, header: h, revision: { schemaId: 0xd37c_9a1c, revision: 3 }, error: undefined, envelope: Buffer.from([1]), work: 7 });

describe("the L1's held record", () => {
  it("reads back every field of the interpretation and its header as given (the header is the record itself); no envelope, no error, no work", () => {
    const h = header({ tags: ["team:a"] });
    const s = seen(h);
    const held = new HeldShapes<unknown>().hold(s);
    expect(held).toBeInstanceOf(Held);
    expect({ outcome: held.outcome, value: held.value, revision: held.revision, error: held.error, envelope: held.envelope }).toEqual({ outcome: "hit", value: s.value, revision: s.revision, error: undefined, envelope: undefined });
    expect(held.value).toBe(s.value);
    const got = held.header as EnvelopeHeader;
    expect({ version: got.version, schemaId: got.schemaId, compression: got.compression, writtenAt: got.writtenAt, writerTag: got.writerTag, payloadStart: got.payloadStart, absent: got.absent, tags: got.tags }).toEqual(h);
  });

  it("keeps a written-at exactly: 30 days away, 1970 and 2100, either side of a window's edge, fractional, or none", () => {
    const shapes = new HeldShapes<unknown>();
    for (const writtenAt of [Date.now() - 30 * 86_400_000, Date.now() + 30 * 86_400_000, 0, -1, Date.UTC(2100, 0, 1), 2 ** 30 - 1, 2 ** 30, 1.5, undefined]) {
      expect(shapes.hold(seen(header({ writtenAt }))).header?.writtenAt).toBe(writtenAt);
    }
  });

  it("shares one shared part between entries read with the same header fields and written-at window, and makes another for a different writer tag or window", () => {
    const shapes = new HeldShapes<unknown>();
    const a = shapes.hold(seen(header({ writtenAt: 2 ** 31 + 10 }))) as unknown as { shared: unknown };
    const b = shapes.hold(seen(header({ writtenAt: 2 ** 31 + 20 }))) as unknown as { shared: unknown };
    const c = shapes.hold(seen(header({ writtenAt: 2 ** 31 + 10, writerTag: "svc@2" }))) as unknown as { shared: unknown };
    const otherWindow = shapes.hold(seen(header({ writtenAt: 2 ** 31 - 1 }))) as unknown as { shared: unknown };
    expect(a.shared).toBe(b.shared);
    expect(c.shared).not.toBe(a.shared);
    expect(otherWindow.shared).not.toBe(a.shared);
    expect((c as unknown as Held<unknown>).writerTag).toBe("svc@2");
  });

  it("withValue holds another value with the same header", () => {
    const held = new HeldShapes<unknown>().hold(seen(header())) as Held<unknown>;
    const copy = held.withValue({ id: "copy" });
    expect(copy.value).toEqual({ id: "copy" });
    expect(copy.header?.writtenAt).toBe(held.header.writtenAt);
    expect(copy.revision).toBe(held.revision);
  });

  it("an interpretation without a header is held as a plain record", () => {
    const held = new HeldShapes<unknown>().hold(seen(undefined));
    expect(held).not.toBeInstanceOf(Held);
    expect(held).toEqual({ outcome: "hit", value: { id: "u1" }, header: undefined, revision: { schemaId: 0xd37c_9a1c, revision: 3 }, error: undefined });
  });
});
