// The conformance testee: `conformance_test_runner` starts it and sends
// length-prefixed ConformanceRequests on stdin. Binary proto3 requests for
// TestAllTypesProto3 are decoded and re-encoded with the codec named on the
// command line (`protocache`: the generated codec; `protobufjs`: protobufjs
// reflection, for comparison). With `json`, only the proto3 requests that
// involve JSON (JSON input, JSON output, or both) are answered, with the
// generated `fromJsonTestAllTypesProto3` / `toJsonTestAllTypesProto3` (and
// the binary codec for the binary side); everything else (text format,
// proto2, editions, and the other suite's requests) is answered "skipped".
//
//   node --import tsx test/conformance/testee.ts <protocache|protobufjs> <generated module> [binary|json]
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import protobuf from "protobufjs";
import { Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { conformancePackage, pristineSchema } from "./project.js";

type Codec = (payload: Buffer) => { ok: Uint8Array } | { parseError: string } | { serializeError: string };
type Result = { protobufPayload: Uint8Array } | { jsonPayload: string } | { parseError: string } | { serializeError: string } | { skipped: string };
/** Answers a proto3 request that involves JSON. */
type JsonCodec = (request: RequestFields) => Result;

const TEST_MESSAGE = "protobuf_test_messages.proto3.TestAllTypesProto3";
const PROTOBUF = 1;
const JSON_FORMAT = 2;
const JSON_IGNORE_UNKNOWN_PARSING_TEST = 3;

const protocol = protobuf.loadSync(join(conformancePackage, "include", "conformance", "conformance.proto"));
const Request = protocol.lookupType("conformance.ConformanceRequest");
const Response = protocol.lookupType("conformance.ConformanceResponse");

async function protocacheCodec(module: string): Promise<Codec> {
  type Generated = {
    decodeTestAllTypesProto3: (r: Reader, end: number) => unknown;
    encodeTestAllTypesProto3: (w: Writer, m: unknown) => void;
  };
  const generated = (await import(pathToFileURL(module).href)) as Generated;
  const reader = new Reader(Buffer.alloc(0));
  const writer = new Writer();
  return (payload) => {
    let message: unknown;
    try {
      reader.reset(payload, 0, payload.length);
      message = generated.decodeTestAllTypesProto3(reader, payload.length);
    } catch (error) {
      return { parseError: String(error) };
    }
    try {
      writer.reset();
      generated.encodeTestAllTypesProto3(writer, message);
      return { ok: writer.copy() };
    } catch (error) {
      return { serializeError: String(error) };
    }
  };
}

/**
 * Any's type URLs name the suite's package; the project renamed it (the `.v1`
 * major suffix, project.ts): the JSON run maps one to the other in `@type`
 * values, the counterpart of that rename.
 */
const SUITE_TYPES = '"type.googleapis.com/protobuf_test_messages.proto3.';
const PROJECT_TYPES = '"type.googleapis.com/protobuf_test_messages.proto3.v1.';
function renamed(json: string, from: string, to: string): string {
  return json.split(from).join(to);
}

async function protocacheJsonCodec(module: string): Promise<JsonCodec> {
  type Generated = {
    decodeTestAllTypesProto3: (r: Reader, end: number) => unknown;
    encodeTestAllTypesProto3: (w: Writer, m: unknown) => void;
    fromJsonTestAllTypesProto3: (j: unknown, o?: { ignoreUnknownFields?: boolean }) => unknown;
    toJsonTestAllTypesProto3: (m: unknown) => unknown;
  };
  const generated = (await import(pathToFileURL(module).href)) as Generated;
  const reader = new Reader(Buffer.alloc(0));
  const writer = new Writer();
  return (request) => {
    let message: unknown;
    try {
      if (request.payload === "jsonPayload") {
        const ignoreUnknownFields = request.testCategory === JSON_IGNORE_UNKNOWN_PARSING_TEST;
        message = generated.fromJsonTestAllTypesProto3(JSON.parse(renamed(request.jsonPayload ?? "", SUITE_TYPES, PROJECT_TYPES)), { ignoreUnknownFields });
      } else {
        const payload = Buffer.from(request.protobufPayload ?? []);
        reader.reset(payload, 0, payload.length);
        message = generated.decodeTestAllTypesProto3(reader, payload.length);
      }
    } catch (error) {
      return { parseError: String(error) };
    }
    try {
      if (request.requestedOutputFormat === JSON_FORMAT) return { jsonPayload: renamed(JSON.stringify(generated.toJsonTestAllTypesProto3(message)), PROJECT_TYPES, SUITE_TYPES) };
      writer.reset();
      generated.encodeTestAllTypesProto3(writer, message);
      return { protobufPayload: writer.copy() };
    } catch (error) {
      return { serializeError: String(error) };
    }
  };
}

function protobufjsCodec(): Codec {
  const type = protobuf.loadSync(pristineSchema).lookupType(TEST_MESSAGE);
  return (payload) => {
    let message: protobuf.Message;
    try {
      message = type.decode(payload);
    } catch (error) {
      return { parseError: String(error) };
    }
    try {
      return { ok: type.encode(message).finish() };
    } catch (error) {
      return { serializeError: String(error) };
    }
  };
}

interface RequestFields {
  /** Which member of the `payload` oneof is set. */
  payload?: string;
  messageType?: string;
  protobufPayload?: Uint8Array;
  jsonPayload?: string;
  requestedOutputFormat?: number;
  testCategory?: number;
}

function answer(codec: Codec, json: JsonCodec | undefined, bytes: Uint8Array): Uint8Array {
  const request = Request.toObject(Request.decode(bytes), { oneofs: true, enums: Number }) as RequestFields;
  let result: Record<string, unknown>;
  const involvesJson = request.payload === "jsonPayload" || request.requestedOutputFormat === JSON_FORMAT;
  if (request.messageType === "conformance.FailureSet") {
    result = { protobufPayload: new Uint8Array(0) }; // no expected failures
  } else if (json !== undefined) {
    const proto3 = request.messageType === TEST_MESSAGE && (request.payload === "jsonPayload" || request.payload === "protobufPayload");
    const output = request.requestedOutputFormat === JSON_FORMAT || request.requestedOutputFormat === PROTOBUF;
    result = proto3 && output && involvesJson ? json(request) : { skipped: "this run tests proto3 JSON only" };
  } else if (request.messageType !== TEST_MESSAGE || request.payload !== "protobufPayload" || request.requestedOutputFormat !== PROTOBUF) {
    result = { skipped: "protocache tests binary proto3 only" };
  } else {
    const out = codec(Buffer.from(request.protobufPayload ?? []));
    result = "ok" in out ? { protobufPayload: out.ok } : out;
  }
  return Response.encode(Response.create(result)).finish();
}

async function main(): Promise<void> {
  const [which, module, formats] = process.argv.slice(2);
  const codec = which === "protobufjs" ? protobufjsCodec() : await protocacheCodec(module ?? "");
  const json = formats === "json" ? await protocacheJsonCodec(module ?? "") : undefined;
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32LE(0);
      if (pending.length < 4 + length) break;
      const response = answer(codec, json, pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
      const frame = Buffer.alloc(4 + response.length);
      frame.writeUInt32LE(response.length, 0);
      frame.set(response, 4);
      process.stdout.write(frame);
    }
  }
}

await main();
