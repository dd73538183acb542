import { createServer, type Server, type Socket } from "node:net";

/** A reply the fake sends: RESP text, or a function of the command. */
export type FakeReply = string | ((command: readonly string[]) => string);

/**
 * A tiny RESP server on a free loopback port, for what a real server here
 * cannot show: it records every command (arguments as latin1 strings, so
 * binary values compare exactly) and answers from a table keyed by the
 * upper-cased command name (`+OK` for anything else). Not a Redis: only for
 * checking the exact commands a store sends and how it reacts to replies.
 */
export class FakeRespServer {
  readonly commands: string[][] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly replies: Record<string, FakeReply>) {
    this.server = createServer((socket) => this.serve(socket));
  }

  static async start(replies: Record<string, FakeReply>): Promise<FakeRespServer & { port: number }> {
    const fake = new FakeRespServer(replies);
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    const address = fake.server.address();
    return Object.assign(fake, { port: typeof address === "object" && address !== null ? address.port : 0 });
  }

  /** Recorded commands whose name is `name` (case-insensitive). */
  named(name: string): string[][] {
    return this.commands.filter((c) => c[0]?.toUpperCase() === name.toUpperCase());
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const parsed = parseCommand(pending);
        if (parsed === undefined) break;
        pending = pending.subarray(parsed.used);
        this.commands.push(parsed.args);
        const name = parsed.args[0]?.toUpperCase() ?? "";
        const reply = this.replies[name] ?? "+OK\r\n";
        socket.write(typeof reply === "string" ? reply : reply(parsed.args));
      }
    });
  }
}

/** One RESP array of bulk strings from the front of `buf`, or undefined when incomplete. */
function parseCommand(buf: Buffer): { args: string[]; used: number } | undefined {
  if (buf.length === 0 || buf[0] !== 0x2a) return undefined;
  let at = buf.indexOf("\r\n");
  if (at < 0) return undefined;
  const count = Number(buf.toString("latin1", 1, at));
  let pos = at + 2;
  const args: string[] = [];
  for (let i = 0; i < count; i++) {
    at = buf.indexOf("\r\n", pos);
    if (at < 0 || buf[pos] !== 0x24) return undefined;
    const len = Number(buf.toString("latin1", pos + 1, at));
    const start = at + 2;
    if (buf.length < start + len + 2) return undefined;
    args.push(buf.toString("latin1", start, start + len));
    pos = start + len + 2;
  }
  return { args, used: pos };
}

/** RESP bulk string. */
export function bulk(text: string): string {
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}
