import { spawn, type ChildProcess } from "node:child_process";

/**
 * A TCP proxy in a child process (plain node, no dependencies): every
 * connection to its port is forwarded to 127.0.0.1:<target>. A fault test
 * puts it between one client and Redis and SIGSTOPs it (the client's
 * connection stalls: nothing answers, nothing closes) or SIGKILLs it (the
 * client's connection drops), while other clients reach Redis directly.
 * `hold()` stops forwarding what the server sends on the connections open
 * at that moment (new connections flow), `release()` lets it go: a delayed
 * reply or message on one connection while others go on.
 */
export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly process: ChildProcess;
  /** Holds back server-to-client data of every connection open now; resolves once the proxy confirmed. */
  hold(): Promise<void>;
  /** Forwards what was held (to the clients still connected) and flows again; resolves once the proxy confirmed. */
  release(): Promise<void>;
  /** Ends the proxy whatever its state (stopped or not) and waits for its exit. */
  stop(): Promise<void>;
}

const script = `
const net = require("node:net");
const [listenPort, targetPort] = process.argv.slice(1).map(Number);
const pairs = new Set();
let held = [];
const server = net.createServer((client) => {
  const upstream = net.connect(targetPort, "127.0.0.1");
  const pair = { client, upstream };
  pairs.add(pair);
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  const close = () => { pairs.delete(pair); client.destroy(); upstream.destroy(); };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", close);
  upstream.on("close", close);
  client.pipe(upstream);
  upstream.pipe(client);
});
process.on("SIGUSR1", () => {
  held = [...pairs];
  for (const p of held) { p.upstream.unpipe(p.client); p.upstream.pause(); }
  process.stdout.write("held\\n");
});
process.on("SIGUSR2", () => {
  for (const p of held) if (!p.client.destroyed) p.upstream.pipe(p.client);
  held = [];
  process.stdout.write("released\\n");
});
server.on("error", (error) => { process.stderr.write(String(error) + "\\n"); process.exit(1); });
server.listen(listenPort, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

/** Starts a proxy to 127.0.0.1:`targetPort` on a free port, or on `options.port` (a restart after a kill). */
export async function startTcpProxy(targetPort: number, options: { port?: number } = {}): Promise<TcpProxy> {
  const child = spawn(process.execPath, ["--input-type=commonjs", "-e", script, String(options.port ?? 0), String(targetPort)], { stdio: ["ignore", "pipe", "pipe"] });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exit.then(() => (exited = true));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill("SIGKILL"); // also ends a SIGSTOPped process
    await exit;
  };
  // Lines the proxy printed, and who waits for the next one.
  const lines: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => void (err += d.toString()));
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (let i = out.indexOf("\n"); i >= 0; i = out.indexOf("\n")) {
      const line = out.slice(0, i);
      out = out.slice(i + 1);
      const next = waiting.shift();
      if (next === undefined) lines.push(line);
      else next(line);
    }
  });
  const nextLine = (what: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const early = lines.shift();
      if (early !== undefined) return resolve(early);
      const timer = setTimeout(() => reject(new Error(`the TCP proxy did not ${what} within 60 s`)), 60_000);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`the TCP proxy exited (${String(code)}) before it could ${what}: ${err}`));
      };
      child.once("exit", onExit);
      waiting.push((line) => {
        clearTimeout(timer);
        child.off("exit", onExit);
        resolve(line);
      });
    });
  const signal = async (name: "SIGUSR1" | "SIGUSR2", confirmation: string): Promise<void> => {
    const line = nextLine(confirmation);
    child.kill(name);
    if ((await line) !== confirmation) throw new Error(`the TCP proxy answered ${await line} instead of ${confirmation}`);
  };
  try {
    const port = Number(await nextLine("start listening"));
    return { port, process: child, stop, hold: () => signal("SIGUSR1", "held"), release: () => signal("SIGUSR2", "released") };
  } catch (error) {
    await stop();
    throw error;
  }
}
