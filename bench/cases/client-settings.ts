import { createEntityCache } from "../../src/accessor/entity-cache.js";
import { Writer } from "../../src/codec/writer.js";
import { encodeEnvelope } from "../../src/envelope/encode.js";
import type { Fixture } from "../fixtures.js";
import { compareThroughput, type BenchRow } from "../harness.js";
import { atLeast, ratioRow, type ThroughputOptions } from "./accessor.js";
import type { BenchClient } from "./clients.js";

/** The client configurations compared; names match the `BenchClient.name`s main.ts creates. */
export const settingNames = {
  ioredis: "ioredis defaults",
  ioredisFailFast: "ioredis fail-fast (README: commandTimeout 200, maxRetriesPerRequest 1, no offline queue)",
  ioredisAuto: "ioredis enableAutoPipelining",
  nodeRedis: "node-redis defaults (5 s timeout)",
  nodeRedisOff: "node-redis timeout 0",
} as const;

/**
 * The measurements behind docs/operations.md's recommended client settings:
 * 1:1 SET/GET of pre-encoded Buffers and the accessor's 1:1 set/get, 64
 * callers, per client configuration, all interleaved in the same rounds;
 * plus MGET of 100 keys.
 */
export async function clientSettingsCases(clients: Readonly<Record<keyof typeof settingNames, BenchClient>>, fx: Fixture<unknown>, options: ThroughputOptions): Promise<BenchRow[]> {
  const prefix = `bench:settings:${fx.entity.entity}:`;
  const preEncoded = encodeEnvelope(new Writer(), fx.entity.current.schemaId, fx.value, fx.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 0 }, Date.now());
  const v = fx.value as Record<string, unknown>;
  const valueOf = (caller: number, i: number): unknown => ("tenantId" in v ? { ...v, sessionId: `${caller}-${i % 16}` } : { ...v, id: `${caller}-${i % 16}` });
  const rawKey = (caller: number, i: number): string => `${prefix}raw:${caller}:${i % 16}`;
  const mgetKeys = Array.from({ length: 100 }, (_, i) => `${prefix}m:${i}`);
  for (const key of mgetKeys) await clients.ioredis.setBuffer(key, preEncoded, 3600);

  const contenders: Record<string, (caller: number, i: number) => Promise<unknown>> = {};
  const mgets: Record<string, () => Promise<unknown>> = {};
  for (const c of Object.values(clients)) {
    // The node-redis defaults row keeps node-redis's own timeout as the only bound (deadlineMs 0), the others use protocache's.
    const cache = createEntityCache(fx.entity, c.store, { prefix, ...(c.name === settingNames.nodeRedis ? { deadlineMs: 0 } : {}) });
    contenders[`${c.name}: raw`] = (k, i) => (i % 2 === 0 ? c.setBuffer(rawKey(k, i), preEncoded, 3600) : c.getBuffer(rawKey(k, i)));
    contenders[`${c.name}: accessor`] = (k, i) => (i % 2 === 0 ? cache.set(valueOf(k, i)) : cache.get(valueOf(k, i) as never));
    mgets[c.name] = () => c.store.getMany(mgetKeys);
  }
  const results = await compareThroughput(contenders, options);
  const many = await compareThroughput(mgets, { ...options, concurrency: 8 });
  const n = settingNames;
  return [
    ratioRow(results, `${n.nodeRedisOff}: raw`, `${n.nodeRedis}: raw`, "node-redis 1:1 SET/GET: timeout 0 vs default timeout", fx.name, atLeast(1.3)),
    ratioRow(results, `${n.nodeRedisOff}: accessor`, `${n.nodeRedis}: accessor`, "accessor on node-redis: timeout 0 + protocache deadline vs node-redis defaults", fx.name, atLeast(1.2)),
    ratioRow(results, `${n.ioredis}: raw`, `${n.ioredisAuto}: raw`, "ioredis 1:1 SET/GET: defaults vs enableAutoPipelining", fx.name, atLeast(1.0)),
    ratioRow(results, `${n.ioredisFailFast}: raw`, `${n.ioredis}: raw`, "ioredis 1:1 SET/GET: fail-fast settings (commandTimeout) vs defaults", fx.name, atLeast(0.95)),
    ratioRow(results, `${n.nodeRedisOff}: raw`, `${n.ioredis}: raw`, "1:1 SET/GET: node-redis timeout 0 vs ioredis defaults", fx.name, atLeast(1.0)),
    ratioRow(results, `${n.nodeRedisOff}: accessor`, `${n.ioredis}: accessor`, "accessor 1:1 set/get: node-redis timeout 0 vs ioredis defaults", fx.name, atLeast(1.0)),
    ratioRow(many, n.nodeRedisOff, n.ioredis, "store getMany(100) (MGET): node-redis timeout 0 vs ioredis", fx.name, atLeast(1.0)),
  ];
}
