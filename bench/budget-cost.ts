// `node --import tsx bench/budget-cost.ts [--base=<git ref>] [--rounds=N]`: what the work budget costs the
// read path, side by side in one process. The runtime and generated code of <git ref> (default: the commit
// before the budget, 61cb17c) are extracted to .tmp/budget-base/ (git archive), and the same envelopes are
// read through both: header + decode + defaults (`interpret`), and the generated decoder alone. Rounds
// alternate which side runs first; the ratio (this tree / base) is the median of per-round ratios.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fixtures } from "./fixtures.js";
import { resolveOptions } from "../src/accessor/options.js";
import { interpret } from "../src/accessor/read.js";
import { Reader } from "../src/codec/reader.js";
import { Writer } from "../src/codec/writer.js";
import { encodeEnvelope } from "../src/envelope/encode.js";
import { median } from "./harness.js";

const root = join(import.meta.dirname, "..");
const ref = process.argv.find((a) => a.startsWith("--base="))?.slice("--base=".length) ?? "61cb17c";
const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.slice("--rounds=".length) ?? 31);
const dir = join(root, ".tmp", "budget-base");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
execFileSync("sh", ["-c", `git -C "${root}" archive "${ref}" src generated | tar -x -C "${dir}"`]);
const load = async (path: string): Promise<Record<string, unknown>> => (await import(pathToFileURL(join(dir, path)).href)) as Record<string, unknown>;
const base = {
  interpret: (await load("src/accessor/read.ts"))["interpret"] as typeof interpret,
  resolveOptions: (await load("src/accessor/options.ts"))["resolveOptions"] as typeof resolveOptions,
  Reader: (await load("src/codec/reader.ts"))["Reader"] as typeof Reader,
  entities: {
    "acme.user.v1.User": (await load("generated/acme/user/v1/user.cache.ts"))["userEntity"],
    "acme.session.v1.Session": (await load("generated/acme/session/v1/session.cache.ts"))["sessionEntity"],
  } as Record<string, { decode: (r: unknown, end: number) => unknown }>,
};

/** ns per call of `f`, over `n` calls. */
function time(f: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t0) / n;
}

function compare(name: string, ours: () => unknown, theirs: () => unknown, n: number): void {
  for (let i = 0; i < 5; i++) {
    time(ours, n);
    time(theirs, n);
  }
  const ratios: number[] = [];
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let x: number;
    let y: number;
    if (r % 2 === 0) {
      x = time(ours, n);
      y = time(theirs, n);
    } else {
      y = time(theirs, n);
      x = time(ours, n);
    }
    ratios.push(x / y);
    a.push(x);
    b.push(y);
  }
  const sorted = [...ratios].sort((p, q) => p - q);
  const q1 = sorted[Math.floor(rounds / 4)] as number;
  const q3 = sorted[Math.floor((3 * rounds) / 4)] as number;
  console.log(`${name}: ${median(a).toFixed(0)} ns vs ${median(b).toFixed(0)} ns, ratio ${median(ratios).toFixed(3)} (interquartile ${q1.toFixed(3)}-${q3.toFixed(3)})`);
}

const w = new Writer();
for (const fx of fixtures() as unknown as { name: string; entity: Parameters<typeof interpret>[0]; value: unknown; encode: never }[]) {
  const typeName = fx.entity.typeName;
  const theirs = base.entities[typeName] as { decode: (r: unknown, end: number) => unknown };
  const bytes = encodeEnvelope(w, fx.entity.current.schemaId, fx.value, fx.encode, { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 0 }, Date.now());
  const ours = resolveOptions<unknown>({}, 0);
  const baseOptions = base.resolveOptions<unknown>({}, 0);
  if (interpret(fx.entity, ours as never, bytes).outcome !== "hit" || base.interpret(theirs as never, baseOptions as never, bytes).outcome !== "hit") throw new Error(`${typeName}: not a hit on both sides`);
  const n = bytes.length > 500 ? 20_000 : 200_000;
  compare(`${typeName} (${bytes.length} B), read path`, () => interpret(fx.entity, ours as never, bytes).value, () => base.interpret(theirs as never, baseOptions as never, bytes).value, n);
  const payload = bytes.subarray(13);
  const r = new Reader(payload);
  const rb = new base.Reader(payload);
  compare(
    `${typeName}, generated decoder alone`,
    () => {
      r.reset(payload, 0, payload.length, 524_288);
      return fx.entity.decode(r, payload.length);
    },
    () => {
      rb.reset(payload, 0, payload.length);
      return theirs.decode(rb, payload.length);
    },
    n,
  );
}
