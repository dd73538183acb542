import { describeValue } from "../describe-value.js";
import { ConfigError } from "../errors.js";

/**
 * Checks one option's value and returns what to use (the value, a default,
 * a converted form). `path` is the option's dotted name (`compression.minBytes`,
 * `--count`), which the {@link ConfigError} of a bad value names.
 */
export type Check<T> = (value: unknown, path: string) => T;

/** The type a {@link Check} returns. */
export type Checked<C> = C extends Check<infer T> ? T : never;

/** `path` extended by `key`: `compression` + `minBytes` → `compression.minBytes`; a top-level key is its own path. */
export function pathOf(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** The error of a value that is not of the valid form: `expected <expected>, got <the value, typed and capped>[: <hint>]`. */
export function invalid(path: string, expected: string, value: unknown, hint?: string): ConfigError {
  return new ConfigError(path, `expected ${expected}, got ${describeValue(value)}${hint === undefined ? "" : `: ${hint}`}`, { expected, hint });
}

/** Lets `undefined` through (an option left out); checks anything else. */
export function optional<T>(check: Check<T>): Check<T | undefined> {
  return (value, path) => (value === undefined ? undefined : check(value, path));
}

/** `fallback` for `undefined`; checks anything else. */
export function withDefault<T>(check: Check<T>, fallback: T): Check<T> {
  return (value, path) => (value === undefined ? fallback : check(value, path));
}

/** Runs `then` on what `check` accepted: a further rule, or a conversion (it may throw its own ConfigError naming `path`). */
export function refine<T, U>(check: Check<T>, then: (value: T, path: string) => U): Check<U> {
  return (value, path) => then(check(value, path), path);
}

/** Accepts whatever `test` holds true for (`expected` names it: `a MetricsSink (an object with bind(scope))`). */
export function satisfies<T>(test: (value: unknown) => boolean, expected: string): Check<T> {
  return (value, path) => {
    if (!test(value)) throw invalid(path, expected, value);
    return value as T;
  };
}

/** `true` or `false`, nothing truthy. */
export function boolean(): Check<boolean> {
  return satisfies((v) => typeof v === "boolean", "true or false");
}

/** A safe integer from `min` to `max`; `expected` rewords the valid form (`whole seconds >= 0 (0: no expiry)`). */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER, expected = `a whole number from ${min} to ${max}`): Check<number> {
  return satisfies((v) => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max, expected);
}

/** A finite number (a clock reading, a fraction). */
export function finite(): Check<number> {
  return satisfies((v) => typeof v === "number" && Number.isFinite(v), "a finite number");
}

/** A string; with `nonEmpty`, not `""`. */
export function text(options: { readonly nonEmpty?: boolean; readonly expected?: string } = {}): Check<string> {
  const expected = options.expected ?? (options.nonEmpty === true ? "a non-empty string" : "a string");
  return satisfies((v) => typeof v === "string" && (options.nonEmpty !== true || v !== ""), expected);
}

/** One of `choices`, exactly. */
export function oneOf<const C extends readonly string[]>(choices: C): Check<C[number]> {
  return satisfies((v) => typeof v === "string" && choices.includes(v), `one of ${choices.map((c) => `"${c}"`).join(", ")}`);
}

/** A function (a hook, a reader, a progress callback). */
export function func<F extends (...args: never[]) => unknown>(expected = "a function"): Check<F> {
  return satisfies((v) => typeof v === "function", expected);
}

/** An array whose every element `item` accepts (errors name `path[i]`). */
export function arrayOf<T>(item: Check<T>, expected = "an array"): Check<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw invalid(path, expected, value);
    return value.map((v, i) => item(v, `${path}[${i}]`));
  };
}

/** A schema ID: a uint32 other than 0 (reserved). */
export function schemaId(): Check<number> {
  return integer(1, 0xffff_ffff, "a schema ID (a uint32 from 1, e.g. 0x1a2b3c4d)");
}
