// Writes a cart to Redis through the generated accessor, reads it back, serves
// it as JSON from an HTTP handler, parses a JSON body back into a Cart, and
// prints what happened as JSON. REDIS_URL picks the server (default: a local one).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { isDeepStrictEqual } from "node:util";
import { Redis } from "ioredis";
import { JsonError, RedisStore, timestampFromDate, type EntityCache } from "protocache";
import { cartCache, createCart, createCart_Line, fromJsonCart, toJsonCart, type Cart, type CartKey } from "../generated/shop/cart/v1/cart.cache.js";

/** GET /carts/:id answers the cached cart as proto3 JSON (int64 as strings, the map as an object, the Timestamp as RFC 3339). */
async function handle(carts: EntityCache<Cart, CartKey>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const cartId = /^\/carts\/([\w-]+)$/.exec(req.url ?? "")?.[1];
  const cart = cartId === undefined ? undefined : await carts.get({ cartId });
  if (cart === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(toJsonCart(cart)));
}

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
    attributes: new Map([["gift-wrap", "yes"]]),
    createdAt: timestampFromDate(new Date("2026-12-01T09:30:00.250Z")),
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
  // The cart as an API returns it, through a real HTTP round trip, and a client's JSON body read back into a Cart.
  const server = createServer((req, res) => void handle(carts, req, res).catch(() => res.writeHead(500).end()));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/carts/c-1001`);
  const body = await response.text();
  server.close();
  const parsed = fromJsonCart(JSON.parse(body));
  let refused = "";
  try {
    fromJsonCart({ cartId: "c-1", lines: [{ unitPriceCents: "12.5" }] });
  } catch (error) {
    if (error instanceof JsonError) refused = error.path;
  }
  // Waits for background writes before the connection goes.
  await carts.close();
  console.log(JSON.stringify({ written, read, http: { status: response.status, body: JSON.parse(body) as unknown }, jsonRoundTrip: isDeepStrictEqual(parsed, read), refused, loaded: loaded.map((c) => c?.cartId), loads, l1: { live: l1Live, hits: hotCarts.stats().l1.hit, same: fromL1?.cartId === read.cartId }, stats: carts.stats().reads }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
} finally {
  redis.disconnect();
}
