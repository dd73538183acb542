import { Reader } from "../../src/codec/reader.js";
import { Writer } from "../../src/codec/writer.js";

/** ts-proto's own generated codec of one message (what `outputEncodeMethods` emits). */
export interface TsProtoCodec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

const writer = new Writer(64);

/** Bytes of `value` written by a generated protocache encoder. */
export function encodeWith<T>(encode: (w: Writer, v: T) => void, value: T): Buffer {
  writer.reset();
  encode(writer, value);
  return writer.copy();
}

/** `bytes` read by a generated protocache decoder. */
export function decodeWith<T>(decode: (r: Reader, end: number) => T, bytes: Uint8Array): T {
  const buf = Buffer.from(bytes);
  return decode(new Reader(buf), buf.length);
}
