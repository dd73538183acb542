/** One `:`-separated piece of a key template after the entity name. */
export type KeySegment =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "field"; readonly name: string };

/** A parsed key template such as `session:{tenant_id}:{session_id}`. */
export interface KeyTemplate {
  /** The leading literal: names the entity in every key (`session`). */
  readonly entity: string;
  readonly segments: readonly KeySegment[];
}

const entityName = /^[a-z][a-z0-9_-]*$/;
const literalText = /^[A-Za-z0-9_-]+$/;
const fieldRef = /^\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Parses and checks the syntax of a key template; returns an error message
 * instead when it is invalid. Field existence and types are checked by the caller.
 */
export function parseKeyTemplate(text: string): KeyTemplate | string {
  if (text.trim() === "") return "key template is empty: give one like \"user:{id}\"";
  const [head, ...rest] = text.split(":");
  if (head === undefined || !entityName.test(head)) {
    return `key template "${text}" must start with a lower-case entity name ([a-z][a-z0-9_-]*), e.g. "user:{id}"`;
  }
  if (/^v[0-9]+$/.test(head)) return `key template "${text}": the entity name "${head}" looks like a major segment (v<digits>); keys would be ambiguous`;
  const segments: KeySegment[] = [];
  const seen = new Set<string>();
  for (const part of rest) {
    const field = fieldRef.exec(part)?.[1];
    if (field !== undefined) {
      if (seen.has(field)) return `key template "${text}" names field "${field}" twice`;
      seen.add(field);
      segments.push({ kind: "field", name: field });
    } else if (literalText.test(part)) {
      segments.push({ kind: "literal", text: part });
    } else {
      return `key template "${text}": segment "${part}" must be a literal ([A-Za-z0-9_-]+) or exactly one {field}`;
    }
  }
  if (seen.size === 0) return `key template "${text}" names no field: add at least one, e.g. "${head}:{id}"`;
  return { entity: head, segments };
}
