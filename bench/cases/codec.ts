import { interpret } from "../../src/accessor/read.js";
import { resolveOptions } from "../../src/accessor/options.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope, type EnvelopeWriteOptions } from "../../src/envelope/encode.js";
import { generateTsProtoCodec } from "../../test/support/tsproto-full.js";
import type { Fixture } from "../fixtures.js";
import { compareMicroMany, median, passes, type BenchRow, type Goal, type MicroOptions } from "../harness.js";

interface TsProtoCodec {
  encode(value: unknown): { finish(): Uint8Array };
  decode(bytes: Uint8Array): unknown;
}

/**
 * Codec cases: protocache's envelope encode/decode (with accessor defaults:
 * written-at on, no compression) against raw protobufjs, ts-proto's own
 * codec and JSON, plus stored size against JSON. Encode and decode are each
 * one group per round (protocache and its baselines in one tinybench run).
 */
export async function codecCases(list: readonly Fixture<unknown>[], micro: MicroOptions): Promise<BenchRow[]> {
  const dir = generateTsProtoCodec("bench");
  const rows: BenchRow[] = [];
  for (const fx of list) {
    const ts = ((await import(`${dir}/${fx.tsProto.module}`)) as Record<string, TsProtoCodec>)[fx.tsProto.name] as TsProtoCodec;
    const options = resolveOptions<unknown>({}, fx.entity.ttlSeconds);
    const envelopeOptions: EnvelopeWriteOptions = { writtenAt: options.writtenAt, writerTag: options.writerTag, compression: options.compression, compressMinBytes: options.compressMinBytes };
    const writer = new Writer();
    const id = fx.entity.current.schemaId;
    const encodeOurs = (): Buffer => encodeEnvelope(writer, id, fx.value, fx.encode, envelopeOptions, Date.now());
    const stored = encodeOurs();
    const pbBytes = fx.type.encode(fx.pb).finish();
    const jsonBytes = Buffer.from(JSON.stringify(fx.json));

    // Sanity: every contender handles the same data.
    if (JSON.stringify(fx.type.toObject(fx.type.decode(stored.subarray(13)))) !== JSON.stringify(fx.type.toObject(fx.type.decode(pbBytes)))) {
      throw new Error(`${fx.name}: protocache and protobufjs encode different data`);
    }

    // One encode group and one decode group per round: protocache's side is timed once against all its baselines.
    const encodes = compareMicroMany(
      {
        ours: encodeOurs,
        protobufjs: () => fx.type.encode(fx.pb).finish(),
        json: () => Buffer.from(JSON.stringify(fx.json)),
        "ts-proto": () => ts.encode(fx.value).finish(),
      },
      micro,
    );
    const decodes = compareMicroMany(
      {
        ours: () => interpret(fx.entity, options, stored).value,
        "protobufjs + toObject": () => fx.type.toObject(fx.type.decode(pbBytes), { defaults: true }),
        protobufjs: () => fx.type.decode(pbBytes),
        json: () => JSON.parse(jsonBytes.toString()),
      },
      micro,
    );
    const row = (times: Map<string, number[]>, baselineName: string, name: string, subject: string, baseline: string, goal: Goal): void => {
      const a = times.get("ours") ?? [];
      const b = times.get(baselineName) ?? [];
      // The median of per-round ratios: each round's two numbers were measured moments apart.
      const ratio = median(a.map((x, i) => (goal.kind === "speedup-at-least" ? (b[i] ?? 0) / x : x / (b[i] ?? 1))));
      rows.push({ case: name, entity: fx.name, subject, baseline, goal, ratio, pass: passes(goal, ratio), detail: `${fmtNs(median(a))} vs ${fmtNs(median(b))}` });
    };

    row(encodes, "protobufjs", "envelope encode", "encodeEnvelope", "protobufjs encode().finish()", { kind: "time-at-most", target: 1.1 });
    row(decodes, "protobufjs + toObject", "envelope decode", "read path: header + decode + defaults", "protobufjs decode + toObject", { kind: "time-at-most", target: 1.1 });
    row(decodes, "protobufjs", "envelope decode vs decode only", "read path: header + decode + defaults", "protobufjs decode (no toObject)", { kind: "time-at-most", target: 1.1 });
    row(encodes, "json", "envelope encode vs JSON", "encodeEnvelope", "Buffer.from(JSON.stringify(v))", { kind: "speedup-at-least", target: 1.5 });
    row(decodes, "json", "envelope decode vs JSON", "read path", "JSON.parse(buf.toString())", { kind: "speedup-at-least", target: 1.5 });
    row(encodes, "ts-proto", "envelope encode vs ts-proto", "encodeEnvelope", "ts-proto encode().finish()", { kind: "speedup-at-least", target: 3 });
    const sizeRatio = stored.length / jsonBytes.length;
    rows.push({
      case: "stored bytes",
      entity: fx.name,
      subject: "envelope (with written-at)",
      baseline: "JSON",
      goal: { kind: "size-at-most", target: 0.5 },
      ratio: sizeRatio,
      pass: sizeRatio <= 0.5,
      detail: `${stored.length} B vs ${jsonBytes.length} B`,
    });
    for (const algorithm of ["gzip", "brotli"] as const) {
      const packed = encodeEnvelope(writer, id, fx.value, fx.encode, { ...envelopeOptions, compression: algorithm, compressMinBytes: 1024 }, Date.now());
      if (packed.length === stored.length) continue; // below the default 1 KiB threshold: stored uncompressed
      const ratio = packed.length / jsonBytes.length;
      rows.push({
        case: `stored bytes, compression: ${algorithm}`,
        entity: fx.name,
        subject: `envelope (compression: { algorithm: "${algorithm}" })`,
        baseline: "JSON",
        goal: { kind: "size-at-most", target: 0.5 },
        ratio,
        pass: ratio <= 0.5,
        detail: `${packed.length} B vs ${jsonBytes.length} B`,
      });
    }
  }
  return rows;
}

function fmtNs(ns: number): string {
  return ns >= 1000 ? `${(ns / 1000).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
