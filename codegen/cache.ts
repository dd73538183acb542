import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

const keep = 16;

/**
 * A content-addressed cache of tool results that only depend on their
 * inputs (buf lint's verdict on an image, ts-proto's output for a request),
 * under `node_modules/.cache/protocache`. A hit skips a child process; a
 * miss, a read error or `PROTOCACHE_NO_CACHE=1` just runs the tool.
 */
export class ToolCache {
  private readonly dir: string;
  private readonly enabled: boolean;

  constructor(root: string) {
    this.dir = join(root, "node_modules", ".cache", "protocache");
    this.enabled = process.env["PROTOCACHE_NO_CACHE"] !== "1";
  }

  /** Key for the given inputs (order matters). */
  static key(...parts: (string | Uint8Array)[]): string {
    const hash = createHash("sha256");
    for (const p of parts) {
      hash.update(String(typeof p === "string" ? p.length : p.byteLength));
      hash.update(":");
      hash.update(p);
    }
    return hash.digest("hex").slice(0, 32);
  }

  /** The cached value of `kind`/`key`, or undefined. */
  async get<T>(kind: string, key: string): Promise<T | undefined> {
    if (!this.enabled) return undefined;
    try {
      return JSON.parse(await readFile(join(this.dir, `${kind}-${key}.json`), "utf8")) as T;
    } catch {
      return undefined;
    }
  }

  /** Stores a value and drops the oldest entries of the same kind beyond a few. */
  async set(kind: string, key: string, value: unknown): Promise<void> {
    if (!this.enabled) return;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(join(this.dir, `${kind}-${key}.json`), JSON.stringify(value));
      const mine = (await readdir(this.dir)).filter((f) => f.startsWith(`${kind}-`));
      if (mine.length <= keep) return;
      const aged = await Promise.all(mine.map(async (f) => ({ f, t: (await stat(join(this.dir, f))).mtimeMs })));
      aged.sort((a, b) => a.t - b.t);
      await Promise.all(aged.slice(0, aged.length - keep).map(({ f }) => rm(join(this.dir, f), { force: true })));
    } catch {
      // A cache that cannot be written is only slower.
    }
  }
}
