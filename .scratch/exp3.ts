import { Cluster } from "ioredis";
import calculateSlot from "cluster-key-slot";
import { startReplicatedCluster } from "../test/support/redis-cluster-replicas.js";
import { userCache, userEntity, type User } from "../generated/acme/user/v1/user.cache.js";
import { accessorInternals } from "../src/accessor/internals.js";
import { RedisStore } from "../src/stores/ioredis/ioredis-store.js";
import { ioredisTracking } from "../src/stores/ioredis/tracking-driver.js";
import { Writer } from "../src/codec/writer.js";
import { encodeEnvelope } from "../src/envelope/encode.js";
const user = (id: string, name = `n${id}`): User => ({ id, name, email: `${id}@example.com`, fullName: "", verified: true, locale: "en-GB" });
const envelopeOf = (value: User): Buffer => encodeEnvelope(new Writer(), userEntity.current.schemaId, value, userEntity.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 1024 }, Date.now());
const c = await startReplicatedCluster(3);
const t0 = Date.now(); const log = (...a: any[]) => console.log(Date.now() - t0, ...a);
try {
  const t = c.topology();
  const client = new Cluster(t.masters.map((port) => ({ host: "127.0.0.1", port })));
  client.on("error", () => {});
  await new Promise((r) => client.once("ready", r));
  const writer = new Cluster(t.masters.map((port) => ({ host: "127.0.0.1", port })));
  writer.on("error", () => {});
  await new Promise((r) => writer.once("ready", r));
  const source = ioredisTracking(client, { heartbeatMs: 200, maxReconnectDelayMs: 200 });
  const cache = userCache(new RedisStore(client), { prefix: "p:", deadlineMs: 2000, l1: { maxEntries: 1000, maxBytes: 1 << 22, tracking: source } });
  const l1 = (cache as any)[accessorInternals]().l1;
  log("ready", await l1.ready(10000));
  const slotsRaw = (await client.call("CLUSTER", "SLOTS")) as any[];
  const owner = (slot: number) => slotsRaw.find((s) => s[0] <= slot && slot <= s[1])[2][1];
  const ids: Record<number, string> = {};
  for (let i = 0; Object.keys(ids).length < 3; i++) ids[owner(calculateSlot(cache.keyOf({ id: `k${i}` })))] ??= `k${i}`;
  const victim = t.masters[0]!; const replica = t.replicaOf.get(victim)!; const id = ids[victim]!;
  for (const k of Object.values(ids)) { await cache.set(user(k, "v0")); }
  await new Promise((r) => setTimeout(r, 200));
  for (const k of Object.values(ids)) { await cache.get({ id: k }); await cache.get({ id: k }); }
  log("filled", cache.stats().l1.hit, cache.stats().l1.entries);
  source.watch("p:", { invalidate: (k) => log("inval", k), flush: (r) => log("flush", r) });
  c.node(victim).process.kill("SIGKILL");
  let last = "";
  const show = () => {
    const masters = client.nodes("master").map((n) => n.options.port).join(",");
    const cur = (source as any).current;
    const s = `masters=${masters} live=${l1.live} gen=${cur?.servers} retired=${cur?.retired} connects=${source.stats().connects} drops=${source.stats().drops}`;
    if (s !== last) log(s); last = s;
  };
  for (let i = 0; i < 50; i++) { show(); await new Promise((r) => setTimeout(r, 100)); }
  log(c.topology());
  await c.waitForMasters(3);
  log("promoted", c.topology());
  // traffic to the victim's key
  for (let i = 0; i < 30; i++) {
    const got = await cache.get({ id });
    show();
    log("get", got?.name, JSON.stringify(cache.stats().l1));
    if (i === 5) { await writer.set(cache.keyOf({ id }), envelopeOf(user(id, "v1"))); log("wrote v1"); }
    await new Promise((r) => setTimeout(r, 100));
  }
  client.disconnect(); writer.disconnect();
} finally { await c.stop(); }
process.exit(0);
