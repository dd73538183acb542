import { Socket } from "node:net";

/**
 * Runs `fn` and counts its round trips as the sockets saw them: per socket,
 * every run of writes that carries `marker` (a key prefix only `fn` uses)
 * and is followed by reply data counts once. A batch that sends each server
 * all its commands before any reply arrives takes one round trip per
 * server, whatever the client's write pattern (corked or not); the
 * clients' own background traffic (slot refreshes) carries no marker.
 */
export async function countRoundTrips<T>(marker: string, fn: () => Promise<T>): Promise<{ result: T; roundTrips: number; sockets: number }> {
  const state = new Map<Socket, { writing: boolean; marked: boolean }>();
  let roundTrips = 0;
  const sockets = new Set<Socket>();
  const write = Socket.prototype.write;
  const emit = Socket.prototype.emit;
  const end = (s: { writing: boolean; marked: boolean }): void => {
    if (s.writing && s.marked) roundTrips++;
    s.writing = false;
    s.marked = false;
  };
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    const s = state.get(this) ?? { writing: false, marked: false };
    state.set(this, s);
    s.writing = true;
    const chunk = args[0];
    if ((typeof chunk === "string" || Buffer.isBuffer(chunk)) && chunk.includes(marker)) {
      s.marked = true;
      sockets.add(this);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket["write"];
  Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]) {
    const s = state.get(this);
    if (event === "data" && s !== undefined) end(s);
    return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as Socket["emit"];
  try {
    const result = await fn();
    for (const s of state.values()) end(s);
    return { result, roundTrips, sockets: sockets.size };
  } finally {
    Socket.prototype.write = write;
    Socket.prototype.emit = emit;
  }
}
