import type { Command, RedisTransport } from "../../src/stores/redis/transport.js";
import { Socket } from "node:net";

/**
 * Runs `fn` and counts its round trips as the sockets saw them: per socket,
 * every run of writes that carries `marker` (a key prefix only `fn` uses)
 * and is followed by reply data counts once. A batch that sends each server
 * all its commands before any reply arrives takes one round trip per
 * server, whatever the client's write pattern (corked or not); the
 * clients' own background traffic (slot refreshes) carries no marker.
 * `largest` is the most occurrences of `marker` (keys, when it is their
 * prefix) one round trip on one socket carried.
 */
export async function countRoundTrips<T>(
  marker: string,
  fn: () => Promise<T>,
): Promise<{ result: T; roundTrips: number; sockets: number; largest: number }> {
  const state = new Map<Socket, { writing: boolean; marked: number }>();
  let roundTrips = 0;
  let largest = 0;
  const sockets = new Set<Socket>();
  const write = Socket.prototype.write;
  const emit = Socket.prototype.emit;
  const end = (s: { writing: boolean; marked: number }): void => {
    if (s.writing && s.marked > 0) roundTrips++;
    largest = Math.max(largest, s.marked);
    s.writing = false;
    s.marked = 0;
  };
  Socket.prototype.write = function (this: Socket, ...args: unknown[]) {
    const s = state.get(this) ?? { writing: false, marked: 0 };
    state.set(this, s);
    s.writing = true;
    const chunk = args[0];
    if ((typeof chunk === "string" || Buffer.isBuffer(chunk)) && chunk.includes(marker)) {
      s.marked += chunk.toString("latin1").split(marker).length - 1;
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
    return { result, roundTrips, sockets: sockets.size, largest };
  } finally {
    Socket.prototype.write = write;
    Socket.prototype.emit = emit;
  }
}

/**
 * {@link countRoundTrips} for a Redis store whose client does its I/O
 * outside Node's sockets (Valkey GLIDE's Rust core speaks to the servers;
 * Node only sees its one local socket to the core): counts at the
 * transport, where one `batch` or `send` is one round trip to one server
 * (the transport contract, src/stores/redis/transport.ts), and the
 * servers by the transport's own `serverOf`. `largest` is the most
 * commands naming `marker` one round trip carried.
 */
export async function countTransportRoundTrips<T>(
  store: object,
  marker: string,
  fn: () => Promise<T>,
): Promise<{ result: T; roundTrips: number; sockets: number; largest: number }> {
  const transport = (store as { transport: RedisTransport }).transport;
  const { send, batch } = transport;
  let roundTrips = 0;
  let largest = 0;
  const servers = new Set<string>();
  const seen = (keys: readonly (string | undefined)[], commands: readonly Command[]): void => {
    const marked = commands.filter((c) => c.some((a) => String(a).includes(marker))).length;
    if (marked === 0) return;
    roundTrips++;
    largest = Math.max(largest, marked);
    for (const k of keys) if (k !== undefined) servers.add(transport.serverOf(k));
  };
  const t = transport as { send: RedisTransport["send"]; batch: RedisTransport["batch"] };
  t.send = (key, command) => (seen([key], [command]), send.call(transport, key, command));
  t.batch = (keys, commands) => (seen(keys, commands), batch.call(transport, keys, commands));
  try {
    return { result: await fn(), roundTrips, sockets: servers.size, largest };
  } finally {
    t.send = send;
    t.batch = batch;
  }
}
