// `node --import tsx bench/budget-cost.ts [--base=<git ref>] [--rounds=N]`: what a change costs the read and
// write hot paths, side by side in one process. The runtime and generated code of <git ref> (default: the
// commit before the work budget, 61cb17c) are extracted to .tmp/budget-base/ (git archive), and the same
// envelopes are read through both: header + decode + defaults (`interpret`, as `get` calls it: with the
// call's key fields), and the generated decoder alone; and the same values are encoded by both (the envelope
// `set` writes). Two rows compare this tree with itself instead: the read path with and without the key check,
// and two ways to check. Rounds alternate which side runs first; the ratio (this tree / base) is the median of
// per-round ratios.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fixtures } from "./fixtures.js";
import { resolveOptions } from "../src/accessor/options.js";
import { interpret, keyFieldsMatch } from "../src/accessor/read.js";
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
  Writer: (await load("src/codec/writer.ts"))["Writer"] as typeof Writer,
  encodeEnvelope: (await load("src/envelope/encode.ts"))["encodeEnvelope"] as typeof encodeEnvelope,
  entities: {
    "acme.user.v1.User": (await load("generated/acme/user/v1/user.cache.ts"))["userEntity"],
    "acme.session.v1.Session": (await load("generated/acme/session/v1/session.cache.ts"))["sessionEntity"],
  } as Record<string, { decode: (r: unknown, end: number) => unknown; encode: (w: unknown, v: unknown) => void }>,
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
const wb = new base.Writer();
const envelopeOptions = { writtenAt: true, writerTag: undefined, compression: "none", compressMinBytes: 0 } as const;
type Fx = { name: string; entity: Parameters<typeof interpret>[0]; value: unknown; encode: never };
const list = fixtures() as unknown as Fx[];
// Strings V8 holds as two bytes per character take the writer's native path and its well-formedness check.
const user = list.find((fx) => fx.entity.typeName === "acme.user.v1.User") as Fx;
list.push({ ...user, name: "user, non-ASCII", value: { ...(user.value as object), name: "Ådå", fullName: "Ada Lovelace, Gräfin von Lovelace — 日本語", locale: "ja-JP" } });
for (const fx of list) {
  const typeName = fx.entity.typeName;
  const label = fx.name.includes("non-ASCII") ? `${typeName}, non-ASCII` : typeName;
  const theirs = base.entities[typeName] as { decode: (r: unknown, end: number) => unknown; encode: (w: unknown, v: unknown) => void };
  const bytes = encodeEnvelope(w, fx.entity.current.schemaId, fx.value, fx.encode, envelopeOptions, Date.now());
  const ours = resolveOptions<unknown>({}, 0);
  const baseOptions = base.resolveOptions<unknown>({}, 0);
  // The value holds its own key fields: what get passes as the call's fields.
  const fields = fx.value;
  if (interpret(fx.entity, ours as never, bytes, "k", fields).outcome !== "hit" || base.interpret(theirs as never, baseOptions as never, bytes, "k", fields).outcome !== "hit") throw new Error(`${label}: not a hit on both sides`);
  const n = bytes.length > 500 ? 20_000 : 200_000;
  compare(`${label} (${bytes.length} B), read path`, () => interpret(fx.entity, ours as never, bytes, "k", fields).value, () => base.interpret(theirs as never, baseOptions as never, bytes, "k", fields).value, n);
  const payload = bytes.subarray(13);
  const r = new Reader(payload);
  const rb = new base.Reader(payload);
  compare(
    `${label}, generated decoder alone`,
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
  // What the key check costs the read path (this tree on both sides, fresh strings every read): with the call's
  // key fields against without (operations read so), and comparing key fields against building the value's key.
  const asked = { ...(fields as object) };
  const space = `${fx.entity.entity}:v${fx.entity.major}:`;
  const key = space + fx.entity.key(asked as never);
  compare(`${label}, read path: key check on vs off`, () => interpret(fx.entity, ours as never, bytes, key, asked).value, () => interpret(fx.entity, ours as never, bytes, key).value, n);
  compare(
    `${label}, read path: key check by key fields vs by the value's key`,
    () => keyFieldsMatch(fx.entity.keyFields, interpret(fx.entity, ours as never, bytes, key).value, asked),
    () => space + fx.entity.key(interpret(fx.entity, ours as never, bytes, key).value as never) === key,
    n,
  );
  compare(
    `${label}, envelope encode`,
    () => encodeEnvelope(w, fx.entity.current.schemaId, fx.value, fx.encode, envelopeOptions, 0),
    () => base.encodeEnvelope(wb as never, fx.entity.current.schemaId, fx.value, theirs.encode as never, envelopeOptions, 0),
    n,
  );
}
