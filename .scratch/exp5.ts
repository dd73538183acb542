import { Redis } from "ioredis";
import { createClient } from "redis";
import { startRedis } from "../test/support/redis-server.js";
import { startTcpProxy } from "../test/support/tcp-proxy.js";
import { ioredisTracking } from "../src/stores/ioredis/tracking-driver.js";
import { nodeRedisTracking } from "../src/stores/node-redis/tracking-driver.js";
const s = await startRedis();
const p = await startTcpProxy(s.port);
const t0 = Date.now(); const log = (...a: any[]) => console.log(Date.now() - t0, ...a);
try {
  for (const kind of ["ioredis", "node-redis"]) {
    const src = kind === "ioredis" ? ioredisTracking(new Redis({ port: p.port, host: "127.0.0.1", lazyConnect: true }), { heartbeatMs: 200, maxReconnectDelayMs: 200 })
      : nodeRedisTracking(createClient({ socket: { port: p.port, host: "127.0.0.1" } }) as any, { heartbeatMs: 200, maxReconnectDelayMs: 200 });
    const w = src.watch("x", { invalidate: (k) => log(kind, "inval", k), flush: (r) => log(kind, "flush", r) });
    log(kind, "ready", await w.ready(5000));
    const d = new Redis(s.port);
    console.log(String(await d.call("CLIENT", "LIST")).split("\n").filter((l) => l.includes("protocache")));
    await d.set("x1", "a");
    await new Promise((r) => setTimeout(r, 100));
    p.process.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 1000));
    log(kind, "live", w.live, src.stats());
    p.process.kill("SIGCONT");
    log(kind, "ready again", await w.ready(5000), src.stats());
    await d.set("x1", "b");
    await new Promise((r) => setTimeout(r, 100));
    w.close(); d.disconnect();
  }
} finally { await p.stop(); await s.stop(); }
process.exit(0);
