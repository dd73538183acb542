import { DEFAULT_READ_WORK, MAX_WORK, WorkBudgetError } from "../codec/work.js";
import { decompress } from "../envelope/compression.js";
import { readHeader, type EnvelopeHeader } from "../envelope/header.js";
import { DecodeError } from "../errors.js";
import type { SchemaEntry, SchemaRegistry } from "../registry.js";
import { classifyHead } from "../stores/head-class.js";
import type { HeadClass } from "../stores/bulk.js";
import type { CacheStore } from "../stores/store.js";
import { finite, integer, optional, options as optionsOf, satisfies, text, type ShapeOf } from "../validation/index.js";
import { scanCapable } from "./key-space.js";

/** Decodes payloads of any locked revision: `SchemaDecoder` from `protocache/descriptors` is one. */
export interface PayloadDecoder {
  readonly registry: SchemaRegistry;
  /** Decodes within `maxWork` work units (src/codec/work.ts) when given; `SchemaDecoder` throws `WorkBudgetError` past them. */
  decode(schemaId: number, payload: Uint8Array, maxWork?: number): Record<string, unknown>;
}

/** Everything known about one key, for people. */
export interface InspectReport {
  readonly key: string;
  readonly exists: boolean;
  readonly kind: HeadClass | undefined;
  readonly bytes: number;
  /** Absolute expiry (epoch ms), undefined without one. */
  readonly expireAt: number | undefined;
  /** Remaining time to live in ms, undefined without expiry. */
  readonly ttlMs: number | undefined;
  readonly header: (Omit<EnvelopeHeader, "payloadStart"> & { readonly flags: number; readonly payloadBytes: number }) | undefined;
  /** The lock's entry for the header's schema ID. */
  readonly schema: SchemaEntry | undefined;
  readonly writtenAt: string | undefined;
  readonly ageMs: number | undefined;
  /** The payload as JSON-safe data (64-bit integers and enums as strings, bytes as base64). */
  readonly payload: Record<string, unknown> | undefined;
  /** Set when the payload was decoded with a revision other than the one that wrote it (an ID this lock does not know). */
  readonly decodedAs: SchemaEntry | undefined;
  /** A non-envelope value: its first bytes as text (or base64 when not UTF-8). */
  readonly preview: string | undefined;
  /** Why the value could not be decoded. */
  readonly problem: string | undefined;
}

/** Options of {@link inspect}. */
export interface InspectOptions {
  /** For an ID this lock does not know, decode with the newest revision of this message (same major: wire-compatible). */
  readonly fallbackMessage?: string;
  /** Cap on decompressed payloads. Default 8 MiB. */
  readonly maxPayloadBytes?: number;
  /** Most work units decoding the payload may take, as an accessor's `maxReadWork` (default 2^19): past it, `problem` says so and no payload is shown. */
  readonly maxReadWork?: number;
  readonly now?: number;
}

const previewBytes = 256;

/** The spec of {@link InspectOptions}. */
const inspectOptions = optionsOf(
  {
    fallbackMessage: optional(text({ nonEmpty: true, expected: "a full message name, e.g. acme.user.v1.User" })),
    maxPayloadBytes: optional(integer(1, 512 * 1024 * 1024)),
    maxReadWork: optional(integer(1, MAX_WORK)),
    now: optional(finite()),
  } satisfies ShapeOf<InspectOptions>,
  { name: "inspect options" },
);

const keyCheck = text({ nonEmpty: true, expected: "a non-empty key" });
const decoderCheck = satisfies<PayloadDecoder>(
  (v) => typeof v === "object" && v !== null && typeof (v as PayloadDecoder).decode === "function" && typeof (v as PayloadDecoder).registry === "object",
  "a PayloadDecoder (e.g. new SchemaDecoder(schemaDescriptors) from protocache/descriptors)",
);

/**
 * Looks at one key: envelope header, schema name and revision from the
 * lock, writer tag, written-at and age, TTL, and the payload decoded as
 * JSON with the exact revision that wrote it (descriptors from the lock).
 *
 * @example
 * ```ts
 * import { inspect } from "protocache";
 * import { SchemaDecoder } from "protocache/descriptors";
 * import { schemaDescriptors } from "./generated/descriptors.js";
 * const report = await inspect(store, "user:v1:42", new SchemaDecoder(schemaDescriptors));
 * console.log(report.schema?.revision, report.writerTag, report.payload);
 * ```
 */
export async function inspect(store: CacheStore, key: string, decoder: PayloadDecoder, given: InspectOptions = {}): Promise<InspectReport> {
  keyCheck(key, "key");
  decoderCheck(decoder, "decoder");
  const options = inspectOptions(given, "");
  const work = options.maxReadWork ?? DEFAULT_READ_WORK;
  const [found] = await scanCapable(store).bulk.lookup([key], true);
  if (found instanceof Error) throw found;
  const now = options.now ?? Date.now();
  const base = {
    key, exists: false, kind: undefined, bytes: 0, expireAt: undefined, ttlMs: undefined, header: undefined, schema: undefined,
    writtenAt: undefined, ageMs: undefined, payload: undefined, decodedAs: undefined, preview: undefined, problem: undefined,
  };
  if (found === null || found === undefined) return base;
  const { value, expireAt } = found;
  const { kind } = classifyHead(value);
  const report = { ...base, exists: true, kind, bytes: value.length, expireAt, ttlMs: expireAt === undefined ? undefined : expireAt - now };
  if (kind === "legacy") return { ...report, preview: preview(value) };
  let header: EnvelopeHeader;
  try {
    header = readHeader(value);
  } catch (error) {
    return { ...report, problem: (error as Error).message };
  }
  const { payloadStart, ...visible } = header;
  const schema = decoder.registry.get(header.schemaId);
  const withHeader = {
    ...report,
    header: { ...visible, flags: value[2] as number, payloadBytes: value.length - payloadStart },
    schema,
    writtenAt: header.writtenAt === undefined ? undefined : new Date(header.writtenAt).toISOString(),
    ageMs: header.writtenAt === undefined ? undefined : now - header.writtenAt,
  };
  // An absent marker has no payload to decode: the loader said the entity does not exist.
  if (header.absent) return withHeader;
  const decodeWith = schema ?? newestOf(decoder.registry, options.fallbackMessage);
  if (decodeWith === undefined) return { ...withHeader, problem: "schema ID not in this lock (a newer deploy's revision?) and no message to decode it as" };
  try {
    const max = options.maxPayloadBytes ?? 8 * 1024 * 1024;
    if (value.length - payloadStart > max) throw new DecodeError("too-large", `payload exceeds ${max} bytes`, header.schemaId);
    const payload = header.compression === "none" ? value.subarray(payloadStart) : decompress(header.compression, value.subarray(payloadStart), max, header.schemaId);
    return { ...withHeader, payload: decoder.decode(decodeWith.id, payload, work), decodedAs: schema === undefined ? decodeWith : undefined };
  } catch (error) {
    if (error instanceof WorkBudgetError) return { ...withHeader, problem: `payload not decoded: ${error.message} (maxReadWork ${work}): a value this costly is an over_budget miss for accessors with that budget` };
    return { ...withHeader, problem: `payload does not decode: ${(error as Error).message}` };
  }
}

function newestOf(registry: SchemaRegistry, message: string | undefined): SchemaEntry | undefined {
  if (message === undefined) return undefined;
  return registry.revisionsOf(message).reduce<SchemaEntry | undefined>((a, e) => (a === undefined || e.revision > a.revision ? e : a), undefined);
}

function preview(value: Buffer): string {
  const head = value.subarray(0, previewBytes);
  const text = head.toString("utf8");
  const clean = Buffer.from(text).equals(head) && !/[\u0000-\u0008\u000e-\u001f]/.test(text);
  return `${clean ? text : `base64:${head.toString("base64")}`}${value.length > previewBytes ? " …" : ""}`;
}
