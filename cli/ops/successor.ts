import type { LockedEntity, ProjectSchemas } from "../../codegen/index.js";

/** A major in proto/ that `migrates_from` an older one, and that older one. */
export interface Successor {
  readonly locked: LockedEntity;
  readonly from: {
    /** Full message name of the previous major, e.g. `acme.user.v1.User`. */
    readonly message: string;
    readonly major: number;
    /** Its entity name (key template). */
    readonly entity: string;
  };
}

/**
 * The entity in proto/ whose `migrates_from` names major `major` of
 * `entity` (by either major's entity name): where that major's entries
 * move. Undefined when no major migrates from it.
 */
export function successorOf(schemas: ProjectSchemas, entity: string, major: number): Successor | undefined {
  for (const locked of schemas.entities) {
    const from = locked.model.migratesFrom;
    const previous = from === undefined ? undefined : schemas.entities.find((e) => e.current.message === from);
    if (previous === undefined || previous.model.major !== major) continue;
    if (locked.entity !== entity && previous.entity !== entity) continue;
    return { locked, from: { message: previous.current.message, major, entity: previous.entity } };
  }
  return undefined;
}
