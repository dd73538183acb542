import { createFileRegistry, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type protobuf from "protobufjs";
import { beforeAll, describe, expect, it } from "vitest";
import { FieldValueError } from "../../src/codec/field-checks.js";
import { Reader, WireError } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { SchemaDecoder, type SchemaDescriptor } from "../../src/descriptors/index.js";
import { generateConformanceProject, repoRoot } from "../conformance/project.js";
import { decodeWith, encodeWith, type TsProtoCodec } from "../support/codec-harness.js";
import { messageArbitrary } from "../support/descriptor-arbitrary.js";
import { generateTsProtoCodec } from "../support/tsproto-full.js";

/** Well-known types where the conformance schema does not put them: map values, oneof members, proto3 optional, singular ListValue. */
const shapesProto = `syntax = "proto3";

package protocache_test.wkt.v1;

import "google/protobuf/any.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
import "protocache/v1/options.proto";

// Well-known types in every position a field can have.
message WellKnownShapes {
  option (protocache.v1.entity) = { key: "shapes:{id}" };
  string id = 1;
  map<string, google.protobuf.StringValue> string_wrappers = 2;
  map<int64, google.protobuf.Int64Value> int64_wrappers = 3;
  map<string, google.protobuf.Struct> structs = 4;
  map<string, google.protobuf.Value> values = 5;
  map<string, google.protobuf.ListValue> lists = 6;
  map<string, google.protobuf.FieldMask> masks = 7;
  map<string, google.protobuf.Any> anys = 8;
  oneof choice {
    google.protobuf.StringValue choice_string = 9;
    google.protobuf.Struct choice_struct = 10;
    google.protobuf.Value choice_value = 11;
    google.protobuf.ListValue choice_list = 12;
    google.protobuf.FieldMask choice_mask = 13;
    google.protobuf.BytesValue choice_bytes = 14;
  }
  optional google.protobuf.DoubleValue optional_double = 15;
  google.protobuf.ListValue list = 16;
  google.protobuf.Empty empty = 17;
  map<string, google.protobuf.Empty> empties = 18;
  google.protobuf.FloatValue float_wrapper = 19;
  google.protobuf.UInt32Value uint32_wrapper = 20;
}
`;

type Encode = (w: Writer, v: unknown) => void;
type Decode = (r: Reader, end: number) => unknown;

interface Subject {
  readonly name: string;
  readonly encode: Encode;
  readonly decode: Decode;
  readonly ts: TsProtoCodec<unknown>;
  readonly pb: protobuf.Type;
  readonly desc: DescMessage;
}

const project = join(repoRoot, ".tmp", "wkt-differential", "project");
const subjects = new Map<string, Subject>();

beforeAll(async () => {
  await generateConformanceProject(project, { "protocache_test/wkt/v1/shapes.proto": shapesProto });
  const tsDir = generateTsProtoCodec("wkt-differential", project, ["proto/protobuf_test_messages", "proto/protocache_test"]);
  const load = async (path: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const { schemaDescriptors } = (await load(join(project, "generated", "descriptors.ts"))) as { schemaDescriptors: readonly SchemaDescriptor[] };
  const decoder = new SchemaDecoder(schemaDescriptors);
  const add = async (name: string, typeName: string, module: string): Promise<void> => {
    const generated = await load(join(project, "generated", `${module}.cache.ts`));
    const entry = schemaDescriptors.find((e) => e.message === typeName);
    if (entry === undefined) throw new Error(`${typeName} is not in the lock`);
    const desc = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(entry.descriptor, "base64"))).getMessage(typeName);
    if (desc === undefined) throw new Error(`${typeName} is not in its descriptor`);
    subjects.set(name, {
      name,
      encode: generated[`encode${name}`] as Encode,
      decode: generated[`decode${name}`] as Decode,
      ts: (await load(join(tsDir, `${module}.ts`)))[name] as TsProtoCodec<unknown>,
      pb: decoder.typeOf(entry.id),
      desc,
    });
  };
  await add("TestAllTypesProto3", "protobuf_test_messages.proto3.v1.TestAllTypesProto3", "protobuf_test_messages/proto3/v1/test_messages_proto3");
  await add("WellKnownShapes", "protocache_test.wkt.v1.WellKnownShapes", "protocache_test/wkt/v1/shapes");
});

const subject = (name: string): Subject => subjects.get(name) as Subject;

describe.each(["TestAllTypesProto3", "WellKnownShapes"])("generated %s codec (every well-known type)", (name) => {
  const values = (): fc.Arbitrary<Record<string, unknown>> => messageArbitrary(subject(name).desc);

  it("round-trips every value", () => {
    const s = subject(name);
    fc.assert(fc.property(values(), (value) => void expect(decodeWith(s.decode, encodeWith(s.encode, value))).toEqual(value)), { numRuns: 100 });
  });

  it("agrees with ts-proto's own codec in both directions", () => {
    const s = subject(name);
    fc.assert(
      fc.property(values(), (value) => {
        expect(s.ts.decode(new Uint8Array(encodeWith(s.encode, value)))).toEqual(value);
        expect(decodeWith(s.decode, s.ts.encode(value).finish())).toEqual(value);
      }),
      { numRuns: 100 },
    );
  });

  it("agrees with protobufjs built from the lock's descriptors in both directions", () => {
    const s = subject(name);
    fc.assert(
      fc.property(values(), (value) => {
        const reencoded = s.pb.encode(s.pb.decode(encodeWith(s.encode, value))).finish();
        expect(decodeWith(s.decode, reencoded)).toEqual(value);
      }),
      { numRuns: 100 },
    );
  });
});

describe("well-known types: TypeScript shapes", () => {
  it("the generated codecs type-check against ts-proto's interfaces, whose well-known fields are plain values (tsc)", () => {
    writeFileSync(
      join(project, "generated", "shapes-usage.ts"),
      `import { createWellKnownShapes } from "./protocache_test/wkt/v1/shapes.cache.js";
export const ok = createWellKnownShapes({
  stringWrappers: new Map([["a", "x"]]),
  int64Wrappers: new Map([[1n, 2n]]),
  structs: new Map([["s", { a: [1, null, { b: "c" }] }]]),
  values: new Map([["v", 1.5]]),
  lists: new Map([["l", [true, "x"]]]),
  masks: new Map([["m", ["a.b"]]]),
  anys: new Map([["any", { typeUrl: "type.googleapis.com/x", value: new Uint8Array(0) }]]),
  choice: { $case: "choiceValue", choiceValue: { nested: [1] } },
  optionalDouble: 0.5,
  list: [1, "two"],
  floatWrapper: undefined,
});
// @ts-expect-error a DoubleValue is a number
createWellKnownShapes({ optionalDouble: "0.5" });
// @ts-expect-error an Int64Value is a bigint
createWellKnownShapes({ int64Wrappers: new Map([[1n, 2]]) });
// @ts-expect-error a FieldMask is its paths
createWellKnownShapes({ masks: new Map([["m", { paths: ["a"] }]]) });
`,
    );
    writeFileSync(join(project, "tsconfig.json"), JSON.stringify({ extends: join(repoRoot, "tsconfig.json"), include: ["generated"], compilerOptions: { noUnusedLocals: false } }));
    const tsc = spawnSync(process.execPath, [join(repoRoot, "node_modules", "typescript", "bin", "tsc"), "-p", join(project, "tsconfig.json")], { encoding: "utf8" });
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
  });
});

describe("well-known types: edges", () => {
  const fresh = (): Record<string, unknown> => decodeWith(subject("TestAllTypesProto3").decode, new Uint8Array(0)) as Record<string, unknown>;
  const failure = (value: unknown): FieldValueError => {
    try {
      encodeWith(subject("TestAllTypesProto3").encode, value);
    } catch (error) {
      expect(error).toBeInstanceOf(FieldValueError);
      return error as FieldValueError;
    }
    throw new Error("encoded without error");
  };

  it("reject values a well-known type cannot hold (lone surrogates in Struct keys, Values, FieldMask paths, wrappers and map keys included), naming the path", () => {
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ optionalValue: new Date(0) }, "optionalValue", /expected a JSON value .*, got Date/],
      [{ optionalValue: 5n }, "optionalValue", /got bigint 5n/],
      [{ optionalStruct: { a: { b: [1, new Map()] } } }, "optionalStruct.a.b[1]", /expected a JSON value/],
      [{ optionalStruct: [1] }, "optionalStruct", /expected a plain object/],
      [{ repeatedListValue: [[1], "x"] }, "repeatedListValue[1]", /expected an array/],
      [{ optionalFieldMask: ["a", 1] }, "optionalFieldMask[1]", /expected string, got number 1/],
      [{ optionalInt32Wrapper: 1.5 }, "optionalInt32Wrapper", /expected int32, got number 1.5/],
      [{ repeatedUint64Wrapper: [1n, -1n] }, "repeatedUint64Wrapper[1]", /expected uint64, got bigint -1n/],
      [{ optionalBoolWrapper: "no" }, "optionalBoolWrapper", /expected bool/],
      [{ optionalFloatWrapper: 1e39 }, "optionalFloatWrapper", /expected float, got number 1e\+39/],
      [{ optionalStruct: { a: 1, ["b\uD800"]: 2 } }, 'optionalStruct["b\\ud800"]', /expected a well-formed Unicode string \(lone surrogate at index 1\)/],
      [{ optionalStruct: { a: { b: ["x", "y\uDC00"] } } }, "optionalStruct.a.b[1]", /lone surrogate at index 1/],
      [{ optionalValue: "\uD800" }, "optionalValue", /lone surrogate at index 0/],
      [{ optionalFieldMask: ["a", "b.\uDFFF"] }, "optionalFieldMask[1]", /lone surrogate at index 2/],
      [{ optionalStringWrapper: "é\uD800" }, "optionalStringWrapper", /lone surrogate at index 1/],
      [{ mapStringString: new Map([["k", "v"], ["\uDC00", "v"]]) }, 'mapStringString["\\udc00"]', /lone surrogate at index 0/],
    ];
    for (const [patch, path, message] of cases) {
      const value = { ...fresh(), ...patch };
      const error = failure(value);
      expect(error.pathFrom(value), JSON.stringify(Object.keys(patch))).toBe(path);
      expect(error.message).toMatch(message);
    }
  });

  it("keep a Struct key named __proto__ as an own property, never as a prototype", () => {
    const value = { ...fresh(), optionalStruct: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown> };
    const s = subject("TestAllTypesProto3");
    const decoded = decodeWith(s.decode, encodeWith(s.encode, value)) as { optionalStruct: Record<string, unknown> };
    expect(Object.getPrototypeOf(decoded.optionalStruct)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(decoded.optionalStruct).sort()).toEqual(["__proto__", "a"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("write a present wrapper holding its zero value, and -0 in a DoubleValue", () => {
    const s = subject("TestAllTypesProto3");
    const value = { ...fresh(), optionalInt32Wrapper: 0, optionalStringWrapper: "", optionalDoubleWrapper: -0 };
    const decoded = decodeWith(s.decode, encodeWith(s.encode, value)) as typeof value;
    expect(decoded.optionalInt32Wrapper).toBe(0);
    expect(decoded.optionalStringWrapper).toBe("");
    expect(Object.is(decoded.optionalDoubleWrapper, -0)).toBe(true);
  });

  it("refuse a cyclic value and messages nested deeper than 100, on both sides", () => {
    const s = subject("TestAllTypesProto3");
    const cyclic = fresh();
    cyclic["optionalNestedMessage"] = { a: 1, corecursive: cyclic };
    expect(failure(cyclic).message).toMatch(/at most 100 nested messages \(is the value cyclic\?\)/);
    // TestAllTypesProto3 { optional_nested_message (18) { corecursive (2) { ... } } }: two levels per step.
    const nested = (levels: number): Buffer => {
      let inner = Buffer.alloc(0);
      // The message at level L sits in a field of its parent at L - 1: TestAllTypesProto3 at odd levels, NestedMessage at even ones.
      for (let level = levels; level >= 2; level--) inner = Buffer.concat([Buffer.from((level - 1) % 2 === 1 ? [0x92, 0x01] : [0x12]), lengthOf(inner.length), inner]);
      return inner;
    };
    expect(() => decodeWith(s.decode, nested(100))).not.toThrow();
    expect(() => decodeWith(s.decode, nested(101))).toThrow(WireError);
    expect(() => decodeWith(s.decode, nested(101))).toThrow(/nested deeper than 100/);
  });
});

function lengthOf(n: number): Buffer {
  const w = new Writer(8);
  w.uint32(n);
  return w.copy();
}
