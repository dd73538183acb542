import { ConfigError } from "../errors.js";
import type { InvalidationSource } from "../l1/invalidation-source.js";
import { integer, optional, withDefault, type Check } from "../validation/checks.js";
import { options, type ShapeOf } from "../validation/options-object.js";
import { tagList } from "../validation/tags.js";
import { sourceCheck } from "./l1-options.js";

/**
 * Tags and `clear()` (`invalidation` of an accessor's options;
 * docs/invalidation.md). `true` turns them on with the defaults.
 */
export interface InvalidationOptions {
  /**
   * Milliseconds of clock difference between the processes that write
   * entries and those that invalidate them: an entry written less than this
   * after an invalidation (by the writer's clock) is treated as written
   * before it. Default 0 (clocks kept by NTP differ by a few ms); from 0 to
   * 60 000.
   */
  readonly clockSkewMs?: number;
  /**
   * Where changes of tag states come from; default the `l1` option's
   * source, else the store's own (`store.tracking()`). Without one (a
   * GlideStore) every check reads the states it needs from Redis.
   */
  readonly tracking?: InvalidationSource;
}

/** {@link InvalidationOptions} checked, with defaults. */
export interface ResolvedInvalidation {
  readonly clockSkewMs: number;
  readonly tracking: InvalidationSource | undefined;
}

const spec = options(
  {
    clockSkewMs: withDefault(integer(0, 60_000, "whole milliseconds from 0 to 60000"), 0),
    tracking: optional(sourceCheck),
  } satisfies ShapeOf<InvalidationOptions>,
  { name: "invalidation", expected: "true, false, or an object like { clockSkewMs: 50 }" },
);

/** `invalidation`: off (left out or `false`), on with defaults (`true`), or an object; needs `writtenAt` (an entry's written-at is what a tag or `clear()` is compared with). */
export function invalidationCheck(writtenAt: boolean): Check<ResolvedInvalidation | undefined> {
  return (value, path) => {
    if (value === undefined || value === false) return undefined;
    const o = value === true ? spec({}, path) : spec(value, path);
    if (!writtenAt) throw new ConfigError(path, "needs writtenAt: true (an entry's written-at is what a tag's or clear()'s time is compared with)");
    return { clockSkewMs: o.clockSkewMs, tracking: o.tracking };
  };
}

/** The tags of one write or load (`tags` of its options), checked; undefined for none. */
export const writeTagsCheck: Check<readonly string[] | undefined> = optional(tagList(true));

