import { clone, create, isFieldSet, toBinary, type DescMessage } from "@bufbuild/protobuf";
import {
  DescriptorProtoSchema,
  FieldDescriptorProtoSchema,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  MessageOptionsSchema,
  OneofDescriptorProtoSchema,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { closureOf } from "./closure.js";

/**
 * A self-contained FileDescriptorSet holding just the closure of `root`:
 * enough for any runtime to decode entries of this revision long after the
 * `.proto` source moved on. Messages outside the closure survive only as empty
 * namespaces for nested types; options, comments and services are dropped.
 */
export function closureDescriptorSet(root: DescMessage): Uint8Array {
  const closure = closureOf(root);
  const keep = new Set<string>([...closure.messages, ...closure.enums].map((d) => d.typeName));
  const byFile = new Map<string, FileDescriptorProto>();
  for (const desc of [...closure.messages, ...closure.enums]) byFile.set(desc.file.name, desc.file.proto);

  const files: FileDescriptorProto[] = [];
  for (const source of [...byFile.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const prefix = source.package === "" ? "" : `${source.package}.`;
    const messageType = source.messageType
      .map((m) => pruneMessage(m, `${prefix}${m.name}`, keep))
      .filter((m): m is DescriptorProto => m !== undefined);
    const enumType = source.enumType.filter((e) => keep.has(`${prefix}${e.name}`));
    files.push(
      create(FileDescriptorProtoSchema, {
        name: source.name,
        ...(source.package === "" ? {} : { package: source.package }),
        ...(source.syntax === "" ? {} : { syntax: source.syntax }),
        messageType,
        enumType,
      }),
    );
  }
  for (const file of files) file.dependency = dependenciesOf(file, files);
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: dependenciesFirst(files) }));
}

/** Orders files so each comes after the files it depends on (ties by name), as descriptor registries require. */
function dependenciesFirst(files: readonly FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((f) => [f.name, f]));
  const done = new Set<string>();
  const out: FileDescriptorProto[] = [];
  const visit = (file: FileDescriptorProto, path: Set<string>): void => {
    if (done.has(file.name) || path.has(file.name)) return;
    path.add(file.name);
    for (const dep of [...file.dependency].sort()) {
      const target = byName.get(dep);
      if (target !== undefined) visit(target, path);
    }
    done.add(file.name);
    out.push(file);
  };
  for (const file of files) visit(file, new Set());
  return out;
}

function pruneMessage(source: DescriptorProto, fullName: string, keep: ReadonlySet<string>): DescriptorProto | undefined {
  const inClosure = keep.has(fullName);
  const nestedType = source.nestedType
    .map((n) =>
      n.options?.mapEntry === true
        ? inClosure
          ? cleanMessage(n)
          : undefined
        : pruneMessage(n, `${fullName}.${n.name}`, keep),
    )
    .filter((n): n is DescriptorProto => n !== undefined);
  const enumType = source.enumType.filter((e) => keep.has(`${fullName}.${e.name}`));
  if (!inClosure && nestedType.length === 0 && enumType.length === 0) return undefined;
  const pruned = create(DescriptorProtoSchema, { name: source.name, nestedType, enumType });
  if (inClosure) {
    pruned.field = source.field.map(cleanField);
    pruned.oneofDecl = source.oneofDecl.map((o) => create(OneofDescriptorProtoSchema, { name: o.name }));
    pruned.reservedRange = source.reservedRange;
    pruned.reservedName = source.reservedName;
  }
  return pruned;
}

function cleanMessage(source: DescriptorProto): DescriptorProto {
  return create(DescriptorProtoSchema, {
    name: source.name,
    field: source.field.map(cleanField),
    options: create(MessageOptionsSchema, { mapEntry: true }),
  });
}

function cleanField(source: FieldDescriptorProto): FieldDescriptorProto {
  const field = clone(FieldDescriptorProtoSchema, source);
  field.options = source.options?.packed === undefined || !isFieldSet(source.options, FieldOptionsSchema.field.packed)
    ? undefined
    : create(FieldOptionsSchema, { packed: source.options.packed });
  return field;
}

/** Files of the set whose top-level types `file`'s fields refer to (a type name's package prefix). */
function dependenciesOf(file: FileDescriptorProto, files: readonly FileDescriptorProto[]): string[] {
  const referenced = new Set<string>();
  const walk = (m: DescriptorProto): void => {
    for (const f of m.field) if (f.typeName !== "") referenced.add(f.typeName.replace(/^\./, ""));
    m.nestedType.forEach(walk);
  };
  file.messageType.forEach(walk);
  const deps: string[] = [];
  for (const other of files) {
    if (other === file) continue;
    const prefix = other.package === "" ? "" : `${other.package}.`;
    const names = [...other.messageType.map((m) => m.name), ...other.enumType.map((e) => e.name)];
    const uses = [...referenced].some((ref) =>
      names.some((n) => ref === `${prefix}${n}` || ref.startsWith(`${prefix}${n}.`)),
    );
    if (uses) deps.push(other.name);
  }
  return deps;
}
