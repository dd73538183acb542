import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { GenError } from "./errors.js";
import { canonicalClosure, formatSchemaId, schemaIdOfText } from "./schema-id.js";

/** One revision of an entity message, recorded forever in the schema lock. */
export interface LockRevision {
  readonly kind: "revision";
  /** Schema ID (uint32) written into every envelope of this revision. */
  readonly id: number;
  /** Full name of the message, e.g. `acme.user.v1.User`. */
  readonly message: string;
  readonly major: number;
  /** 1-based ordinal among the revisions of this message and the names it was renamed from. */
  readonly revision: number;
  /** UTC date (YYYY-MM-DD) this revision was first generated. */
  readonly firstGenerated: string;
  /** Base64 of a self-contained FileDescriptorSet of the message's closure. */
  readonly descriptor: string;
  /** On the first revision of a renamed entity: the name it had before (`renamed_from`). */
  readonly renamedFrom?: string;
}

/** An entity removed on purpose (`protocache retire`): its entries may be orphaned, knowingly. */
export interface LockRetirement {
  readonly kind: "retired";
  readonly message: string;
  /** UTC date (YYYY-MM-DD) of the retirement. */
  readonly date: string;
}

/** One line of the lock. */
export type LockEntry = LockRevision | LockRetirement;

/** The parsed schema lock: an append-only list of revisions and retirements. */
export interface SchemaLock {
  readonly entries: readonly LockEntry[];
}

/** The revision entries of a lock, in order. */
export function revisionsOf(lock: SchemaLock): LockRevision[] {
  return lock.entries.filter((e): e is LockRevision => e.kind === "revision");
}

/** Messages retired in the lock. */
export function retiredMessages(lock: SchemaLock): Set<string> {
  return new Set(lock.entries.filter((e) => e.kind === "retired").map((e) => e.message));
}

const header = [
  "{",
  '  "protocacheLock": 1,',
  '  "about": "Append-only registry of every cached schema revision. Written by `protocache gen`; never edit by hand.",',
  '  "entries": [',
];

/** One entry as the single line it occupies in the lock file. */
export function entryLine(e: LockEntry): string {
  if (e.kind === "retired") return JSON.stringify({ kind: e.kind, message: e.message, date: e.date });
  return JSON.stringify({
    kind: e.kind,
    id: formatSchemaId(e.id),
    message: e.message,
    major: e.major,
    revision: e.revision,
    firstGenerated: e.firstGenerated,
    descriptor: e.descriptor,
    ...(e.renamedFrom === undefined ? {} : { renamedFrom: e.renamedFrom }),
  });
}

/** Serializes the lock with one entry per line, so every change is an appended line in a diff. */
export function serializeLock(lock: SchemaLock): string {
  const lines = lock.entries.map((e, i) => `    ${entryLine(e)}${i < lock.entries.length - 1 ? "," : ""}`);
  return [...header, ...lines, "  ]", "}", ""].join("\n");
}

/** Line (1-based) of entry `index` in a lock written by {@link serializeLock}. */
export function lockEntryLine(index: number): number {
  return header.length + index + 1;
}

/** Parses lock text; structural problems are errors pointing at the entry's line. */
export function parseLock(text: string, file: string): SchemaLock {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new GenError("lock-invalid", `schema lock is not valid JSON (${(cause as Error).message}); restore it from git`, { file }, { cause });
  }
  const raw = (doc as { entries?: unknown }).entries;
  if ((doc as { protocacheLock?: unknown }).protocacheLock !== 1 || !Array.isArray(raw)) {
    throw new GenError("lock-invalid", 'schema lock must be {"protocacheLock": 1, "entries": [...]}; restore it from git', { file });
  }
  const entries = raw.map((entry: unknown, index) => parseEntry(entry, { file, line: lockEntryLine(index) }));
  return { entries };
}

function parseEntry(raw: unknown, at: { file: string; line: number }): LockEntry {
  const e = raw as Record<string, unknown>;
  const bad = (what: string): never => {
    throw new GenError("lock-invalid", `schema lock entry ${what}; restore the lock from git`, at);
  };
  const text = (key: string): string => (typeof e[key] === "string" && e[key] !== "" ? (e[key] as string) : bad(`has no ${key}`));
  const date = (key: string): string => {
    const value = text(key);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) bad(`has a ${key} that is not YYYY-MM-DD`);
    return value;
  };
  if (e["kind"] === "retired") return { kind: "retired", message: text("message"), date: date("date") };
  if (e["kind"] !== "revision") bad(`has unknown kind ${JSON.stringify(e["kind"])}`);
  const id = typeof e["id"] === "string" && /^0x[0-9a-f]{8}$/.test(e["id"]) ? Number.parseInt(e["id"], 16) : bad("has no valid id");
  const positive = (key: string): number =>
    Number.isSafeInteger(e[key]) && (e[key] as number) > 0 ? (e[key] as number) : bad(`has no valid ${key}`);
  const revision: LockRevision = {
    kind: "revision",
    id,
    message: text("message"),
    major: positive("major"),
    revision: positive("revision"),
    firstGenerated: date("firstGenerated"),
    descriptor: text("descriptor"),
  };
  return e["renamedFrom"] === undefined ? revision : { ...revision, renamedFrom: text("renamedFrom") };
}

/**
 * Checks that the lock is internally consistent: every ID is the hash of the
 * descriptor stored beside it, IDs are unique, and retirements name a
 * message with revisions before them. A failure means the lock was edited
 * by hand. (Revision ordinals are derived from order; see {@link normalizeRevisions}.)
 */
export function verifyLock(lock: SchemaLock, file: string, genCommand = "protocache gen"): GenError[] {
  const errors: GenError[] = [];
  const ids = new Map<number, number>();
  const seen = new Set<string>();
  lock.entries.forEach((entry, index) => {
    const at = { file, line: lockEntryLine(index) };
    if (entry.kind === "retired") {
      if (!seen.has(entry.message)) {
        errors.push(new GenError("lock-tampered", `schema lock retires ${entry.message}, which has no revision before it; restore the lock from git`, at));
      }
      return;
    }
    seen.add(entry.message);
    const tampered = (what: string): void => {
      errors.push(new GenError("lock-tampered", `schema lock entry ${formatSchemaId(entry.id)} (${entry.message} r${entry.revision}) ${what}; restore the lock from git and run ${genCommand}`, at));
    };
    const previous = ids.get(entry.id);
    if (previous !== undefined) tampered(`reuses the ID of entry ${previous + 1}`);
    ids.set(entry.id, index);
    const actual = recomputeId(entry);
    if (actual === undefined) tampered("has a descriptor that does not decode or lacks its message");
    else if (actual !== entry.id) tampered(`has a descriptor whose schema ID is ${formatSchemaId(actual)}`);
  });
  return errors;
}

/** The schema ID a lock entry's stored descriptor hashes to, or undefined when unreadable. */
export function recomputeId(entry: LockRevision): number | undefined {
  try {
    const set = fromBinary(FileDescriptorSetSchema, Buffer.from(entry.descriptor, "base64"));
    const message = createFileRegistry(set).getMessage(entry.message);
    return message === undefined ? undefined : schemaIdOfText(canonicalClosure(message));
  } catch {
    return undefined;
  }
}

/** Maps a message name to the name its revisions are counted under (the first name of a renamed entity). */
export type LineageOf = (message: string) => string;

/**
 * Lineages recorded in the lock (`renamedFrom` on the first revision of a
 * new name), plus renames the sources declare that are not locked yet. A
 * chain of renames (A → B → C) stays one lineage even after B's option is gone.
 */
export function lockLineage(lock: SchemaLock, declared: ReadonlyMap<string, string> = new Map()): LineageOf {
  const previous = new Map<string, string>();
  const locked = new Set<string>();
  for (const e of revisionsOf(lock)) {
    if (e.renamedFrom !== undefined && !locked.has(e.message)) previous.set(e.message, e.renamedFrom);
    locked.add(e.message);
  }
  for (const [message, from] of declared) if (!locked.has(message)) previous.set(message, from);
  return (message) => {
    let name = message;
    for (let hops = 0; hops < 64; hops++) {
      const older = previous.get(name);
      if (older === undefined) return name;
      name = older;
    }
    return name;
  };
}

/**
 * Makes revision ordinals count 1, 2, 3... in file order, per lineage (a
 * message and the names it was renamed from). They only drift when two
 * branches each appended a revision of the same message and git merged both
 * lines, or when a rename joins two histories; entries in Redis carry schema
 * IDs, not ordinals, so renumbering is safe. Returns what changed.
 */
export function normalizeRevisions(lock: SchemaLock, lineageOf: LineageOf = (m) => m): { lock: SchemaLock; renumbered: { from: LockRevision; to: number }[] } {
  const counts = new Map<string, number>();
  const renumbered: { from: LockRevision; to: number }[] = [];
  const entries = lock.entries.map((entry) => {
    if (entry.kind !== "revision") return entry;
    const lineage = lineageOf(entry.message);
    const ordinal = (counts.get(lineage) ?? 0) + 1;
    counts.set(lineage, ordinal);
    if (entry.revision === ordinal) return entry;
    renumbered.push({ from: entry, to: ordinal });
    return { ...entry, revision: ordinal };
  });
  return { lock: { entries }, renumbered };
}

/** A revision the current `.proto` sources define, ready to be locked. */
export interface CurrentRevision {
  readonly id: number;
  readonly message: string;
  readonly major: number;
  readonly descriptor: string;
  /** The entity's `renamed_from`, recorded on the first revision of the new name. */
  readonly renamedFrom?: string | undefined;
}

/**
 * Appends revisions not yet in the lock (never rewriting an entry). An ID the
 * lock already holds for a different message is a collision.
 */
export function appendRevisions(
  lock: SchemaLock,
  current: readonly CurrentRevision[],
  date: string,
  lineageOf: LineageOf = (m) => m,
): { lock: SchemaLock; added: LockRevision[]; errors: GenError[] } {
  const byId = new Map(revisionsOf(lock).map((e) => [e.id, e]));
  const entries = [...lock.entries];
  const added: LockRevision[] = [];
  const errors: GenError[] = [];
  for (const rev of current) {
    const existing = byId.get(rev.id);
    if (existing !== undefined) {
      if (existing.message !== rev.message) {
        errors.push(
          new GenError(
            "schema-id-collision",
            `schema ID ${formatSchemaId(rev.id)} of ${rev.message} collides with ${existing.message} r${existing.revision} in the lock: rename a field or message of ${rev.message} to get a new ID`,
          ),
        );
      }
      continue;
    }
    const lineage = lineageOf(rev.message);
    const revision = entries.filter((e) => e.kind === "revision" && lineageOf(e.message) === lineage).length + 1;
    const firstOfName = !entries.some((e) => e.kind === "revision" && e.message === rev.message);
    const { renamedFrom, ...fields } = rev;
    const entry: LockRevision = {
      kind: "revision",
      ...fields,
      revision,
      firstGenerated: date,
      ...(firstOfName && renamedFrom !== undefined ? { renamedFrom } : {}),
    };
    entries.push(entry);
    byId.set(entry.id, entry);
    added.push(entry);
  }
  return { lock: { entries }, added, errors };
}

/** Appends a retirement of `message`. */
export function retire(lock: SchemaLock, message: string, date: string): SchemaLock {
  return { entries: [...lock.entries, { kind: "retired", message, date }] };
}
