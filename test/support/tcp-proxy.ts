import { spawn, type ChildProcess } from "node:child_process";

/**
 * A TCP proxy in a child process (plain node, no dependencies): every
 * connection to its port is forwarded to 127.0.0.1:<target>. A fault test
 * puts it between one client and Redis and SIGSTOPs it (the client's
 * connection stalls: nothing answers, nothing closes) or SIGKILLs it (the
 * client's connection drops), while other clients reach Redis directly.
 */
export interface TcpProxy {
  /** The port the proxy listens on (127.0.0.1). */
  readonly port: number;
  readonly process: ChildProcess;
  /** Ends the proxy whatever its state (stopped or not) and waits for its exit. */
  stop(): Promise<void>;
}

const script = `
const net = require("node:net");
const [listenPort, targetPort] = process.argv.slice(1).map(Number);
const server = net.createServer((client) => {
  const upstream = net.connect(targetPort, "127.0.0.1");
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on("error", close);
  upstream.on("error", close);
  client.on("close", close);
  upstream.on("close", close);
  client.pipe(upstream);
  upstream.pipe(client);
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
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      let err = "";
      const timer = setTimeout(() => reject(new Error("the TCP proxy did not start within 10 s")), 10_000);
      child.stderr?.on("data", (d: Buffer) => void (err += d.toString()));
      child.stdout?.on("data", (d: Buffer) => {
        out += d.toString();
        const line = /^(\d+)\n/.exec(out);
        if (line !== null) {
          clearTimeout(timer);
          resolve(Number(line[1]));
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the TCP proxy exited (${String(code)}) before listening: ${err}`));
      });
    });
    return { port, process: child, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
