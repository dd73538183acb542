import { ScalarType } from "@bufbuild/protobuf";
import { runtimeSymbol } from "./codec-kinds.js";
import type { Printable } from "./printer.js";

/**
 * An inline check accepting the usual values of a scalar type (`v` an
 * identifier) and their JSON form, or undefined for types left to the
 * runtime writer. Where the path step of an error costs something to build
 * (a map key's), the runtime writer, and the step, are reached only for
 * values the check refuses: it throws for those, or writes NaN and ±Infinity.
 */
export function inlineScalar(type: ScalarType, v: string): { check: Printable[]; out: string } | undefined {
  switch (type) {
    case ScalarType.STRING:
      return { check: [runtimeSymbol("isJsonString"), `(${v})`], out: v };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { check: [`(${v} | 0) === ${v}`], out: v };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { check: [`${v} >>> 0 === ${v}`], out: v };
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { check: [runtimeSymbol("isInt64"), `(${v})`], out: `String(${v})` };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { check: [runtimeSymbol("isUint64"), `(${v})`], out: `String(${v})` };
    case ScalarType.BOOL:
      return { check: [`typeof ${v} === "boolean"`], out: v };
    case ScalarType.DOUBLE:
      return { check: [`Number.isFinite(${v})`], out: v };
    case ScalarType.FLOAT:
      return { check: [`Number.isFinite(${v}) && `, runtimeSymbol("isFloat32"), `(${v})`], out: v };
    case ScalarType.BYTES:
      return undefined;
  }
}
