import { createFileRegistry, fromBinary, fromJson, toJson, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import type { Reader } from "../../src/codec/reader.js";
import { JsonError } from "../../src/errors.js";
import type { Writer } from "../../src/codec/writer.js";
import type { SchemaDescriptor } from "../../src/descriptors/index.js";
import { generateConformanceProject, repoRoot } from "../conformance/project.js";
import { encodeWith } from "../support/codec-harness.js";
import { messageArbitrary } from "../support/descriptor-arbitrary.js";

/**
 * The generated JSON codecs of the complete conformance schema
 * (`TestAllTypesProto3`: every scalar, enum, map, oneof and well-known type)
 * against protobuf-es's reflection JSON codec, on random values: both write
 * the same JSON, and each reads the other's. Any fields are cleared: their
 * JSON form is not generated yet (docs/conformance.md).
 */
interface Generated {
  encode: (w: Writer, v: unknown) => void;
  decode: (r: Reader, end: number) => unknown;
  toJson: (m: unknown, o?: object) => unknown;
  fromJson: (j: unknown, o?: object) => unknown;
}

const project = join(repoRoot, ".tmp", "json-differential", "project");
let generated: Generated;
let desc: DescMessage;

beforeAll(async () => {
  const module = await generateConformanceProject(project);
  const g = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
  generated = { encode: g["encodeTestAllTypesProto3"], decode: g["decodeTestAllTypesProto3"], toJson: g["toJsonTestAllTypesProto3"], fromJson: g["fromJsonTestAllTypesProto3"] } as Generated;
  const { schemaDescriptors } = (await import(pathToFileURL(join(project, "generated", "descriptors.ts")).href)) as { schemaDescriptors: readonly SchemaDescriptor[] };
  const typeName = "protobuf_test_messages.proto3.v1.TestAllTypesProto3";
  const entry = schemaDescriptors.find((e) => e.message === typeName);
  if (entry === undefined) throw new Error(`${typeName} is not in the lock`);
  const found = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(entry.descriptor, "base64"))).getMessage(typeName);
  if (found === undefined) throw new Error(`${typeName} is not in its descriptor`);
  desc = found;
}, 120_000);

/**
 * JSON has no form for a Value with no kind (`undefined`), a non-finite number in a Value, or a FieldMask
 * path that lowerCamelCase cannot carry back: both codecs refuse those (checked below). Nine values in ten
 * get JSON-safe ones in those fields, or nearly every random message would have one somewhere.
 */
function jsonSafe(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : 0;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, e] of Object.entries(v)) Object.defineProperty(out, k, { value: jsonSafe(e), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

const jsonValueFields = new Set(["optionalStruct", "optionalValue", "repeatedStruct", "repeatedValue", "repeatedListValue"]);

/** A field mask path lowerCamelCase carries: lower_snake_case words that each start with a letter. */
const safePath = (path: string, i: number): string => (path !== "" && /^[a-z0-9._]*$/.test(path) && !/_(?![a-z])/.test(path) ? path : `path_${String.fromCharCode(97 + (i % 26))}.x`);

/** Every message in `v` (nested ones, list elements and map values included) with JSON-safe well-known values. */
function fixMessages(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fixMessages);
  if (v instanceof Map) return new Map([...v].map(([k, e]) => [k, fixMessages(e)]));
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(v)) {
    if (jsonValueFields.has(k)) out[k] = e === undefined ? undefined : jsonSafe(e);
    else if (k === "optionalFieldMask") out[k] = e === undefined ? undefined : (e as string[]).map(safePath);
    else if (k === "repeatedFieldmask") out[k] = (e as string[][]).map((m) => m.map(safePath));
    else if (k === "oneofField" && nullValueCase(e)) out[k] = { $case: "oneofNullValue", oneofNullValue: 0 };
    else if (k === "optionalNullValue") out[k] = 0; // its only name; JSON null reads back as 0 whatever the number was
    else if (k === "optionalAny") out[k] = undefined;
    else if (k === "repeatedAny") out[k] = [];
    else out[k] = fixMessages(e);
  }
  return out;
}

const nullValueCase = (e: unknown): boolean => (e as { $case?: string } | undefined)?.$case === "oneofNullValue";

/** Every message in `v` without Any values (their JSON form is not generated yet), NullValue at its one value. */
function fixAnys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fixAnys);
  if (v instanceof Map) return new Map([...v].map(([k, e]) => [k, fixAnys(e)]));
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(v)) out[k] = k === "optionalNullValue" ? 0 : k === "oneofField" && nullValueCase(e) ? { $case: "oneofNullValue", oneofNullValue: 0 } : k === "optionalAny" ? undefined : k === "repeatedAny" ? [] : jsonValueFields.has(k) ? e : fixAnys(e);
  return out;
}

const values = (): fc.Arbitrary<Record<string, unknown>> =>
  fc.tuple(messageArbitrary(desc), fc.integer({ min: 0, max: 9 })).map(([v, dice]) => {
    const value = fixMessages(v) as Record<string, unknown>;
    return dice === 0 ? (fixAnys(v) as Record<string, unknown>) : value;
  });

/** protobuf-es's JSON of the same message, or undefined when it has none (a Value with no kind). */
function esJson(es: ReturnType<typeof fromBinary>, options?: object): unknown {
  try {
    return text(toJson(desc, es, options));
  } catch {
    return undefined;
  }
}

/** Through JSON text, as a client would see it. */
const text = (j: unknown): unknown => JSON.parse(JSON.stringify(j));

describe("generated JSON codecs vs protobuf-es (TestAllTypesProto3)", () => {
  it("write the JSON protobuf-es writes for the same message", () => {
    fc.assert(
      fc.property(values(), (value) => {
        const es = fromBinary(desc, encodeWith(generated.encode, value));
        const expected = esJson(es);
        if (process.env["JSON_DIFF_COUNT"]) console.log(expected === undefined ? "NOJSON" : "JSON");
        if (expected === undefined) {
          // No JSON form for protobuf-es: none for protocache either.
          expect(() => generated.toJson(value)).toThrow(JsonError);
          return;
        }
        expect(text(generated.toJson(value))).toEqual(expected);
        const options = { useProtoFieldName: true, enumAsInteger: true };
        expect(text(generated.toJson(value, { ...options, emitDefaultValues: true }))).toEqual(esJson(es, { ...options, alwaysEmitImplicit: true }));
      }),
      { numRuns: 100 },
    );
  });

  it("read protobuf-es's JSON into the value it came from, and protobuf-es reads theirs", () => {
    fc.assert(
      fc.property(values(), (value) => {
        const es = fromBinary(desc, encodeWith(generated.encode, value));
        const expected = esJson(es, { useProtoFieldName: true });
        if (expected === undefined) return;
        expect(generated.fromJson(expected)).toEqual(value);
        const back = fromJson(desc, text(generated.toJson(value)) as never);
        expect(esJson(back)).toEqual(esJson(es));
      }),
      { numRuns: 100 },
    );
  });

  it("refuse more than 100 nested messages (a cyclic value, deep JSON) with a JsonError, as the binary codecs do", () => {
    let json: unknown = {};
    for (let i = 0; i < 150; i++) json = { recursiveMessage: json };
    const error = (f: () => unknown): JsonError => {
      try {
        f();
      } catch (e) {
        return e as JsonError;
      }
      throw new Error("did not throw");
    };
    const read = error(() => generated.fromJson(json));
    expect(read).toBeInstanceOf(JsonError);
    expect(read.path).toBe(Array(100).fill("recursiveMessage").join("."));
    const cyclic = generated.fromJson({}) as Record<string, unknown>;
    cyclic["recursiveMessage"] = cyclic;
    const write = error(() => generated.toJson(cyclic));
    expect(write).toBeInstanceOf(JsonError);
    expect(write.message).toMatch(/more than 100 nested messages/);
    let ok: unknown = {};
    for (let i = 0; i < 99; i++) ok = { recursiveMessage: ok };
    expect(generated.toJson(generated.fromJson(ok))).toEqual(ok);
  });

  it("Any: @type and the packed message's fields, or \"value\" for well-known types; read back the same", () => {
    const json = {
      optionalAny: { "@type": "type.googleapis.com/protobuf_test_messages.proto3.v1.TestAllTypesProto3", optionalInt32: 7, optionalString: "x" },
      repeatedAny: [
        { "@type": "type.googleapis.com/google.protobuf.Int32Value", value: 5 },
        { "@type": "type.googleapis.com/google.protobuf.Duration", value: "1.500s" },
        {},
      ],
    };
    const value = generated.fromJson(json);
    expect(text(generated.toJson(value))).toEqual(json);
    const error = (f: () => unknown): JsonError => {
      try {
        f();
      } catch (e) {
        return e as JsonError;
      }
      throw new Error("did not throw");
    };
    expect(error(() => generated.fromJson({ optionalAny: { "@type": "type.googleapis.com/acme.Unknown" } })).path).toBe("optionalAny.@type");
    expect(error(() => generated.fromJson({ optionalAny: { "@type": "type.googleapis.com/google.protobuf.Int32Value", value: "x" } })).path).toBe("optionalAny.value");
  });
});
