import { ConfigError } from "../errors.js";
import { invalid, pathOf, type Check, type Checked } from "./checks.js";
import { closestName } from "./closest.js";

/** One check per option name: the spec of an options object. */
export type Shape = { readonly [name: string]: Check<unknown> };

type OptionalKeys<S extends Shape> = { [K in keyof S]: undefined extends Checked<S[K]> ? K : never }[keyof S];

/**
 * What {@link options} returns for a shape: options whose check may give
 * `undefined` are optional properties (left out when undefined, which
 * `exactOptionalPropertyTypes` wants), the others are always there.
 */
export type OptionsOf<S extends Shape> = { readonly [K in Exclude<keyof S, OptionalKeys<S>>]: Checked<S[K]> } & {
  readonly [K in OptionalKeys<S>]?: Exclude<Checked<S[K]>, undefined>;
};

/**
 * The spec an options interface needs: one check for each of its options,
 * no more and no fewer (`satisfies ShapeOf<CleanupOptions>` makes the
 * compiler say when an option was added without a check, or a check names
 * no option). A check may convert (a writer tag to bytes), so only the
 * names are compared; where the checked object is used as the interface,
 * the compiler compares the types.
 */
export type ShapeOf<T> = { readonly [K in keyof T]-?: Check<unknown> };

/** How {@link options} treats the object around the options. */
export interface OptionsSettings {
  /** The valid form of the whole, for a value that is not an object. Default `an object`. */
  readonly expected?: string;
  /** Names the object when it is itself the top level (`path` is `""`), e.g. `options` or `cleanup options`. Default `options`. */
  readonly name?: string;
  /** `"refuse"` (default): an unknown name is a ConfigError with the closest valid one. `"ignore"`: skipped (reading an older or newer configuration). */
  readonly unknown?: "refuse" | "ignore";
  /** Names that were options once, with what to do instead: refused with that text. */
  readonly removed?: Readonly<Record<string, string>>;
  /** Lets `undefined` stand for an empty object (options that may be left out). Default true. */
  readonly optional?: boolean;
}

/** The ConfigError of an unknown option: the closest valid name when one is close, and the valid names. */
export function unknownOption(path: string, name: string, valid: readonly string[]): ConfigError {
  const closest = closestName(name, valid);
  const list = valid.join(", ");
  if (closest === undefined) return new ConfigError(pathOf(path, name), `unknown option; valid options are ${list}`, { expected: `one of ${list}` });
  const hint = `did you mean ${closest}?`;
  return new ConfigError(pathOf(path, name), `unknown option; ${hint} (valid options are ${list})`, { expected: `one of ${list}`, hint });
}

/**
 * A check of an options object from the checks of its options: the value
 * must be a plain object (or undefined, for none); every name must be in
 * `shape` (a misspelt one is refused with the closest valid name, so it
 * never silently falls back to a default); every option is checked by its
 * own check, with `path.name` as its path. Checks run in `shape`'s order,
 * so the first bad option is the one reported.
 *
 * @example
 * ```ts
 * const walk = options({ count: withDefault(integer(1, 100_000), 500), dryRun: optional(boolean()) });
 * walk({ count: 10, dryrun: true }, ""); // ConfigError: invalid option dryrun: unknown option; did you mean dryRun? …
 * ```
 */
export function options<S extends Shape>(shape: S, settings: OptionsSettings = {}): Check<OptionsOf<S>> {
  const names = Object.keys(shape);
  const removed = settings.removed ?? {};
  return (value, path) => {
    if (value === undefined && settings.optional !== false) value = {};
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw invalid(path === "" ? (settings.name ?? "options") : path, settings.expected ?? "an object", value);
    }
    const given = value as Record<string, unknown>;
    if (settings.unknown !== "ignore") {
      for (const name of Object.keys(given)) {
        if (Object.hasOwn(shape, name)) continue;
        const why = removed[name];
        if (why !== undefined) throw new ConfigError(pathOf(path, name), `no longer an option: ${why}`);
        throw unknownOption(path, name, names);
      }
    }
    const out: Record<string, unknown> = {};
    for (const name of names) {
      const checked = (shape[name] as Check<unknown>)(given[name], pathOf(path, name));
      if (checked !== undefined) out[name] = checked;
    }
    return out as OptionsOf<S>;
  };
}
