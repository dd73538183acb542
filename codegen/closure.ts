import type { DescEnum, DescMessage } from "@bufbuild/protobuf";

/** Every message and enum a message references, transitively, including itself. */
export interface Closure {
  readonly root: DescMessage;
  /** Messages (map entries included), sorted by full name. */
  readonly messages: readonly DescMessage[];
  /** Enums, sorted by full name. */
  readonly enums: readonly DescEnum[];
}

/** Collects the descriptor closure of `root`. */
export function closureOf(root: DescMessage): Closure {
  const messages = new Map<string, DescMessage>();
  const enums = new Map<string, DescEnum>();
  const visit = (message: DescMessage): void => {
    if (messages.has(message.typeName)) return;
    messages.set(message.typeName, message);
    for (const field of message.fields) {
      for (const ref of fieldRefs(field)) {
        if (ref.kind === "message") visit(ref);
        else enums.set(ref.typeName, ref);
      }
    }
  };
  visit(root);
  return {
    root,
    messages: [...messages.values()].sort(byTypeName),
    enums: [...enums.values()].sort(byTypeName),
  };
}

/** The message and enum types one field's values use (map entries count as messages). */
export function fieldRefs(field: DescMessage["fields"][number]): (DescMessage | DescEnum)[] {
  const refs: (DescMessage | DescEnum)[] = [];
  switch (field.fieldKind) {
    case "message":
      refs.push(field.message);
      break;
    case "enum":
      refs.push(field.enum);
      break;
    case "list":
      if (field.listKind === "message") refs.push(field.message);
      else if (field.listKind === "enum") refs.push(field.enum);
      break;
    case "map":
      if (field.mapKind === "message") refs.push(field.message);
      else if (field.mapKind === "enum") refs.push(field.enum);
      break;
    case "scalar":
      break;
  }
  return refs;
}

function byTypeName(a: { typeName: string }, b: { typeName: string }): number {
  return a.typeName < b.typeName ? -1 : a.typeName > b.typeName ? 1 : 0;
}
