import { createFileRegistry, fromBinary, type DescMessage } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { breakingFindings } from "./check/breaking.js";
import { FindingError } from "./check/finding.js";
import { renameInImage } from "./check/rename-image.js";
import { valueChanges, valueFinding } from "./check/value-preservation.js";
import { closureOf } from "./closure.js";
import { packageFamily, type EntityModel } from "./entities.js";
import { GenError } from "./errors.js";
import type { ProtoImage } from "./image.js";
import { revisionsOf, type LineageOf, type LockRevision, type SchemaLock } from "./lock.js";
import { fieldSignature, formatSchemaId } from "./schema-id.js";

/**
 * Rules over the whole history of an entity in the lock, which buf's
 * comparison of two states cannot see: a field number (or enum value number)
 * that a locked revision dropped and the schema now uses again for another
 * name or type; and, when gen is about to lock a new revision, whether it is
 * wire-compatible with the last locked one, and whether it would change
 * values cached by any locked revision of its major.
 */

/** What one number meant in one message or enum of one revision. */
interface Slot {
  readonly name: string;
  readonly type: string;
}

/** Numbers of every message and enum of an entity's closure, by (current) full name. */
type Shape = Map<string, Map<number, Slot>>;

function shapeOf(root: DescMessage, rename: (name: string) => string): Shape {
  const shape: Shape = new Map();
  const closure = closureOf(root);
  for (const m of closure.messages) {
    if (m.proto.options?.mapEntry === true) continue;
    shape.set(rename(m.typeName), new Map(m.fields.map((f) => [f.number, { name: f.name, type: renameTypes(fieldSignature(f), rename) }])));
  }
  for (const e of closure.enums) shape.set(rename(e.typeName), new Map(e.values.map((v) => [v.number, { name: v.name, type: "" }])));
  return shape;
}

function renameTypes(signature: string, rename: (name: string) => string): string {
  return signature.replace(/(message|enum) ([\w.]+)/g, (_, kind: string, name: string) => `${kind} ${rename(name)}`);
}

/** Maps names of a revision written as `from` to the entity's current name `to` (nested types included). */
export function renamer(from: string, to: string): (name: string) => string {
  if (from === to) return (name) => name;
  return (name) => (name === from || name.startsWith(`${from}.`) ? to + name.slice(from.length) : name);
}

const descriptorCache = new Map<string, DescMessage | undefined>();

function lockedMessage(entry: LockRevision): DescMessage | undefined {
  const key = `${entry.id}:${entry.message}`;
  if (!descriptorCache.has(key)) {
    try {
      descriptorCache.set(key, createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(entry.descriptor, "base64"))).getMessage(entry.message));
    } catch {
      descriptorCache.set(key, undefined); // verifyLock reports unreadable descriptors
    }
  }
  return descriptorCache.get(key);
}

/** Inputs of the history rules. */
export interface HistoryInput {
  readonly lock: SchemaLock;
  readonly lineageOf: LineageOf;
  readonly entities: readonly EntityModel[];
  /** Current schema ID of each entity, by message full name. */
  readonly currentIds: ReadonlyMap<string, number>;
  readonly image: ProtoImage;
}

/**
 * Numbers reused after a gap: a locked revision had number N as one field (or
 * enum value), a later locked revision did not have it, and the schema now
 * has N again under another name or type. Entries of the older revision still
 * carry values under N, which readers would take for the new field.
 */
export function numberReuseErrors(input: HistoryInput): GenError[] {
  const errors: GenError[] = [];
  const revisions = revisionsOf(input.lock);
  for (const entity of input.entities) {
    const name = entity.message.typeName;
    const lineage = input.lineageOf(name);
    const history = revisions
      .filter((r) => input.lineageOf(r.message) === lineage && r.id !== input.currentIds.get(name))
      .map((r) => ({ rev: r, message: lockedMessage(r) }))
      .filter((h): h is { rev: LockRevision; message: DescMessage } => h.message !== undefined)
      .map((h) => ({ rev: h.rev, shape: shapeOf(h.message, renamer(h.rev.message, name)) }));
    if (history.length === 0) continue;
    const current = shapeOf(entity.message, (n) => n);
    const closure = closureOf(entity.message);
    for (const [container, numbers] of current) {
      for (const [number, slot] of numbers) {
        let last: { slot: Slot; rev: LockRevision } | undefined;
        let gap: LockRevision | undefined;
        for (const { rev, shape } of history) {
          const then = shape.get(container);
          if (then === undefined) continue;
          const had = then.get(number);
          if (had !== undefined) {
            last = { slot: had, rev };
            gap = undefined;
          } else if (last !== undefined) gap ??= rev;
        }
        if (last === undefined || gap === undefined || (last.slot.name === slot.name && last.slot.type === slot.type)) continue;
        const desc = closure.messages.find((m) => m.typeName === container);
        const field = desc?.fields.find((f) => f.number === number);
        const location = field !== undefined ? input.image.locate(field) : input.image.locate(closure.enums.find((e) => e.typeName === container) ?? entity.message);
        const what = field !== undefined ? "field" : "enum value";
        const show = (s: Slot): string => (s.type === "" ? `"${s.name}"` : `"${s.name}" (${s.type})`);
        const enumDesc = closure.enums.find((e) => e.typeName === container);
        const reserved = (desc?.proto.reservedRange.map((r) => r.end - 1) ?? enumDesc?.proto.reservedRange.map((r) => r.end) ?? []);
        const used = [...history.flatMap(({ shape }) => [...(shape.get(container)?.keys() ?? [])]), ...numbers.keys(), ...reserved];
        let free = Math.max(0, ...used) + 1;
        if (field !== undefined && free >= 19000 && free <= 19999) free = 20000; // protobuf's own range
        const kind = field !== undefined ? "message" : "enum";
        errors.push(
          new FindingError({
            rule: "number-reused",
            location,
            message: `${what} number ${number} of ${container} is ${show(slot)} but was ${show(last.slot)} in r${last.rev.revision} (${formatSchemaId(last.rev.id)}) and removed in r${gap.revision} (${formatSchemaId(gap.id)})`,
            breaks: `entries written by r${last.rev.revision} still carry values of ${show(last.slot)} under number ${number}: readers would take them for "${slot.name}" (a wrong value, or a corrupt miss)`,
            fix: `give "${slot.name}" number ${free}, which no revision used (the lock remembers every number), and add \`reserved ${number};\` to the ${kind}`,
          }),
        );
      }
    }
  }
  return errors;
}

/**
 * For each revision gen is about to lock: `buf breaking` (WIRE) of the
 * current image against the entity's last locked revision (its stored
 * descriptors, renamed to the current name if the entity was renamed). The
 * findings are the ones `check` prints, word for word; the warnings (a
 * reserved name made free again) are accepted and only reported.
 */
export async function compatibilityWithLocked(
  added: readonly LockRevision[],
  lock: SchemaLock,
  lineageOf: LineageOf,
  image: ProtoImage,
  protoDir: string,
): Promise<{ errors: GenError[]; warnings: string[] }> {
  const revisions = revisionsOf(lock);
  const pairs = added
    .map((rev) => {
      const before = revisions.slice(0, revisions.indexOf(rev)).filter((r) => lineageOf(r.message) === lineageOf(rev.message));
      return { rev, previous: before.at(-1) };
    })
    .filter((p): p is { rev: LockRevision; previous: LockRevision } => p.previous !== undefined);
  if (pairs.length === 0) return { errors: [], warnings: [] };
  const dir = mkdtempSync(join(tmpdir(), "protocache-history-"));
  try {
    const current = join(dir, "current.binpb");
    writeFileSync(current, image.bytes);
    const results = await Promise.all(
      pairs.map(async ({ rev, previous }, i) => {
        const base = join(dir, `previous-${i}.binpb`);
        const bytes = Buffer.from(previous.descriptor, "base64");
        writeFileSync(base, previous.message === rev.message ? bytes : renameInImage(bytes, new Map([[previous.message, rev.message]])));
        const { findings, warnings } = await breakingFindings(dir, current, base, image, protoDir);
        const context = `${rev.message}: the new revision is not wire-compatible with r${previous.revision} (${formatSchemaId(previous.id)}), the last one in the lock; gen did not lock it`;
        return { errors: findings.map((f) => new FindingError(f, context)), warnings };
      }),
    );
    return { errors: results.flatMap((r) => r.errors), warnings: [...new Set(results.flatMap((r) => r.warnings))] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * For each revision gen is about to lock: protocache's value-preservation
 * rule (`field-value-changed`) against every earlier locked revision of the
 * entity (its stored descriptors): a field whose cached values would read
 * back different. Each field is reported once, against the latest revision
 * it breaks; the findings are the ones `check` prints, word for word.
 */
export function valueChangesAgainstLocked(added: readonly LockRevision[], lock: SchemaLock, lineageOf: LineageOf, entities: readonly EntityModel[], image: ProtoImage): GenError[] {
  const revisions = revisionsOf(lock);
  const errors: GenError[] = [];
  for (const rev of added) {
    const entity = entities.find((e) => e.message.typeName === rev.message);
    if (entity === undefined) continue;
    const pkg = entity.message.file.proto.package;
    const context = { locate: (f: Parameters<ProtoImage["locate"]>[0]) => image.locate(f), nextMajor: `${packageFamily(pkg)}.v${entity.major + 1}` };
    const seen = new Set<string>();
    const earlier = revisions.slice(0, revisions.indexOf(rev)).filter((r) => lineageOf(r.message) === lineageOf(rev.message));
    for (const previous of earlier.reverse()) {
      const message = lockedMessage(previous);
      if (message === undefined) continue;
      for (const change of valueChanges(message, entity.message, renamer(previous.message, rev.message))) {
        const finding = valueFinding(change, context);
        const key = `${finding.location === undefined ? "" : JSON.stringify(finding.location)}|${finding.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        errors.push(new FindingError(finding, `${rev.message}: the new revision would change values cached by r${previous.revision} (${formatSchemaId(previous.id)}); gen did not lock it`));
      }
    }
  }
  return errors;
}
