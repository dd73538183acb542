import { createFileRegistry, fromBinary, type DescEnum, type DescField, type DescFile, type DescMessage, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { posix } from "node:path";
import type { SourceLocation } from "./errors.js";

/** A compiled buf image: every file of the module plus the imports it needs. */
export interface ProtoImage {
  /** The image as buf wrote it (an Image is a FileDescriptorSet on the wire). */
  readonly bytes: Uint8Array;
  readonly registry: FileRegistry;
  /** Every file of the image (imports first), as buf built them. */
  readonly protos: readonly FileDescriptorProto[];
  /** Files of the project itself (not google/protobuf/*), in image order. */
  readonly files: readonly DescFile[];
  /** Where a descriptor is declared, as a project-relative path with line. */
  locate(desc: DescFile | DescMessage | DescField | DescEnum): SourceLocation;
}

/** Parses the bytes of `buf build -o -` (an Image is a FileDescriptorSet on the wire). */
export function parseImage(bytes: Uint8Array, protoDir: string): ProtoImage {
  const set = fromBinary(FileDescriptorSetSchema, bytes);
  const registry = createFileRegistry(set);
  const files: DescFile[] = [];
  for (const proto of set.file) {
    if (proto.name.startsWith("google/protobuf/")) continue;
    const file = registry.getFile(proto.name);
    if (file !== undefined) files.push(file);
  }
  return {
    bytes,
    registry,
    protos: set.file,
    files,
    locate: (desc) => locateDesc(desc, protoDir),
  };
}

/** Descriptor path of a declaration (field numbers of descriptor.proto), as in SourceCodeInfo. */
export function descPath(desc: DescMessage | DescField | DescEnum): number[] {
  switch (desc.kind) {
    case "message":
      return desc.parent === undefined
        ? [4, desc.file.messages.indexOf(desc)]
        : [...descPath(desc.parent), 3, desc.parent.nestedMessages.indexOf(desc)];
    case "enum":
      return desc.parent === undefined
        ? [5, desc.file.enums.indexOf(desc)]
        : [...descPath(desc.parent), 4, desc.parent.nestedEnums.indexOf(desc)];
    case "field":
      return [...descPath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
  }
}

function fileOf(desc: DescFile | DescMessage | DescField | DescEnum): DescFile {
  switch (desc.kind) {
    case "file":
      return desc;
    case "field":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

function locateDesc(desc: DescFile | DescMessage | DescField | DescEnum, protoDir: string): SourceLocation {
  const file = fileOf(desc);
  const path = posix.join(protoDir, file.proto.name);
  if (desc.kind === "file") return { file: path };
  const want = descPath(desc);
  const found = file.proto.sourceCodeInfo?.location.find(
    (loc) => loc.path.length === want.length && loc.path.every((n, i) => n === want[i]),
  );
  const [line, column] = found?.span ?? [];
  if (line === undefined || column === undefined) return { file: path };
  return { file: path, line: line + 1, column: column + 1 };
}
