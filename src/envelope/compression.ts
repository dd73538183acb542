import { brotliCompressSync, brotliDecompressSync, constants, gunzipSync, gzipSync } from "node:zlib";
import { DecodeError } from "../errors.js";
import type { CompressionName } from "./format.js";

/** Compresses a payload; `none` returns it unchanged. */
export function compress(name: CompressionName, payload: Uint8Array): Buffer {
  switch (name) {
    case "gzip":
      return gzipSync(payload);
    case "brotli":
      return brotliCompressSync(payload, { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } });
    case "none":
      return Buffer.from(payload);
  }
}

/**
 * Decompresses a payload, refusing to produce more than `maxBytes` (a
 * decompression bomb is a `too-large` decode failure, not an out-of-memory).
 */
export function decompress(name: CompressionName, payload: Uint8Array, maxBytes: number, schemaId: number): Buffer {
  try {
    switch (name) {
      case "gzip":
        return gunzipSync(payload, { maxOutputLength: maxBytes });
      case "brotli":
        return brotliDecompressSync(payload, { maxOutputLength: maxBytes });
      case "none":
        return Buffer.from(payload.buffer, payload.byteOffset, payload.length);
    }
  } catch (cause) {
    const tooLarge = (cause as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
    throw new DecodeError(
      tooLarge ? "too-large" : "decompress",
      tooLarge ? `decompressed payload exceeds ${maxBytes} bytes` : `${name} payload does not decompress`,
      schemaId,
      { cause },
    );
  }
}
