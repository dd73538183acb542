import { inspect } from "node:util";

/** Characters of a value or key an error message shows; the rest is summarised as its size. */
export const SHOWN_CHARS = 100;

const inspectOptions = { depth: 0, maxArrayLength: 10, maxStringLength: SHOWN_CHARS, breakLength: Infinity, compact: true } as const;

/**
 * A value as error messages show it: its type and a length-capped rendering
 * (`string "60"`, `number 3`, `array []`, `undefined`), so a wrong type is
 * visible and a huge value costs a short message.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `string ${quoteCapped(value)}`;
    case "number":
      return `number ${Object.is(value, -0) ? "-0" : String(value)}`;
    case "bigint":
      return `bigint ${capped(String(value))}n`;
    case "boolean":
      return `boolean ${String(value)}`;
    case "undefined":
      return "undefined";
    case "symbol":
      return `symbol ${capped(value.toString())}`;
    case "function":
      return `function ${capped(value.name || "(anonymous)")}`;
    default:
      if (value === null) return "null";
      return `${Array.isArray(value) ? "array" : "object"} ${capped(inspect(value, inspectOptions))}`;
  }
}

/** A key as error messages show it: whole up to {@link SHOWN_CHARS} characters, else its start and its size in bytes. */
export function describeKey(key: string): string {
  return key.length <= SHOWN_CHARS ? key : `${key.slice(0, SHOWN_CHARS)}…(${Buffer.byteLength(key)} bytes)`;
}

/** A string JSON-quoted, capped like {@link describeKey}. */
export function quoteCapped(text: string): string {
  return text.length <= SHOWN_CHARS ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, SHOWN_CHARS))}…(${Buffer.byteLength(text)} bytes)`;
}

function capped(text: string): string {
  return text.length <= SHOWN_CHARS ? text : `${text.slice(0, SHOWN_CHARS)}…(${text.length} chars)`;
}
