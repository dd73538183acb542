import { posix } from "node:path";
import { runBuf } from "../buf.js";
import { packageFamily } from "../entities.js";
import { GenError } from "../errors.js";
import type { ProtoImage } from "../image.js";
import type { Finding } from "./finding.js";

/** One line of `buf breaking --error-format=json`. */
interface BufBreakingLine {
  readonly path?: string;
  readonly start_line?: number;
  readonly start_column?: number;
  readonly type?: string;
  readonly message?: string;
}

/** What a change reports, in the words of a cache: context for the fix text. */
interface Context {
  readonly field: string | undefined;
  /** The field or enum value number the change is about. */
  readonly number: string;
  readonly nextMajor: string;
}

const reinstate = "entries already in Redis were written with the old encoding";
const rules: Record<string, { breaks: string; fix: (c: Context) => string }> = {
  FIELD_WIRE_COMPATIBLE_TYPE: {
    breaks: `${reinstate}: readers would decode this field with the wrong wire type (corrupt misses) or as a different value`,
    fix: (c) => `to change the type of ${c.field === undefined ? "the field" : `\`${c.field}\``}, add a new major: \`${c.nextMajor}\` (or keep the old type)`,
  },
  FIELD_WIRE_COMPATIBLE_CARDINALITY: {
    breaks: `${reinstate}: switching between repeated and singular changes how every cached value of this field decodes`,
    fix: (c) => `add a new field with a new number instead, or make the change in a new major: \`${c.nextMajor}\``,
  },
  FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED: {
    breaks: "the number is free again: a later field reusing it would misread the values old entries still carry under it",
    // Only the number: names never reach the binary cache, and a reserved name could not be used again (see nameOnly).
    fix: (c) => `keep the number out of reach: add \`reserved ${c.number};\` to the message`,
  },
  ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED: {
    breaks: "the number is free again: a later value reusing it would give cached entries a different meaning",
    fix: (c) => `add \`reserved ${c.number};\` to the enum`,
  },
  FIELD_SAME_ONEOF: {
    breaks: `${reinstate}: moving a field into or out of a oneof changes which other fields a cached value clears when read`,
    fix: (c) => `leave the field where it was and add a new one, or make the change in a new major: \`${c.nextMajor}\``,
  },
  FIELD_SAME_DEFAULT: { breaks: `${reinstate}: unset fields would read as a different value`, fix: () => "restore the previous default" },
  FILE_SAME_PACKAGE: {
    breaks: "every message in the file gets new full names and schema IDs: entries written under the old names become wrong_type misses",
    fix: (c) => `move messages between packages only by adding a new major: \`${c.nextMajor}\``,
  },
  MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT: { breaks: `${reinstate}: the message-set wire format changes every byte`, fix: () => "restore the previous message_set_wire_format" },
  RESERVED_ENUM_NO_DELETE: { breaks: "a reserved number is free again: a later value reusing it would give cached entries a different meaning", fix: (c) => `restore the reservation: add \`reserved ${c.number};\` to the enum` },
  RESERVED_MESSAGE_NO_DELETE: { breaks: "a reserved field number is free again: a later field reusing it would misread the values old entries still carry under it", fix: (c) => `restore the reservation: add \`reserved ${c.number};\` to the message` },
  ENUM_SAME_TYPE: { breaks: `${reinstate}: switching between open and closed enums changes how unknown values decode`, fix: () => "keep the enum's syntax" },
};

/** buf's configuration for the gate: exactly the WIRE category, whatever the project's buf.yaml says. */
const wireOnly = JSON.stringify({ version: "v2", breaking: { use: ["WIRE"] } });

/** What `buf breaking` found: refusals, and changes that only matter to JSON clients (warnings, not refusals). */
export interface BreakingResult {
  readonly findings: Finding[];
  /** One line each, `file:line: …`: a reserved name made free again. */
  readonly warnings: string[];
}

/**
 * Runs `buf breaking` (always the WIRE category) of an image against a base
 * image, both files in `dir`, and explains each finding in terms of the
 * cache. The current image is the one gen built: nothing is compiled again.
 * A deleted name reservation is a warning, never a finding: the cache stores
 * binary, where names never appear (see {@link nameWarning}).
 */
export async function breakingFindings(dir: string, currentImage: string, baseImage: string, current: ProtoImage | undefined, protoDir: string): Promise<BreakingResult> {
  const result = await runBuf(["breaking", currentImage, "--against", baseImage, "--error-format=json", "--config", wireOnly], dir);
  if (result.code === 0) return { findings: [], warnings: [] };
  const lines = result.stdout.toString("utf8").split("\n").filter((l) => l.trim() !== "");
  const parsed: BufBreakingLine[] = [];
  for (const line of lines) {
    try {
      parsed.push(JSON.parse(line) as BufBreakingLine);
    } catch {
      // not a finding line
    }
  }
  if (parsed.length === 0) {
    throw new GenError("buf-breaking", `buf breaking failed: ${(result.stderr || result.stdout.toString()).trim().split("\n")[0] ?? ""}`);
  }
  const findings: Finding[] = [];
  const warnings: string[] = [];
  for (const line of parsed) {
    const warning = nameWarning(line, protoDir);
    if (warning === undefined) findings.push(explain(line, current, protoDir));
    else warnings.push(warning);
  }
  return { findings, warnings };
}

/** `file:line` of a buf line, with the proto directory in front like every other location. */
function where(line: BufBreakingLine, protoDir: string): string {
  const path = line.path ?? "";
  const file = path.startsWith(`${protoDir}/`) ? path : posix.join(protoDir, path);
  return line.start_line === undefined ? file : `${file}:${line.start_line}${line.start_column === undefined ? "" : `:${line.start_column}`}`;
}

/**
 * A deleted `reserved "name";` as a warning: entries in the cache are
 * protobuf binary, which carries numbers and never names, so a field or
 * enum value may take the name again (under a new number) without any
 * cached entry reading differently. Only proto3 JSON uses names (the
 * generated toJson/fromJson, and any JSON another service keeps).
 */
function nameWarning(line: BufBreakingLine, protoDir: string): string | undefined {
  if (line.type !== "RESERVED_MESSAGE_NO_DELETE" && line.type !== "RESERVED_ENUM_NO_DELETE") return undefined;
  const name = /reserved name "([^"]+)" on (message|enum) "([^"]+)"/.exec(line.message ?? "");
  if (name === null) return undefined;
  const [, reserved, kind, owner] = name;
  const thing = kind === "message" ? "field" : "enum value";
  return `${where(line, protoDir)}: reserved ${thing} name "${reserved}" on ${kind} "${owner}" was removed: accepted, the cache stores binary, where names never appear; only JSON clients see names, and JSON written with the old ${thing} (toJson output kept or sent elsewhere) would read as a new ${thing} named "${reserved}"`;
}

/** A reserved range of buf's message (`"[5]"`, `"[7,9]"`) as a `reserved` statement's range: `5`, `7 to 9`. */
function reservedRange(message: string): string | undefined {
  const range = /reserved range "\[(\d+)(?:,(\d+))?\]"/.exec(message);
  if (range === null) return undefined;
  return range[2] === undefined || range[2] === range[1] ? range[1] : `${range[1]} to ${range[2]}`;
}

function explain(line: BufBreakingLine, current: ProtoImage | undefined, protoDir: string): Finding {
  const rule = line.type ?? "BREAKING";
  const message = line.message ?? "breaking change";
  const path = line.path ?? "";
  const file = path.startsWith(`${protoDir}/`) ? path : posix.join(protoDir, path);
  const relative = path.startsWith(`${protoDir}/`) ? path.slice(protoDir.length + 1) : path;
  const pkg = current?.files.find((f) => f.proto.name === relative)?.proto.package ?? "";
  const major = Number(/\.v([1-9][0-9]*)$/.exec(pkg)?.[1] ?? "1");
  const context: Context = {
    field: /with name "([^"]+)"/.exec(message)?.[1],
    number: /(?:[Ff]ield|value) "(\d+)"/.exec(message)?.[1] ?? reservedRange(message) ?? "<number>",
    nextMajor: `${packageFamily(pkg) || "your.package"}.v${major + 1}`,
  };
  const known = rules[rule];
  const location = line.start_line === undefined ? { file } : { file, line: line.start_line, ...(line.start_column === undefined ? {} : { column: line.start_column }) };
  return {
    rule,
    location,
    message,
    breaks: known?.breaks ?? `${reinstate}: this change makes them decode differently`,
    fix: known?.fix(context) ?? `revert the change, or make it in a new major: \`${context.nextMajor}\``,
  };
}
