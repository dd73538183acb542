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
}

/** Several problems found in one pass, so the user can fix them all at once. */
export class GenErrors extends Error {
  override readonly name = "GenErrors";
  readonly errors: readonly GenError[];

  constructor(errors: readonly GenError[]) {
    super(errors.map((e) => e.toLine()).join("\n"));
    this.errors = errors;
  }
}
