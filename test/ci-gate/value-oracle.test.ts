import fc from "fast-check";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FindingError } from "../../codegen/check/finding.js";
import { fieldVerdict, type FieldVerdict } from "../../codegen/check/value-preservation.js";
import { GenErrors } from "../../codegen/errors.js";
import { planGeneration, syncOutput } from "../../codegen/index.js";
import { parseImage } from "../../codegen/image.js";
import type { Reader } from "../../src/codec/reader.js";
import type { Writer } from "../../src/codec/writer.js";
import { decodeWith, encodeWith } from "../support/codec-harness.js";
import { buildImage, repoRoot } from "../support/project.js";
import { pairLabel, probeProto, typeCases, type ProbeType, type TypeCase } from "../support/type-changes.js";

/**
 * The value-preservation rule, proven rather than listed: for every pair of
 * field types that share a wire type, in every position, and for the
 * presence and packing changes, values of the old type are written by the
 * old schema's generated codec and read by the new schema's; what happened
 * to them is compared with protocache's verdict and with the whole gate's
 * (gen: buf's WIRE rules plus protocache's), on the same two schemas.
 */

const cases = typeCases();
const beforeProto = probeProto(cases, "before");
const afterProto = probeProto(cases, "after");
const base = join(repoRoot, ".tmp", "value-oracle");
const docsFile = join(repoRoot, "docs", "schema-workflow.md");

interface Codec {
  encodeProbe(w: Writer, m: unknown): void;
  decodeProbe(r: Reader, end: number): Record<string, unknown>;
  newProbe(): Record<string, unknown>;
  newInner(): Record<string, unknown>;
  encodeM(w: Writer, m: unknown): void;
  encodeM2(w: Writer, m: unknown): void;
}

/** A project in .tmp whose generated code imports this repository's runtime. */
async function generate(name: string, proto: string): Promise<string> {
  const root = join(base, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "proto", "oracle", "probe", "v1"), { recursive: true });
  writeFileSync(join(root, "buf.yaml"), readFileSync(join(repoRoot, "buf.yaml")));
  const runtime = relative(root, join(repoRoot, "src", "runtime", "index.js")).split("\\").join("/");
  writeFileSync(join(root, "package.json"), JSON.stringify({ name, private: true, type: "module", protocache: { runtime } }));
  writeFileSync(join(root, "proto", "oracle", "probe", "v1", "probe.proto"), proto);
  const plan = await planGeneration(root, { date: "2026-01-01" });
  await syncOutput(join(root, plan.config.outDir), plan.files);
  writeFileSync(join(root, plan.config.lockFile), plan.lockText);
  return root;
}

let before: Codec;
let after: Codec;
/** What gen said about each case's line in the after file: buf's rules and protocache's. */
const gate = new Map<number, { buf: string[]; ours: string[]; message: string[] }>();
/** protocache's verdict on each case, from the descriptors of the two schemas. */
const verdicts = new Map<TypeCase, FieldVerdict>();

beforeAll(async () => {
  const [beforeRoot, afterRoot] = await Promise.all([generate("before", beforeProto), generate("after", afterProto)]);
  before = (await import(join(beforeRoot, "generated", "oracle", "probe", "v1", "probe.cache.ts"))) as Codec;
  after = (await import(join(afterRoot, "generated", "oracle", "probe", "v1", "probe.cache.ts"))) as Codec;

  // protocache's own verdicts, field by field (what gen and check call for every field).
  const beforeImage = parseImage(await buildImage(beforeRoot), "proto");
  const afterImage = parseImage(await buildImage(afterRoot), "proto");
  for (const c of cases) {
    const container = c.position === "nested" ? "oracle.probe.v1.Inner" : "oracle.probe.v1.Probe";
    const field = (image: typeof beforeImage) => image.registry.getMessage(container)?.fields.find((f) => f.number === c.number);
    const was = field(beforeImage);
    const now = field(afterImage);
    if (was === undefined || now === undefined) throw new Error(`field ${c.number} missing`);
    verdicts.set(c, fieldVerdict(was, now));
  }

  // The whole gate: the before schema locked, then gen run on the after schema in the same project.
  const gateRoot = await generate("gate", beforeProto);
  writeFileSync(join(gateRoot, "proto", "oracle", "probe", "v1", "probe.proto"), afterProto);
  let errors: readonly unknown[] = [];
  try {
    await planGeneration(gateRoot, { date: "2026-01-02" });
  } catch (error) {
    if (!(error instanceof GenErrors)) throw error;
    errors = error.errors;
  }
  for (const e of errors) {
    if (!(e instanceof FindingError) || e.location?.line === undefined) throw new Error(`unexpected gen error: ${String(e)}`);
    const entry = gate.get(e.location.line) ?? { buf: [], ours: [], message: [] };
    (e.rule === "field-value-changed" ? entry.ours : entry.buf).push(e.rule);
    entry.message.push(e.finding.message);
    gate.set(e.location.line, entry);
  }
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

// ---- values of each type, and what "equal" means across types -------------------------------------

const i32 = fc.integer();
const u32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });
const i64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const edges: Record<string, readonly unknown[]> = {
  int32: [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 150, 300],
  uint32: [0, 1, 2 ** 31, 2 ** 32 - 1],
  int64: [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 5_000_000_000n, 2n ** 32n],
  uint64: [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 5_000_000_000n],
  bool: [false, true],
  enum: [0, 1, 2, 7, -1, -5, 2 ** 31 - 1, -(2 ** 31)],
  float: [0, -0, 1.5, Number.NaN, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45],
  double: [0, -0, 1.5, Number.NaN, Infinity, -Infinity, 5e-324, Number.MAX_VALUE],
  string: ["", "a", "é", "😀", "\u0000", "x".repeat(300)],
  bytes: [new Uint8Array(0), new Uint8Array([0xff]), new Uint8Array([0x61]), new Uint8Array([0x08, 0x01]), new Uint8Array([0xc3, 0xa9])],
  message: [{ a: 0, b: "" }, { a: 1, b: "x" }, { a: -1, b: "" }, { a: 200, b: "é" }],
};
const random: Record<string, fc.Arbitrary<unknown>> = {
  int32: i32,
  uint32: u32,
  int64: i64,
  uint64: u64,
  bool: fc.boolean(),
  enum: i32,
  float: fc.float(),
  double: fc.double(),
  string: fc.string({ unit: "binary" }).filter((s) => Buffer.from(s, "utf8").toString("utf8") === s),
  bytes: fc.uint8Array(),
  message: fc.record({ a: i32, b: fc.string({ unit: "grapheme" }) }),
};

function valueClass(type: ProbeType): string {
  switch (type.proto) {
    case "int32":
    case "sint32":
    case "sfixed32":
      return "int32";
    case "uint32":
    case "fixed32":
      return "uint32";
    case "int64":
    case "sint64":
    case "sfixed64":
      return "int64";
    case "uint64":
    case "fixed64":
      return "uint64";
    case "E":
    case "E2":
      return "enum";
    case "M":
    case "M2":
      return "message";
    default:
      return type.proto;
  }
}

const seed = Number(process.env["PROTOCACHE_FUZZ_SEED"] ?? 20260101);

/** Edge values and random ones the old type can hold. */
function valuesOf(type: ProbeType): unknown[] {
  const cls = valueClass(type);
  return [...(edges[cls] ?? []), ...fc.sample(random[cls] as fc.Arbitrary<unknown>, { numRuns: 40, seed })];
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

/** A value in a form comparable across types: integers (bool and enum numbers included) as decimals, strings as their UTF-8, messages as their encoding. */
function canonical(type: ProbeType, value: unknown, codec: Codec): string {
  if (value === undefined) return "unset";
  switch (type.kind) {
    case "int":
    case "enum":
      return `int ${BigInt(value as number | bigint)}`;
    case "bool":
      return `int ${value === true ? 1 : 0}`;
    case "float":
      return `float ${Object.is(value, -0) ? "-0" : String(value)}`;
    case "string":
      return `bytes ${hex(Buffer.from(value as string, "utf8"))}`;
    case "bytes":
      return `bytes ${hex(value as Uint8Array)}`;
    case "message":
      return `bytes ${hex(encodeWith(type.proto === "M" ? codec.encodeM : codec.encodeM2, value))}`;
  }
}

/** A Probe of the old schema holding `values` in the case's field. */
function probeWith(c: TypeCase, values: readonly unknown[]): Record<string, unknown> {
  const m = before.newProbe();
  m["id"] = "x";
  const name = `f${c.number}`;
  const one = values[0];
  switch (c.position) {
    case "singular":
    case "optional":
      m[name] = one;
      break;
    case "nested":
      m["inner"] = { ...before.newInner(), [name]: one };
      break;
    case "oneof":
      m[`o${c.number}`] = { $case: name, [name]: one };
      break;
    case "repeated":
      m[name] = [...values];
      break;
    case "map value":
      m[name] = new Map(values.map((v, i) => [i, v]));
      break;
    case "map key":
      m[name] = new Map(values.map((v, i) => [v, `v${i}`]));
      break;
  }
  return m;
}

/** The case's field as read back by the new schema, in the shape {@link probeWith} wrote it. */
function readBack(c: TypeCase, m: Record<string, unknown>): unknown {
  const name = `f${c.number}`;
  switch (c.position) {
    case "nested":
      return (m["inner"] as Record<string, unknown> | undefined)?.[name];
    case "oneof": {
      const group = m[`o${c.number}`] as Record<string, unknown> | undefined;
      return group?.["$case"] === name ? group[name] : undefined;
    }
    default:
      return m[name];
  }
}

/** What one write-then-read did: the canonical value written and read, or why it could not be read. */
interface Trial {
  readonly wrote: string;
  readonly read: string;
}

function trial(c: TypeCase, values: readonly unknown[]): Trial {
  const bytes = encodeWith(before.encodeProbe, probeWith(c, values));
  let decoded: Record<string, unknown>;
  try {
    decoded = decodeWith(after.decodeProbe, bytes);
  } catch (error) {
    return { wrote: describeWritten(c, values), read: `unreadable (${(error as Error).message})` };
  }
  return { wrote: describeWritten(c, values), read: describeRead(c, readBack(c, decoded)) };
}

function describeWritten(c: TypeCase, values: readonly unknown[]): string {
  const one = (v: unknown): string => canonical(c.from, v, before);
  switch (c.position) {
    case "repeated":
      return values.map(one).join(",");
    case "map value":
      return values.map((v, i) => `${i}=${one(v)}`).sort().join(",");
    case "map key":
      return values.map((v, i) => `${one(v)}=v${i}`).sort().join(",");
    default:
      return one(values[0]);
  }
}

function describeRead(c: TypeCase, read: unknown): string {
  const one = (v: unknown): string => canonical(c.to, v, after);
  switch (c.position) {
    case "repeated":
      return (read as unknown[]).map(one).join(",");
    case "map value":
      return [...(read as Map<unknown, unknown>)].map(([k, v]) => `${String(k)}=${one(v)}`).sort().join(",");
    case "map key":
      return [...(read as Map<unknown, unknown>)].map(([k, v]) => `${one(k)}=${String(v)}`).sort().join(",");
    default:
      return one(read);
  }
}

/** Runs every value of the old type through one case; the first value that did not read back equal, if any. */
function outcome(c: TypeCase): { kept: boolean; counterexample?: Trial } {
  const all = valuesOf(c.from);
  // Map keys are unique: two equal keys would be one entry before any type change.
  const values = c.position === "map key" ? [...new Map(all.map((v) => [canonical(c.from, v, before), v])).values()] : all;
  const sets: unknown[][] =
    c.position === "repeated" || c.position === "map value" || c.position === "map key" ? [values, ...values.map((v) => [v])] : values.map((v) => [v]);
  if (c.label === "optional → implicit") sets.push([undefined]);
  if (c.position === "optional") sets.push([undefined]);
  for (const set of sets) {
    const r = trial(c, set);
    if (r.wrote !== r.read) return { kept: false, counterexample: r };
  }
  return { kept: true };
}

describe("value-preservation oracle: every type change that shares a wire type, written by the old codec and read by the new", () => {
  const results = new Map<TypeCase, { kept: boolean; counterexample?: Trial }>();
  const resultOf = (c: TypeCase): { kept: boolean; counterexample?: Trial } => {
    let r = results.get(c);
    if (r === undefined) results.set(c, (r = outcome(c)));
    return r;
  };

  it(`covers ${cases.length} cases: each pair in every position a field of those types can take, and the presence and packing changes`, () => {
    expect(cases.length).toBeGreaterThan(500);
    expect(new Set(cases.map((c) => c.position))).toEqual(new Set(["singular", "optional", "repeated", "oneof", "nested", "map value", "map key"]));
  });

  it("protocache's verdict agrees with what happened to the values in every case it decides (the rest are buf's)", () => {
    const disagreements: string[] = [];
    for (const c of cases) {
      const verdict = verdicts.get(c) as FieldVerdict;
      if (verdict.kind === "buf") {
        if (!bufDecides(c)) disagreements.push(`${pairLabel(c)} (${c.position}): protocache leaves it to buf, but buf let it through`);
        continue;
      }
      const actual = resultOf(c);
      const saysKept = verdict.kind === "kept";
      if (saysKept !== actual.kept) {
        disagreements.push(`${pairLabel(c)} (${c.position}): protocache says ${saysKept ? "kept" : "changed"}, values were ${actual.kept ? "kept" : `changed: wrote ${actual.counterexample?.wrote.slice(0, 80)}, read ${actual.counterexample?.read.slice(0, 80)}`}`);
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("the gate (gen: buf's WIRE rules and protocache's) lets through no change that altered a value, and refuses each with protocache's or buf's rule on the field's line", () => {
    const leaks: string[] = [];
    for (const c of cases) {
      const refused = gate.has(c.afterLine);
      if (!refused && !resultOf(c).kept) leaks.push(`${pairLabel(c)} (${c.position}) passed the gate, but ${resultOf(c).counterexample?.wrote} read as ${resultOf(c).counterexample?.read}`);
      // protocache's rule fires exactly where its verdict says so, unless buf already refused the field (reported once, by buf).
      expect.soft(gate.get(c.afterLine)?.ours.length ?? 0, `${pairLabel(c)} (${c.position})`).toBe(verdicts.get(c)?.kind === "changed" && !bufDecides(c) ? 1 : 0);
    }
    expect(leaks).toEqual([]);
  });

  it("every example a refusal prints (\"a cached 5000000000 reads as 705032704\") is what the generated codecs do", () => {
    let checked = 0;
    for (const c of cases) {
      if (c.position !== "singular" || c.label !== undefined) continue;
      const verdict = verdicts.get(c);
      const change = verdict?.kind === "changed" ? verdict.change : undefined;
      const m = change === undefined ? null : /a cached (\S+) reads as (\S+?)(?::|$| \()/.exec(change.example);
      if (m === null || (c.from.kind !== "int" && c.from.kind !== "bool" && c.from.kind !== "enum")) continue;
      const [, wrote, read] = m as unknown as [string, string, string];
      const value = c.from.kind === "bool" ? wrote === "true" : /64/.test(c.from.proto) ? BigInt(wrote) : Number(wrote);
      const decoded = decodeWith(after.decodeProbe, encodeWith(before.encodeProbe, probeWith(c, [value])));
      expect(String(readBack(c, decoded)), `${pairLabel(c)}: ${change?.example}`).toBe(read);
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("docs/schema-workflow.md holds the table this oracle produces (PROTOCACHE_UPDATE_DOCS=1 rewrites it)", () => {
    const table = renderTable((c) => resultOf(c));
    const docs = readFileSync(docsFile, "utf8");
    const begin = "<!-- type-changes:begin (generated by test/ci-gate/value-oracle.test.ts) -->";
    const end = "<!-- type-changes:end -->";
    const at = docs.indexOf(begin);
    const stop = docs.indexOf(end);
    const current = at < 0 || stop < 0 ? undefined : docs.slice(at + begin.length, stop);
    if (process.env["PROTOCACHE_UPDATE_DOCS"] === "1" && at >= 0 && stop >= 0) {
      writeFileSync(docsFile, docs.slice(0, at + begin.length) + table + docs.slice(stop));
      return;
    }
    expect(current, "run PROTOCACHE_UPDATE_DOCS=1 npx vitest run test/ci-gate/value-oracle.test.ts").toBe(table);
  });
});

/** Whether buf's rules refused the case (on its line). */
function bufDecides(c: TypeCase): boolean {
  return (gate.get(c.afterLine)?.buf.length ?? 0) > 0;
}

/** The docs table: one row per pair (all positions agree, or the row says where they differ). */
function renderTable(resultOf: (c: TypeCase) => { kept: boolean; counterexample?: Trial }): string {
  const rows = new Map<string, TypeCase[]>();
  for (const c of cases) {
    // Presence and packing changes: one row per change, over every type (the row says if a type differs).
    const label = c.label === undefined ? `\`${c.from.proto}\` → \`${c.to.proto}\`` : c.label.includes("pack") ? `repeated, ${c.label} (every scalar and enum but string and bytes)` : `${c.label.replace("optional", "`optional`")} (every scalar and enum)`;
    rows.set(label, [...(rows.get(label) ?? []), c]);
  }
  const allowed: string[] = [];
  const refusedByBuf = new Map<string, { kept: string[]; changed: string[] }>();
  for (const [label, group] of rows) {
    const first = group[0] as TypeCase;
    const buf = group.some(bufDecides);
    const kept = group.every((c) => resultOf(c).kept);
    if (buf) {
      const entry = refusedByBuf.get(first.from.proto) ?? { kept: [], changed: [] };
      (kept ? entry.kept : entry.changed).push(first.to.proto);
      refusedByBuf.set(first.from.proto, entry);
      continue;
    }
    const decided = verdicts.get(group.find((c) => verdicts.get(c)?.kind === "changed") ?? first);
    const change = decided?.kind === "changed" ? decided.change : undefined;
    const refused = group.some((c) => gate.has(c.afterLine));
    const generic = first.label === undefined ? undefined : change?.example.replace(/^a cached (0|unset value) reads as (unset \(undefined\)|0)/, (_m, a: string, b: string) => `a cached ${a === "0" ? "zero value (0, false, \"\", empty bytes)" : a} reads as ${b === "0" ? "the zero value" : b}`);
    const what = change === undefined ? "every value reads back equal" : (generic ?? change.example).replace(/ \(two cached keys.*$/, "");
    const mixed = new Set(group.map((c) => resultOf(c).kept)).size > 1 || new Set(group.map((c) => gate.has(c.afterLine))).size > 1;
    if (mixed) throw new Error(`${label}: the types of this row do not agree; give them rows of their own`);
    allowed.push(`| ${label} | ${refused ? "**refused** (`field-value-changed`)" : "passes"} | ${kept ? "kept" : "changed"} | ${what} |`);
  }
  const buf = [...refusedByBuf].map(([from, { kept, changed }]) => {
    const list = (xs: string[]) => xs.map((x) => `\`${x}\``).join(", ");
    return `| \`${from}\` | ${list(changed)}${kept.length > 0 ? `; values would survive (buf is stricter): ${list(kept)}` : ""} |`;
  });
  return [
    "",
    `${cases.length} cases: each pair below in every position (singular, \`optional\`, repeated, oneof member, field of a nested message, map value, map key where the types allow), every value of the edge set and ${40} random ones per type.`,
    "",
    "Changes buf's `WIRE` rules let through, and what protocache's rule decides:",
    "",
    "| change | gate | cached values | what a reader of the new schema gets |",
    "|---|---|---|---|",
    ...allowed,
    "",
    "Changes buf's `WIRE` rules refuse (`FIELD_WIRE_COMPATIBLE_TYPE`): the gate refuses them whatever protocache's rule says.",
    "",
    "| from | refused to |",
    "|---|---|",
    ...buf,
    "",
  ].join("\n");
}
