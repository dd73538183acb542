// The conformance testee: `conformance_test_runner` starts it and sends
// length-prefixed ConformanceRequests on stdin. Binary proto3 requests for
// TestAllTypesProto3 are decoded and re-encoded with the codec named on the
// command line (`protocache`: the generated codec; `protobufjs`: protobufjs
// reflection, for comparison); everything else (JSON, text format, proto2,
// editions) is answered "skipped".
//
//   node --import tsx test/conformance/testee.ts <protocache|protobufjs> <generated module>
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import protobuf from "protobufjs";
import { Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";
import { conformancePackage, pristineSchema } from "./project.js";

type Codec = (payload: Buffer) => { ok: Uint8Array } | { parseError: string } | { serializeError: string };

const TEST_MESSAGE = "protobuf_test_messages.proto3.TestAllTypesProto3";
const PROTOBUF = 1;

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
  requestedOutputFormat?: number;
}

function answer(codec: Codec, bytes: Uint8Array): Uint8Array {
  const request = Request.toObject(Request.decode(bytes), { oneofs: true, enums: Number }) as RequestFields;
  let result: Record<string, unknown>;
  if (request.messageType === "conformance.FailureSet") {
    result = { protobufPayload: new Uint8Array(0) }; // no expected failures
  } else if (request.messageType !== TEST_MESSAGE || request.payload !== "protobufPayload" || request.requestedOutputFormat !== PROTOBUF) {
    result = { skipped: "protocache tests binary proto3 only" };
  } else {
    const out = codec(Buffer.from(request.protobufPayload ?? []));
    result = "ok" in out ? { protobufPayload: out.ok } : out;
  }
  return Response.encode(Response.create(result)).finish();
}

async function main(): Promise<void> {
  const [which, module] = process.argv.slice(2);
  const codec = which === "protobufjs" ? protobufjsCodec() : await protocacheCodec(module ?? "");
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32LE(0);
      if (pending.length < 4 + length) break;
      const response = answer(codec, pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
      const frame = Buffer.alloc(4 + response.length);
      frame.writeUInt32LE(response.length, 0);
      frame.set(response, 4);
      process.stdout.write(frame);
    }
  }
}

await main();
