import { Redis, Cluster } from "ioredis";
import { startReplicatedCluster } from "../test/support/redis-cluster-replicas.js";
const c = await startReplicatedCluster(3);
try {
  const t = c.topology();
  console.log(t);
  const m = t.masters[0]!; const r = t.replicaOf.get(m)!;
  // tracking connection on the master, BCAST prefix x
  const trk = new Redis(m, { protocol: 2 } as any);
  const id = await trk.call("CLIENT", "ID");
  await trk.call("CLIENT", "TRACKING", "ON", "REDIRECT", String(id), "BCAST", "PREFIX", "x");
  trk.on("messageBuffer", (ch: Buffer, msg: any) => console.log("inval on old master conn:", String(msg)));
  await trk.subscribe("__redis__:invalidate");
  const list = String(await new Redis(m).call("CLIENT", "LIST"));
  console.log(list.split("\n").filter(l => l.includes("sub=1")));
  const rc = new Redis(r);
  console.log(await rc.call("CLUSTER", "FAILOVER"));
  await c.waitForMasters(3);
  for (let i = 0; i < 50; i++) { const tt = c.topology(); if (tt.masters.includes(r)) break; await new Promise(res => setTimeout(res, 100)); }
  console.log(c.topology());
  const cl = new Cluster([{ host: "127.0.0.1", port: r }]);
  // write keys with prefix x on slot served by r
  const slots = await rc.call("CLUSTER", "SLOTS") as any[];
  console.log(JSON.stringify(slots.map(s => [s[0], s[1], s[2][1]])));
  for (let i = 0; i < 200; i++) await cl.set(`x${i}`, "v");
  await new Promise(res => setTimeout(res, 500));
  cl.disconnect(); rc.disconnect(); trk.disconnect();
} finally { await c.stop(); }
process.exit(0);
