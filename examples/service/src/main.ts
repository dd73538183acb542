// Writes a cart to Redis through the generated accessor, reads it back and
// prints it as JSON. REDIS_URL picks the server (default: a local one).
import { Redis } from "ioredis";
import { RedisStore } from "protocache";
import { cartCache, createCart, createCart_Line } from "../generated/shop/cart/v1/cart.cache.js";

// Fail fast: a cache must never make a request wait on a slow or absent Redis
// (docs/operations.md of protocache explains each setting). protocache's own
// deadline (deadlineMs, 200 ms) bounds every call: no commandTimeout needed.
const redis = new Redis(process.env["REDIS_URL"] ?? "redis://127.0.0.1:6379", {
  lazyConnect: true,
  connectTimeout: 1_000,
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
  socketTimeout: 5_000,
});
redis.on("error", (error: Error) => console.error(`redis: ${error.message}`));

try {
  await redis.connect();
  const carts = cartCache(new RedisStore(redis), { writerTag: "example-cart-service@1.0.0" });
  const cart = createCart({
    cartId: "c-1001",
    customerId: "u-42",
    lines: [createCart_Line({ sku: "tea-earl-grey", quantity: 2, unitPriceCents: 450n })],
    updatedAtMs: BigInt(Date.now()),
  });
  const written = await carts.set(cart);
  const read = await carts.get({ cartId: "c-1001" });
  if (written !== "written" || read === undefined) throw new Error(`round trip failed: set → ${written}, get → ${String(read)}`);
  // Cache-aside without writing it by hand: concurrent callers of a missing key share one load, written back once.
  let loads = 0;
  const loadCart = async ({ cartId }: { cartId: string }) => {
    loads++;
    return createCart({ cartId, customerId: "u-7", lines: [], updatedAtMs: BigInt(Date.now()) });
  };
  // An L1 in the process, kept current by Redis itself (a write by any instance or tool drops the entry).
  const hotCarts = cartCache(new RedisStore(redis), { l1: { maxEntries: 10_000, maxBytes: 16 * 1024 * 1024 } });
  const l1Live = await hotCarts.l1Ready();
  await hotCarts.get({ cartId: "c-1001" }); // from Redis, now held
  const fromL1 = await hotCarts.get({ cartId: "c-1001" });
  await hotCarts.close();
  await carts.delete({ cartId: "c-2002" });
  const loaded = await Promise.all([1, 2, 3].map(() => carts.getOrSet({ cartId: "c-2002" }, loadCart)));
  // Waits for background writes before the connection goes.
  await carts.close();
  console.log(JSON.stringify({ written, read, loaded: loaded.map((c) => c?.cartId), loads, l1: { live: l1Live, hits: hotCarts.stats().l1.hit, same: fromL1?.cartId === read.cartId }, stats: carts.stats().reads }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
} finally {
  redis.disconnect();
}
