import { Socket } from "node:net";

/**
 * Runs `fn` and counts its round trips as the sockets saw them: per socket,
 * every run of writes that is followed by reply data counts once. A batch
 * that sends each server all its commands before any reply arrives takes
 * one round trip per server, whatever the client's write pattern (corked
 * or not). Only `fn` may use sockets meanwhile.
 */
export async function countRoundTrips<T>(fn: () => Promise<T>): Promise<{ result: T; roundTrips: number; sockets: number }> {
  const last = new Map<Socket, "write" | "data">();
  let roundTrips = 0;
  const write = Socket.prototype.write;
  const emit = Socket.prototype.emit;
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    if (last.get(this) !== "write") roundTrips++;
    last.set(this, "write");
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket["write"];
  Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]) {
    if (event === "data" && last.has(this)) last.set(this, "data");
    return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as Socket["emit"];
  try {
    const result = await fn();
    return { result, roundTrips, sockets: last.size };
  } finally {
    Socket.prototype.write = write;
    Socket.prototype.emit = emit;
  }
}
