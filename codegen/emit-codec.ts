import type { DescField, DescMessage, DescOneof } from "@bufbuild/protobuf";
import { valueKind } from "./codec-kinds.js";
import { emitDecoder } from "./emit-decode.js";
import { emitEncoder } from "./emit-encode.js";
import { creatorSymbol, decoderSymbol, encoderSymbol, oneofPropertyName, propertyName, typeSymbol } from "./naming.js";
import type { GeneratedFile } from "./printer.js";

/** Prints `newX`, `encodeX` and `decodeX` for one message into `f`. */
export function emitCodec(f: GeneratedFile, message: DescMessage): void {
  const type = typeSymbol(message);
  const create = creatorSymbol(message);
  f.declare(create.name, encoderSymbol(message).name, decoderSymbol(message).name);

  f.print(`/** \`${message.typeName}\` with every field at its zero value. */`);
  f.print("export function ", create.name, "(): ", type, " {");
  f.print("  return {");
  for (const init of fieldInitializers(message)) f.print("    ", init);
  f.print("  };");
  f.print("}");
  f.print();
  emitEncoder(f, message, type, sortedMembers(message));
  emitDecoder(f, message, type);
}

function fieldInitializers(message: DescMessage): string[] {
  const parts: string[] = [];
  for (const member of message.members) {
    if (member.kind === "oneof") {
      parts.push(`${oneofPropertyName(member)}: undefined,`);
      continue;
    }
    const name = propertyName(member);
    const kind = valueKind(member);
    if (member.fieldKind === "list") parts.push(`${name}: [],`);
    else if (member.fieldKind === "map") parts.push(`${name}: new Map(),`);
    else if (member.proto.proto3Optional || kind.kind !== "scalar") parts.push(`${name}: undefined,`);
    else parts.push(`${name}: ${kind.scalar.zero},`);
  }
  return parts;
}

/** Fields and real oneofs in field-number order (a oneof sorts by its lowest member). */
function sortedMembers(message: DescMessage): (DescField | DescOneof)[] {
  const first = (m: DescField | DescOneof): number =>
    m.kind === "field" ? m.number : Math.min(...m.fields.map((f) => f.number));
  return [...message.members].sort((a, b) => first(a) - first(b));
}
