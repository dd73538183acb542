/** Where in a `.proto` (or other project file) a problem was found. */
export interface SourceLocation {
  /** Path relative to the project root, e.g. `proto/acme/user/v1/user.proto`. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
}

/** Renders a location as `file:line:column`, omitting what is unknown. */
export function formatLocation(location: SourceLocation): string {
  let text = location.file;
  if (location.line !== undefined) {
    text += `:${location.line}`;
    if (location.column !== undefined) text += `:${location.column}`;
  }
  return text;
}

/** One problem the generator found; printed as a single `file:line: message` line. */
export class GenError extends Error {
  override readonly name = "GenError";
  /** Short rule name, e.g. `key-template` or `lock-tampered`, for tooling and tests. */
  readonly rule: string;
  readonly location: SourceLocation | undefined;

  constructor(rule: string, message: string, location?: SourceLocation, options?: ErrorOptions) {
    super(message, options);
    this.rule = rule;
    this.location = location;
  }

  /** The one-line form printed by the CLI. */
  toLine(): string {
    const where = this.location === undefined ? "" : `${formatLocation(this.location)}: `;
    return `${where}${this.message} [${this.rule}]`;
  }

  /** A line several errors share, printed once above them (e.g. the revision gen refused); undefined for none. */
  heading(): string | undefined {
    return undefined;
  }

  /** What is printed under {@link heading}; the whole {@link toLine} when there is no heading. */
  body(): string {
    return this.toLine();
  }
}

/**
 * Errors as the CLI prints them: one line (or finding block) each, and the
 * errors sharing a heading grouped under it, printed once, where the first
 * of them was.
 */
export function formatGenErrors(errors: readonly GenError[]): string {
  return formatGrouped(errors, (e) => e.body(), (e) => e.toLine());
}

/**
 * Errors grouped by heading, each group printed once where its first error
 * was: `under(e)` for an error under a heading, `alone(e)` for one without.
 */
export function formatGrouped(errors: readonly GenError[], under: (e: GenError) => string, alone: (e: GenError) => string): string {
  const groups = new Map<string | GenError, GenError[]>();
  for (const e of errors) {
    const key = e.heading() ?? e;
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [e]);
    else group.push(e);
  }
  return [...groups].map(([key, group]) => (typeof key === "string" ? `${key}:\n${group.map(under).join("\n")}` : alone(key))).join("\n");
}

/** Several problems found in one pass, so the user can fix them all at once. */
export class GenErrors extends Error {
  override readonly name = "GenErrors";
  readonly errors: readonly GenError[];

  constructor(errors: readonly GenError[]) {
    super(formatGenErrors(errors));
    this.errors = errors;
  }
}
