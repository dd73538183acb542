import { ScalarType } from "@bufbuild/protobuf";
import type { EntityModel } from "../entities.js";
import { formatLocation, type SourceLocation } from "../errors.js";
import type { ProtoImage } from "../image.js";
import type { LineageOf } from "../lock.js";
import type { Finding } from "./finding.js";

/** An entity as it was in the base, reduced to what the rules compare. */
export interface BaseEntity {
  readonly name: string;
  readonly template: string;
  /** What actually forms the keys: literals, and field numbers with their types. */
  readonly signature: string;
  readonly major: number;
  readonly location: SourceLocation;
}

/** The template text of an entity's key, as written in its option. */
export function templateOf(entity: EntityModel): string {
  return [entity.key.entity, ...entity.key.segments.map((s) => (s.kind === "field" ? `{${s.name}}` : s.text))].join(":");
}

/**
 * The key as the bytes it produces depend on it: field segments by number
 * and type (a renamed key field keeps its keys; another field under the old
 * name, or int32 → uint32 / bool → int32, does not).
 */
export function keySignature(entity: EntityModel): string {
  let i = 0;
  return [entity.key.entity, ...entity.key.segments.map((s) => {
    if (s.kind === "literal") return s.text;
    const field = entity.keyFields[i++];
    if (field === undefined) return "{?}";
    const type = field.fieldKind === "enum" ? `enum ${field.enum.typeName}` : field.fieldKind === "scalar" ? ScalarType[field.scalar].toLowerCase() : field.fieldKind;
    return `{#${field.number} ${type}}`;
  })].join(":");
}

/** Base entities from the base image. */
export function baseEntities(entities: readonly EntityModel[], image: ProtoImage): BaseEntity[] {
  return entities.map((e) => ({ name: e.message.typeName, template: templateOf(e), signature: keySignature(e), major: e.major, location: image.locate(e.message) }));
}

/** Where a message's revisions are locked, for the fix of a rename made without its marker. */
export interface LockStatus {
  /** The lock file and gen command, as the fix names them. */
  readonly lockFile: string;
  readonly genCommand: string;
  /** True when the base's lock has revisions of the message (it was released under that name). */
  inBase(message: string): boolean;
  /** True when the working tree's lock has revisions of the message. */
  inCurrent(message: string): boolean;
}

/**
 * protocache's own rules across the change, which buf does not know: an
 * entity removed or renamed without a marker, and a key template changed
 * inside a major.
 */
export function entityFindings(
  base: readonly BaseEntity[],
  current: readonly EntityModel[],
  image: ProtoImage,
  retired: ReadonlySet<string>,
  lineage: LineageOf,
  baseLabel: string,
  locks: LockStatus = { lockFile: "the lock", genCommand: "gen", inBase: () => false, inCurrent: () => false },
): Finding[] {
  const findings: Finding[] = [];
  const byName = new Map(current.map((e) => [e.message.typeName, e]));
  const baseNames = new Set(base.map((b) => b.name));
  for (const b of base) {
    const successor = byName.get(b.name) ?? current.find((e) => e.message.typeName !== b.name && lineage(e.message.typeName) === lineage(b.name));
    if (successor === undefined) {
      // Retired on purpose, or still declared but invalid (gen's own error says why).
      if (retired.has(b.name) || image.registry.getMessage(b.name) !== undefined) continue;
      const lookalike = current.find((e) => !baseNames.has(e.message.typeName) && templateOf(e) === b.template && e.major === b.major);
      findings.push({
        rule: "entity-removed",
        location: lookalike === undefined ? { file: b.location.file } : image.locate(lookalike.message),
        message:
          lookalike === undefined
            ? `entity ${b.name} (keys "${b.template}", declared at ${formatLocation(b.location)} in ${baseLabel}) was removed without a retired marker`
            : `entity ${b.name} looks renamed to ${lookalike.message.typeName} (same key template "${b.template}") without a renamed_from marker`,
        breaks:
          lookalike === undefined
            ? `its entries (${b.template.split(":")[0]}:v${b.major}:*) would be orphaned: nothing reads, migrates or cleans them up`
            : `entries written as ${b.name} would read as wrong_type misses under the new name`,
        fix: lookalike === undefined ? `if the removal is intended, run \`protocache retire ${b.name}\`; otherwise restore the message` : renameFix(b.name, lookalike.message.typeName, locks),
      });
      continue;
    }
    const now = templateOf(successor);
    if (keySignature(successor) !== b.signature && successor.major === b.major) {
      const what = now === b.template ? `still reads "${now}" but its key fields changed number or type (${b.signature} → ${keySignature(successor)})` : `changed from "${b.template}" to "${now}"`;
      findings.push({
        rule: "key-template-changed",
        location: image.locate(successor.message),
        message: `key template of ${successor.message.typeName} ${what} inside major ${b.major} (was ${formatLocation(b.location)} in ${baseLabel})`,
        breaks: "during a deploy old code and new code would read and write different keys for the same entity: a split cache where each side misses the other's writes",
        fix: `keep "${b.template}", or change the key in a new major (v${b.major + 1})`,
      });
    }
  }
  return findings;
}

/**
 * The fix of a rename made without `renamed_from`: the marker, recorded on
 * the new name's first lock line. When this branch already locked the new
 * name without it, that line must go first (it never left the branch); when
 * the base already has the new name, both were released apart and the old
 * one can only be retired.
 */
function renameFix(from: string, to: string, locks: LockStatus): string {
  if (locks.inBase(to)) return `${to} was already released without the marker, so the rename cannot be recorded any more: run \`protocache retire ${from}\` (its entries are orphaned)`;
  const marker = `add \`renamed_from: "${from}"\` to the entity option of ${to}`;
  if (!locks.inCurrent(to)) return marker;
  return `${marker}, then restore ${locks.lockFile} from the base branch (this branch locked ${to} without the marker; those lines never left it) and run ${locks.genCommand}`;
}
