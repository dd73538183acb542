import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type DescriptorProto } from "@bufbuild/protobuf/wkt";

/**
 * Renames messages inside a base image (old full name → new full name, same
 * package), with every reference to them and their nested types, so that
 * `buf breaking`, which matches messages by name, compares a renamed entity
 * with what it was. Unknown fields (buf's image extensions) are kept.
 */
export function renameInImage(bytes: Uint8Array, renames: ReadonlyMap<string, string>): Uint8Array {
  if (renames.size === 0) return bytes;
  const set = fromBinary(FileDescriptorSetSchema, bytes);
  const refs = [...renames].map(([from, to]) => [`.${from}`, `.${to}`] as const);
  const rewrite = (typeName: string): string => {
    for (const [from, to] of refs) {
      if (typeName === from || typeName.startsWith(`${from}.`)) return to + typeName.slice(from.length);
    }
    return typeName;
  };
  const walk = (m: DescriptorProto): void => {
    for (const f of m.field) if (f.typeName !== "") f.typeName = rewrite(f.typeName);
    m.nestedType.forEach(walk);
  };
  for (const file of set.file) {
    const prefix = file.package === "" ? "" : `${file.package}.`;
    for (const m of file.messageType) {
      const to = renames.get(`${prefix}${m.name}`);
      if (to !== undefined && to.startsWith(prefix)) m.name = to.slice(prefix.length);
      walk(m);
    }
  }
  return toBinary(FileDescriptorSetSchema, set);
}
