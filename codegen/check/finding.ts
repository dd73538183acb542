import { formatGrouped, formatLocation, GenError, type SourceLocation } from "../errors.js";

/** One problem `protocache check` reports: where, which rule, what it breaks in the cache, and how to fix it. */
export interface Finding {
  /** buf's rule ID (`FIELD_WIRE_COMPATIBLE_TYPE`) or protocache's (`key-template-changed`). */
  readonly rule: string;
  readonly location: SourceLocation | undefined;
  /** What changed or is wrong. */
  readonly message: string;
  /** What it would break in the cache. */
  readonly breaks: string;
  /** One line telling how to fix it. */
  readonly fix: string;
}

/** Renders a finding as three lines: `file:line: [rule] message`, `breaks: …`, `fix: …`. */
export function formatFinding(f: Finding): string {
  const where = f.location === undefined ? "" : `${formatLocation(f.location)}: `;
  return `${where}[${f.rule}] ${f.message}\n    breaks: ${f.breaks}\n    fix: ${f.fix}`;
}

interface Explanation {
  readonly breaks: string;
  readonly fix: string;
}

const genRules: Record<string, Explanation> = {
  compile: { breaks: "nothing can be generated or checked until the schemas compile", fix: "fix the syntax error at this line" },
  lint: { breaks: "gen refuses to run; buf's STANDARD rules also keep the version suffix that names each entity's major", fix: "change the declaration as the message says (see `buf lint`)" },
  "key-template": { breaks: "no accessor can be generated: every key must be built from always-present scalar fields", fix: "fix the template as the message says" },
  "key-collision": { breaks: "both entities would read and write the same keys: each would see the other's entries as wrong_type misses", fix: "give one entity a different name in its key template" },
  "field-default": { breaks: "readers of older entries would fill this field with a value of the wrong type", fix: "use the default_* variant that matches the field type" },
  "entity-syntax": { breaks: "protocache's codecs and schema IDs assume proto3 semantics", fix: "declare the entity in a proto3 file" },
  "entity-closure": { breaks: "the generated codec could not read or write these values faithfully", fix: "use proto3 messages (or Timestamp, Duration, Empty) in the entity" },
  "entity-ttl": { breaks: "no accessor of the entity could be created: the runtime refuses a TTL over 10 years", fix: "set ttl_seconds to at most 315576000 (10 years), or 0 for no expiry" },
  "entity-version-suffix": { breaks: "an entity without a major has no key namespace in which a breaking change could be isolated", fix: "move the entity to a versioned package, e.g. `acme.user.v1`" },
  "migrates-from": { breaks: "a v2 accessor could not read through to the v1 entries it claims to migrate from", fix: "name the entity of an older major of the same package family, or remove migrates_from" },
  "renamed-from": { breaks: "entries written under the old name would not be carried over to the renamed entity", fix: "name the entity's previous full name, or remove renamed_from" },
  "retired-entity": { breaks: "a retired entity's orphaned entries would be read again with no history of what changed", fix: "use a new message name or a new major" },
  "lock-tampered": { breaks: "schema IDs would no longer match the descriptors readers decode entries with", fix: "restore {lock} from git and run {gen}" },
  "lock-invalid": { breaks: "no revision history: readers could not decode entries of older revisions", fix: "restore {lock} from git and run {gen}" },
  "schema-id-collision": { breaks: "entries of two messages would carry the same schema ID and be decoded as each other", fix: "rename a field or the message to get a new schema ID" },
  "ts-proto": { breaks: "types cannot be generated", fix: "fix the reported problem, or run npm ci" },
};

/**
 * Every refusal as `check` prints it (location, rule, message, `breaks:`,
 * `fix:`), errors sharing a heading grouped under it once: what `gen`
 * prints when it refuses the schemas.
 */
export function formatRefusals(errors: readonly GenError[], project: { readonly lockFile: string; readonly genCommand: string }): string {
  const block = (e: GenError): string => formatFinding(findingOfGenError(e, project));
  return formatGrouped(errors, block, block);
}

/**
 * A problem gen reports in exactly the words `check` would use for it (a
 * breaking change against the last locked revision, a number reused), with
 * its own breaks and fix, and optionally one line of context saying what it
 * was compared with.
 */
export class FindingError extends GenError {
  readonly finding: Finding;
  readonly context: string | undefined;

  constructor(finding: Finding, context?: string) {
    super(finding.rule, finding.message, finding.location);
    this.finding = finding;
    this.context = context;
  }

  override toLine(): string {
    return this.context === undefined ? formatFinding(this.finding) : `${this.context}:\n${formatFinding(this.finding)}`;
  }

  override heading(): string | undefined {
    return this.context;
  }

  override body(): string {
    return formatFinding(this.finding);
  }
}

/** A generator error as a finding, with what it breaks and how to fix it in this project (its lock file and gen command). */
export function findingOfGenError(error: GenError, project: { readonly lockFile: string; readonly genCommand: string }): Finding {
  if (error instanceof FindingError) return error.finding;
  const explained = genRules[error.rule] ?? { breaks: "gen cannot produce the accessors", fix: "fix the reported problem and run {gen}" };
  const fix = explained.fix.replaceAll("{lock}", project.lockFile).replaceAll("{gen}", project.genCommand);
  return { rule: error.rule, location: error.location, message: error.message, breaks: explained.breaks, fix };
}
