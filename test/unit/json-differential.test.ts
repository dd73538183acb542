import { createFileRegistry, fromBinary, fromJson, toJson, type DescMessage, type Registry } from "@bufbuild/protobuf";
import { create, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, FileDescriptorSetSchema, Int32ValueSchema, StringValueSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
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
 * the same JSON, each reads the other's, and each reads back its own JSON
 * text into the value it wrote. Any fields hold random packed wrappers,
 * Durations and Timestamps (the packed messages' binary form, as protobuf-es
 * writes it), or nothing.
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
/** The types an Any may pack, for protobuf-es's JSON codec: the conformance schema's files and the well-known types. */
let registry: Registry;

beforeAll(async () => {
  const module = await generateConformanceProject(project);
  const g = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
  generated = { encode: g["encodeTestAllTypesProto3"], decode: g["decodeTestAllTypesProto3"], toJson: g["toJsonTestAllTypesProto3"], fromJson: g["fromJsonTestAllTypesProto3"] } as Generated;
  const { schemaDescriptors } = (await import(pathToFileURL(join(project, "generated", "descriptors.ts")).href)) as { schemaDescriptors: readonly SchemaDescriptor[] };
  const typeName = "protobuf_test_messages.proto3.v1.TestAllTypesProto3";
  const entry = schemaDescriptors.find((e) => e.message === typeName);
  if (entry === undefined) throw new Error(`${typeName} is not in the lock`);
  registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(entry.descriptor, "base64")));
  const found = registry.getMessage(typeName);
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
    else if (k === "optionalAny" || k === "repeatedAny") out[k] = e; // replaced by random packed values in values()
    else out[k] = fixMessages(e);
  }
  return out;
}

const nullValueCase = (e: unknown): boolean => (e as { $case?: string } | undefined)?.$case === "oneofNullValue";

const typeUrl = (name: string): string => `type.googleapis.com/google.protobuf.${name}`;

/** An Any packing a well-known type with a JSON form of its own, in ts-proto's shape: the type URL and the packed binary. */
const packedAny: fc.Arbitrary<{ typeUrl: string; value: Uint8Array }> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((value) => ({ typeUrl: typeUrl("Int32Value"), value: toBinary(Int32ValueSchema, create(Int32ValueSchema, { value })) })),
  fc.string({ maxLength: 12 }).map((value) => ({ typeUrl: typeUrl("StringValue"), value: toBinary(StringValueSchema, create(StringValueSchema, { value })) })),
  fc
    .tuple(fc.bigInt(-315_576_000_000n, 315_576_000_000n), fc.integer({ min: 0, max: 999_999_999 }))
    .map(([seconds, n]) => ({ seconds, nanos: seconds === 0n ? n - 500_000_000 : seconds > 0n ? n : -n }))
    .map((d) => ({ typeUrl: typeUrl("Duration"), value: toBinary(DurationSchema, create(DurationSchema, d)) })),
  fc
    .tuple(fc.bigInt(-62_135_596_800n, 253_402_300_799n), fc.integer({ min: 0, max: 999_999_999 }))
    .map(([seconds, nanos]) => ({ typeUrl: typeUrl("Timestamp"), value: toBinary(TimestampSchema, create(TimestampSchema, { seconds, nanos })) })),
);

/** The value with random packed Anys at the top level (nested messages keep none: their Any fields are cleared). */
const withAnys = (value: Record<string, unknown>, optional: { typeUrl: string; value: Uint8Array } | undefined, repeated: { typeUrl: string; value: Uint8Array }[]): Record<string, unknown> =>
  clearNestedAnys({ ...value, optionalAny: optional, repeatedAny: repeated }, 0) as Record<string, unknown>;

function clearNestedAnys(v: unknown, depth: number): unknown {
  if (Array.isArray(v)) return v.map((e) => clearNestedAnys(e, depth));
  if (v instanceof Map) return new Map([...v].map(([k, e]) => [k, clearNestedAnys(e, depth)]));
  if (typeof v !== "object" || v === null || v instanceof Uint8Array) return v;
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(v)) {
    if (depth > 0 && k === "optionalAny") out[k] = undefined;
    else if (depth > 0 && k === "repeatedAny") out[k] = [];
    else out[k] = jsonValueFields.has(k) || k === "optionalAny" || k === "repeatedAny" ? e : clearNestedAnys(e, depth + 1);
  }
  return out;
}

const values = (): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .tuple(messageArbitrary(desc), fc.option(packedAny, { nil: undefined }), fc.array(packedAny, { maxLength: 3 }))
    .map(([v, optional, repeated]) => withAnys(fixMessages(v) as Record<string, unknown>, optional, repeated));

/** protobuf-es's JSON of the same message, or undefined when it has none (a Value with no kind). */
function esJson(es: ReturnType<typeof fromBinary>, options?: object): unknown {
  try {
    return text(toJson(desc, es, { registry, ...options }));
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
        const back = fromJson(desc, text(generated.toJson(value)) as never, { registry });
        expect(esJson(back)).toEqual(esJson(es));
      }),
      { numRuns: 100 },
    );
  });

  it("read back their own JSON text into the value they wrote: fromJson(JSON.parse(JSON.stringify(toJson(v)))) equals v, with the default options and with every output option set", () => {
    fc.assert(
      fc.property(values(), (value) => {
        let json: unknown;
        try {
          json = generated.toJson(value);
        } catch (error) {
          // A value with no JSON form (checked against protobuf-es above): refused, never written wrong.
          expect(error).toBeInstanceOf(JsonError);
          return;
        }
        expect(generated.fromJson(text(json))).toEqual(value);
        expect(generated.fromJson(text(generated.toJson(value, { emitDefaultValues: true, enumAsInteger: true, useProtoFieldName: true })))).toEqual(value);
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
