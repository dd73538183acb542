import { getOption, hasOption, ScalarType, type DescField, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { closureOf, fieldRefs } from "./closure.js";
import { MAX_TTL_SECONDS } from "../src/tools/index.js";
import { FindingError } from "./check/finding.js";
import { GenError } from "./errors.js";
import type { ProtoImage } from "./image.js";
import { parseKeyTemplate, type KeyTemplate } from "./key-template.js";

/** A message marked `(protocache.v1.entity)`, validated. */
export interface EntityModel {
  readonly message: DescMessage;
  /** The major version, from the package's `vN` suffix. */
  readonly major: number;
  readonly key: KeyTemplate;
  /** Fields the key template names, in template order. */
  readonly keyFields: readonly DescField[];
  /** Default TTL in seconds; 0 for no expiry. */
  readonly ttlSeconds: number;
  readonly migratesFrom: string | undefined;
  readonly renamedFrom: string | undefined;
  /** `example: true`: generated but never locked, refused by `check` (see docs/schema-workflow.md). */
  readonly example: boolean;
}

/** A declared default for a field, already checked against the field's type. */
export type DeclaredDefault =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number }
  | { readonly kind: "bigint"; readonly value: bigint }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "bytes"; readonly value: Uint8Array };

/** What the generator knows about the project's entities and field defaults. */
export interface EntitySet {
  readonly entities: readonly EntityModel[];
  readonly defaults: ReadonlyMap<DescField, DeclaredDefault>;
  /** Problems found; entities with problems are left out of `entities`. */
  readonly errors: readonly GenError[];
}

/** Renames the sources declare: entity full name → its `renamed_from`. */
export function declaredRenames(entities: readonly EntityModel[]): Map<string, string> {
  return new Map(entities.filter((e) => e.renamedFrom !== undefined).map((e) => [e.message.typeName, e.renamedFrom as string]));
}

/** Package without its version suffix (`acme.user.v1` → `acme.user`): what majors of one entity share. */
export function packageFamily(pkg: string): string {
  return pkg.replace(/\.v[1-9][0-9]*$/, "");
}

const keyScalars = new Set<ScalarType>([
  ScalarType.STRING, ScalarType.INT32, ScalarType.INT64, ScalarType.UINT32, ScalarType.UINT64,
  ScalarType.SINT32, ScalarType.SINT64, ScalarType.FIXED32, ScalarType.FIXED64,
  ScalarType.SFIXED32, ScalarType.SFIXED64, ScalarType.BOOL,
]);

const int64Scalars = new Set<ScalarType>([
  ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64,
]);

/** True when values of this scalar type are bigint in the generated types. */
export function isInt64(type: ScalarType): boolean {
  return int64Scalars.has(type);
}

/** Finds every entity message and declared default in the image and validates them all (errors are returned, not thrown). */
export function collectEntities(image: ProtoImage): EntitySet {
  const entityExt = image.registry.getExtension("protocache.v1.entity");
  const fieldExt = image.registry.getExtension("protocache.v1.field");
  const errors: GenError[] = [];
  const entities: EntityModel[] = [];
  const defaults = new Map<DescField, DeclaredDefault>();
  const namespaces = new Map<string, DescMessage>();
  /** Entity messages already reported for another reason: lineage checks do not report them again. */
  const rejected = new Set<string>();

  for (const file of image.files) {
    for (const message of allMessages(file.messages)) {
      if (fieldExt !== undefined) {
        for (const field of message.fields) {
          if (!hasOption(field, fieldExt)) continue;
          const result = readDefault(field, getOption(field, fieldExt));
          if (typeof result === "string") errors.push(new GenError("field-default", result, image.locate(field)));
          else if (result !== undefined) defaults.set(field, result);
        }
      }
      if (entityExt === undefined || !hasOption(message, entityExt)) continue;
      const entity = readEntity(message, getOption(message, entityExt), image, errors);
      if (entity === undefined) {
        rejected.add(message.typeName);
        continue;
      }
      const namespace = `${entity.key.entity}:v${entity.major}`;
      const other = namespaces.get(namespace);
      if (other !== undefined) {
        errors.push(
          new GenError(
            "key-collision",
            `${message.typeName} and ${other.typeName} would share the key namespace "${namespace}:": give one a different entity name in its key template`,
            image.locate(message),
          ),
        );
        rejected.add(message.typeName);
        continue;
      }
      namespaces.set(namespace, message);
      entities.push(entity);
    }
  }
  for (const entity of entities) errors.push(...lineageProblems(entity, entities, image, rejected));
  return { entities, defaults, errors };
}

/** Checks `migrates_from` and `renamed_from` against the other entities. */
function lineageProblems(entity: EntityModel, entities: readonly EntityModel[], image: ProtoImage, rejected: ReadonlySet<string>): GenError[] {
  const problems: GenError[] = [];
  const name = entity.message.typeName;
  const at = image.locate(entity.message);
  const pkg = entity.message.file.proto.package;
  if (entity.migratesFrom !== undefined && !rejected.has(entity.migratesFrom)) {
    const target = entities.find((e) => e.message.typeName === entity.migratesFrom);
    const family = packageFamily(pkg);
    const why =
      image.registry.getMessage(entity.migratesFrom) === undefined ? "does not exist"
      : target === undefined ? "is not an entity"
      : packageFamily(target.message.file.proto.package) !== family ? `is not in the package family ${family}.vN`
      : target.major >= entity.major ? `is major ${target.major}, not older than ${entity.major}`
      : undefined;
    if (why !== undefined) {
      // Suggest only entities that exist: the newest older major of the family, else say there is none.
      const older = entities
        .filter((e) => packageFamily(e.message.file.proto.package) === family && e.major < entity.major)
        .sort((a, b) => b.major - a.major || Number(b.message.name === entity.message.name) - Number(a.message.name === entity.message.name));
      const hint = older[0] === undefined ? `, and ${family} has none (a retired one cannot be migrated from): remove migrates_from` : `, e.g. "${older[0].message.typeName}"`;
      problems.push(new GenError("migrates-from", `${name}: migrates_from "${entity.migratesFrom}" ${why}: it must name the entity of an older major of the same package family${hint}`, at));
    }
  }
  if (entity.example && (entity.migratesFrom !== undefined || entity.renamedFrom !== undefined)) {
    const option = entity.migratesFrom !== undefined ? "migrates_from" : "renamed_from";
    problems.push(
      new FindingError({
        rule: "example-entity",
        location: at,
        message: `${name} is an example (\`example: true\`) and declares ${option}`,
        breaks: `an example is never locked: it has no history to carry over, and ${option} promises one`,
        fix: `remove \`example: true\` to keep the entity as your own (gen then locks it), or remove ${option}`,
      }),
    );
  }
  const source = entity.migratesFrom === undefined ? undefined : entities.find((e) => e.message.typeName === entity.migratesFrom);
  if (source?.example === true && !entity.example) {
    problems.push(
      new FindingError({
        rule: "example-entity",
        location: at,
        message: `${name}: migrates_from "${source.message.typeName}", an example (\`example: true\`)`,
        breaks: "an example is never locked: no revision of it is kept to read through to or migrate from",
        fix: `remove \`example: true\` from ${source.message.typeName} to keep it as your own entity, or remove migrates_from from ${name}`,
      }),
    );
  }
  if (entity.renamedFrom !== undefined) {
    const why =
      entity.renamedFrom === name ? "names the entity itself"
      : !/^[A-Za-z_][\w.]*$/.test(entity.renamedFrom) ? "is not a full message name"
      : entities.some((e) => e.message.typeName === entity.renamedFrom) ? "is still an entity (a rename replaces the old message)"
      : !entity.renamedFrom.startsWith(`${pkg}.`) || entity.renamedFrom.slice(pkg.length + 1).includes(".") ? `is not a message of package ${pkg}: a rename stays in its package and major (a new major is a new entity, see migrates_from)`
      : undefined;
    if (why !== undefined) problems.push(new GenError("renamed-from", `${name}: renamed_from "${entity.renamedFrom}" ${why}`, at));
  }
  return problems;
}

function* allMessages(messages: readonly DescMessage[]): Generator<DescMessage> {
  for (const m of messages) {
    yield m;
    yield* allMessages(m.nestedMessages);
  }
}

interface RawEntityOptions {
  key: string;
  ttlSeconds: number;
  migratesFrom: string;
  renamedFrom: string;
  example: boolean;
}

function readEntity(message: DescMessage, raw: unknown, image: ProtoImage, errors: GenError[]): EntityModel | undefined {
  const options = raw as RawEntityOptions;
  const where = image.locate(message);
  const fail = (rule: string, text: string, at = where): undefined => {
    errors.push(new GenError(rule, `${message.typeName}: ${text}`, at));
    return undefined;
  };
  if (message.file.proto.syntax !== "proto3") {
    return fail("entity-syntax", `entities must be declared in proto3 files (this file is ${message.file.proto.syntax || "proto2"})`);
  }
  const major = /\.v([1-9][0-9]*)$/.exec(message.file.proto.package)?.[1];
  if (major === undefined) {
    return fail(
      "entity-version-suffix",
      `package "${message.file.proto.package}" has no major version suffix: entities live in packages like "${message.file.proto.package || "acme.user"}.v1"`,
    );
  }
  const key = parseKeyTemplate(options.key);
  if (typeof key === "string") return fail("key-template", key);
  if (options.ttlSeconds > MAX_TTL_SECONDS) {
    return fail(
      "entity-ttl",
      `ttl_seconds ${options.ttlSeconds} is over ${MAX_TTL_SECONDS} (10 years), the longest TTL protocache takes: no cache entry is meant to outlive a decade (0 is no expiry)`,
    );
  }
  const closureProblem = unsupportedInClosure(message);
  if (closureProblem !== undefined) return fail("entity-closure", closureProblem.text, image.locate(closureProblem.field));
  const keyFields: DescField[] = [];
  for (const segment of key.segments) {
    if (segment.kind !== "field") continue;
    const field = message.fields.find((f) => f.name === segment.name);
    if (field === undefined) {
      const names = message.fields.map((f) => f.name).join(", ");
      return fail("key-template", `key template "${options.key}" names unknown field "${segment.name}" (fields: ${names})`);
    }
    const problem = keyFieldProblem(field);
    if (problem !== undefined) {
      return fail("key-template", `key template "${options.key}": field "${field.name}" ${problem}`, image.locate(field));
    }
    keyFields.push(field);
  }
  return {
    message,
    major: Number(major),
    key,
    keyFields,
    ttlSeconds: options.ttlSeconds,
    migratesFrom: options.migratesFrom === "" ? undefined : options.migratesFrom,
    renamedFrom: options.renamedFrom === "" ? undefined : options.renamedFrom,
    example: options.example === true,
  };
}

/**
 * The first field in an entity's closure whose type the codecs cannot
 * handle: anything not declared in a proto3 file (proto2 and editions
 * semantics such as required fields, groups and closed enums). Every
 * well-known type is proto3 except descriptor.proto's; the ones ts-proto
 * represents as plain values (wrappers, Struct, Value, ListValue, FieldMask)
 * have runtime codecs.
 */
function unsupportedInClosure(message: DescMessage): { text: string; field: DescField } | undefined {
  for (const owner of closureOf(message).messages) {
    for (const field of owner.fields) {
      for (const ref of fieldRefs(field)) {
        if (ref.file.proto.syntax === "proto3") continue;
        const syntax = ref.file.proto.syntax || "proto2";
        return {
          field,
          text: `field "${field.name}" of ${owner.typeName} uses ${ref.typeName} from ${ref.file.proto.name}, which is not proto3 (it is ${syntax}): every message and enum an entity uses must be declared in a proto3 file`,
        };
      }
    }
  }
  return undefined;
}

function keyFieldProblem(field: DescField): string | undefined {
  if (field.fieldKind === "enum") return field.oneof === undefined && !field.proto.proto3Optional ? undefined : "is optional or in a oneof: key fields must always have a value";
  if (field.fieldKind !== "scalar") return `is a ${field.fieldKind}: key fields must be scalars (string, integer, bool or enum)`;
  if (!keyScalars.has(field.scalar)) return `has type ${ScalarType[field.scalar].toLowerCase()}: key fields must be string, integer, bool or enum`;
  if (field.oneof !== undefined || field.proto.proto3Optional) return "is optional or in a oneof: key fields must always have a value";
  return undefined;
}

interface RawFieldOptions {
  default: { case: string | undefined; value?: unknown };
}

function readDefault(field: DescField, raw: unknown): DeclaredDefault | string | undefined {
  const chosen = (raw as RawFieldOptions).default;
  if (chosen.case === undefined) return undefined;
  const name = `field "${field.name}"`;
  if (field.fieldKind !== "scalar" && field.fieldKind !== "enum") {
    return `${name}: declared defaults apply to scalar and enum fields, not to a ${field.fieldKind}`;
  }
  if (field.oneof !== undefined && !field.proto.proto3Optional) {
    return `${name}: declared defaults are not supported on oneof members`;
  }
  const value = chosen.value;
  // The option as written in the .proto file (default_string), not protobuf-es's property name (defaultString).
  const option = chosen.case.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  const mismatch = (expected: string): string => `${name}: ${option} does not fit its type; use ${expected}`;
  if (field.fieldKind === "enum") {
    if (chosen.case !== "defaultEnum") return mismatch("default_enum with a value name");
    const found = field.enum.values.find((v) => v.name === value);
    if (found === undefined) {
      return `${name}: default_enum "${String(value)}" is not a value of ${field.enum.typeName} (values: ${field.enum.values.map((v) => v.name).join(", ")})`;
    }
    return { kind: "number", value: found.number };
  }
  return scalarDefault(field.scalar, { chosen: chosen.case, value, name, mismatch });
}

/** A declared default as read from the options, before it is checked against the field type. */
interface RawDefault {
  /** Which oneof member was set, e.g. `defaultString`. */
  readonly chosen: string;
  readonly value: unknown;
  /** `field "x"`, for messages. */
  readonly name: string;
  readonly mismatch: (expected: string) => string;
}

function scalarDefault(type: ScalarType, raw: RawDefault): DeclaredDefault | string {
  const { chosen, value, mismatch } = raw;
  switch (type) {
    case ScalarType.STRING:
      return chosen === "defaultString" ? { kind: "string", value: value as string } : mismatch("default_string");
    case ScalarType.BYTES:
      return chosen === "defaultBytes" ? { kind: "bytes", value: value as Uint8Array } : mismatch("default_bytes");
    case ScalarType.BOOL:
      return chosen === "defaultBool" ? { kind: "bool", value: value as boolean } : mismatch("default_bool");
    case ScalarType.DOUBLE:
      return chosen === "defaultDouble" ? { kind: "number", value: value as number } : mismatch("default_double");
    case ScalarType.FLOAT:
      return chosen === "defaultDouble" ? floatDefault(value as number, raw.name) : mismatch("default_double");
    default:
      return integerDefault(type, raw);
  }
}

/**
 * A `default_double` of a float field, as the field holds it: rounded to
 * float32 (`0.1` is `0.10000000149011612`), so the default `createX()`
 * writes reads back equal to the one filled into older entries. A finite
 * value beyond float32's range is refused (the encoder would refuse it).
 */
function floatDefault(value: number, name: string): DeclaredDefault | string {
  const held = Math.fround(value);
  if (Number.isFinite(value) && !Number.isFinite(held)) return `${name}: default ${value} is out of range for float`;
  return { kind: "number", value: held };
}

const integerRanges: Partial<Record<ScalarType, readonly [bigint, bigint]>> = {
  [ScalarType.INT32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.SINT32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.SFIXED32]: [-(2n ** 31n), 2n ** 31n - 1n],
  [ScalarType.UINT32]: [0n, 2n ** 32n - 1n],
  [ScalarType.FIXED32]: [0n, 2n ** 32n - 1n],
  [ScalarType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SINT64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.SFIXED64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [ScalarType.UINT64]: [0n, 2n ** 64n - 1n],
  [ScalarType.FIXED64]: [0n, 2n ** 64n - 1n],
};

function integerDefault(type: ScalarType, { chosen, value, name, mismatch }: RawDefault): DeclaredDefault | string {
  if (chosen !== "defaultInt" && chosen !== "defaultUint") return mismatch("default_int or default_uint");
  const range = integerRanges[type];
  const n = BigInt(value as bigint | string | number);
  if (range === undefined) return mismatch("a default matching the field type");
  if (n < range[0] || n > range[1]) return `${name}: default ${n} is out of range for ${ScalarType[type].toLowerCase()}`;
  return isInt64(type) ? { kind: "bigint", value: n } : { kind: "number", value: Number(n) };
}

/** A locked revision of an entity, with the descriptors it was written with. */
export interface EntityRevision {
  readonly id: number;
  readonly revision: number;
  /** The message's full name in that revision (it differs before a rename). */
  readonly message: string;
  readonly descriptors: FileRegistry;
}
