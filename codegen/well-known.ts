import { symbol, type ImportSymbol } from "./printer.js";

/**
 * Well-known types ts-proto represents as plain values instead of message
 * interfaces (whatever the options): wrappers as their value, Struct as a
 * plain object, Value as any JSON value, ListValue as an array, FieldMask as
 * its paths. Their codecs live in the runtime (`protocache/runtime`); the
 * generator only calls them. Every other well-known message (Timestamp,
 * Duration with `useDate=false`, Any, Empty, ...) is an ordinary message.
 */
export interface UnwrappedWellKnown {
  readonly typeName: string;
  /** `encodeX(w, value, holder, field)`: writes the message body, validating the value. */
  readonly encode: ImportSymbol;
  /** `decodeX(r, end, previous?)`: reads the message body, merging into `previous`. */
  readonly decode: ImportSymbol;
  /** The value of an empty message (what a map entry without a value holds), or undefined when ts-proto drops such entries. */
  readonly empty: string | undefined;
  /** TypeScript type of the value, for locals. */
  readonly tsType: string;
}

const runtime = { kind: "runtime" } as const;

function entry(name: string, empty: string | undefined, tsType: string): [string, UnwrappedWellKnown] {
  const typeName = `google.protobuf.${name}`;
  return [typeName, { typeName, encode: symbol(`encode${name}`, runtime), decode: symbol(`decode${name}`, runtime), empty, tsType }];
}

const table = new Map<string, UnwrappedWellKnown>([
  entry("DoubleValue", "0", "number"),
  entry("FloatValue", "0", "number"),
  entry("Int64Value", "0n", "bigint"),
  entry("UInt64Value", "0n", "bigint"),
  entry("Int32Value", "0", "number"),
  entry("UInt32Value", "0", "number"),
  entry("BoolValue", "false", "boolean"),
  entry("StringValue", '""', "string"),
  entry("BytesValue", "new Uint8Array(0)", "Uint8Array"),
  entry("Struct", "{}", "{ [key: string]: any }"),
  entry("Value", undefined, "any"),
  entry("ListValue", "[]", "any[]"),
  entry("FieldMask", "[]", "string[]"),
]);

/** The runtime codec of a well-known type ts-proto unwraps, or undefined for an ordinary message. */
export function unwrappedWellKnown(typeName: string): UnwrappedWellKnown | undefined {
  return table.get(typeName);
}
