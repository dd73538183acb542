import { describe, expect, it } from "vitest";
import { freshAndCommitted } from "../../bench/protobuf-es-gen.js";

/**
 * bench/protobuf-es/ (protobuf-es's generated code for the JSON benchmark's
 * baseline) is committed: regenerating it from proto/ with the installed
 * protoc-gen-es must give the same files, or the bench would compare against
 * code for other schemas (fix: `node --import tsx bench/protobuf-es-gen.ts`).
 */
describe("bench/protobuf-es", () => {
  it("equals a fresh protoc-gen-es run over proto/, file for file", () => {
    const { fresh, committed } = freshAndCommitted();
    expect(fresh.size).toBeGreaterThan(0);
    expect([...committed.keys()]).toEqual([...fresh.keys()]);
    for (const [path, text] of fresh) expect(committed.get(path), path).toBe(text);
  });
});
