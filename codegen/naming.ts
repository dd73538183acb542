import type { DescEnum, DescField, DescFile, DescMessage, DescOneof } from "@bufbuild/protobuf";
import { symbol, type ImportSymbol, type ModuleRef } from "./printer.js";

/**
 * Names shared by ts-proto's output and ours. They follow the ts-proto
 * options in buf.gen.yaml (useJsonName=true, oneof=unions); the generated
 * code type-checks against ts-proto's interfaces, so a drift fails `tsc`.
 */

/** Directory, inside the output directory, that ts-proto writes to. */
export const typesDir = "types";

/** TypeScript name ts-proto gives a message or enum: nested names joined by `_`. */
export function tsTypeName(desc: DescMessage | DescEnum): string {
  return desc.parent === undefined ? desc.name : `${tsTypeName(desc.parent)}_${desc.name}`;
}

/** Property name of a field in ts-proto's interfaces (its JSON name). */
export function propertyName(field: DescField): string {
  return field.proto.jsonName !== "" ? field.proto.jsonName : field.jsonName;
}

/** Property name of a oneof group (ts-proto camel-cases snake_case names). */
export function oneofPropertyName(oneof: DescOneof): string {
  const name = oneof.name;
  if (!name.includes("_")) return name;
  const hasLower = /[a-z]/.test(name);
  return name
    .split("_")
    .map((word, i) => {
      const w = hasLower ? word : word.toLowerCase();
      return i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1);
    })
    .join("");
}

function stem(file: DescFile): string {
  return file.name.replace(/\.proto$/, "");
}

/** Module of ts-proto's types for a `.proto` file. */
export function typesModule(file: DescFile): ModuleRef {
  return { kind: "generated", path: `${typesDir}/${stem(file)}.js` };
}

/** Path (inside the output directory) of protocache's module for a `.proto` file. */
export function cachePath(file: DescFile): string {
  return `${stem(file)}.cache.ts`;
}

/** Module of protocache's generated codecs and accessors for a `.proto` file. */
export function cacheModule(file: DescFile): ModuleRef {
  return { kind: "generated", path: `${stem(file)}.cache.js` };
}

/** The ts-proto type of a message or enum, as an importable symbol. */
export function typeSymbol(desc: DescMessage | DescEnum): ImportSymbol {
  return symbol(tsTypeName(desc), typesModule(desc.file), desc.kind === "message");
}

/** Generated encoder of a message. */
export function encoderSymbol(message: DescMessage): ImportSymbol {
  return symbol(`encode${tsTypeName(message)}`, cacheModule(message.file));
}

/** Generated decoder of a message. */
export function decoderSymbol(message: DescMessage): ImportSymbol {
  return symbol(`decode${tsTypeName(message)}`, cacheModule(message.file));
}

/** Generated proto3 JSON writer of a message. */
export function toJsonSymbol(message: DescMessage): ImportSymbol {
  return symbol(`toJson${tsTypeName(message)}`, cacheModule(message.file));
}

/** Generated proto3 JSON reader of a message. */
export function fromJsonSymbol(message: DescMessage): ImportSymbol {
  return symbol(`fromJson${tsTypeName(message)}`, cacheModule(message.file));
}

/** Generated factory of a message with every field at its zero value. */
export function creatorSymbol(message: DescMessage): ImportSymbol {
  return symbol(`new${tsTypeName(message)}`, cacheModule(message.file));
}

/** Lower-camel name of an entity's accessor factory, e.g. `userCache`. */
export function accessorFactoryName(message: DescMessage): string {
  const name = tsTypeName(message);
  return `${name.charAt(0).toLowerCase()}${name.slice(1)}Cache`;
}
