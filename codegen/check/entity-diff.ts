import { lineageOf, type EntityModel } from "../entities.js";
import { formatLocation, type SourceLocation } from "../errors.js";
import type { ProtoImage } from "../image.js";
import type { Finding } from "./finding.js";

/** An entity as it was in the base, reduced to what the rules compare. */
export interface BaseEntity {
  readonly name: string;
  readonly template: string;
  readonly major: number;
  readonly location: SourceLocation;
}

/** The template text of an entity's key, as written in its option. */
export function templateOf(entity: EntityModel): string {
  return [entity.key.entity, ...entity.key.segments.map((s) => (s.kind === "field" ? `{${s.name}}` : s.text))].join(":");
}

/** Base entities from the base image. */
export function baseEntities(entities: readonly EntityModel[], image: ProtoImage, label: string): BaseEntity[] {
  return entities.map((e) => {
    const at = image.locate(e.message);
    return { name: e.message.typeName, template: templateOf(e), major: e.major, location: { ...at, file: `${at.file} (${label})` } };
  });
}

/**
 * protocache's own rules across the change, which buf does not know: an
 * entity removed or renamed without a marker, and a key template changed
 * inside a major.
 */
export function entityFindings(base: readonly BaseEntity[], current: readonly EntityModel[], image: ProtoImage, retired: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  const lineage = lineageOf(current);
  const byName = new Map(current.map((e) => [e.message.typeName, e]));
  const baseNames = new Set(base.map((b) => b.name));
  for (const b of base) {
    const successor = byName.get(b.name) ?? current.find((e) => e.message.typeName !== b.name && lineage(e.message.typeName) === lineage(b.name));
    if (successor === undefined) {
      if (retired.has(b.name)) continue;
      const lookalike = current.find((e) => !baseNames.has(e.message.typeName) && templateOf(e) === b.template && e.major === b.major);
      findings.push({
        rule: "entity-removed",
        location: lookalike === undefined ? b.location : image.locate(lookalike.message),
        message:
          lookalike === undefined
            ? `entity ${b.name} (keys "${b.template}") was removed without a retired marker`
            : `entity ${b.name} looks renamed to ${lookalike.message.typeName} (same key template "${b.template}") without a renamed_from marker`,
        breaks:
          lookalike === undefined
            ? `its entries (${b.template.split(":")[0]}:v${b.major}:*) would be orphaned: nothing reads, migrates or cleans them up`
            : `entries written as ${b.name} would read as wrong_type misses under the new name`,
        fix:
          lookalike === undefined
            ? `if the removal is intended, run \`protocache retire ${b.name}\`; otherwise restore the message`
            : `add \`renamed_from: "${b.name}"\` to the entity option of ${lookalike.message.typeName}`,
      });
      continue;
    }
    const now = templateOf(successor);
    if (now !== b.template && successor.major === b.major) {
      findings.push({
        rule: "key-template-changed",
        location: image.locate(successor.message),
        message: `key template of ${successor.message.typeName} changed from "${b.template}" to "${now}" inside major ${b.major} (was ${formatLocation(b.location)})`,
        breaks: "during a deploy old code and new code would read and write different keys for the same entity: a split cache where each side misses the other's writes",
        fix: `keep "${b.template}", or change the key in a new major (v${b.major + 1})`,
      });
    }
  }
  return findings;
}
