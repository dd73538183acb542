import { StoreError } from "../errors.js";
import { validatePrefix } from "../keys.js";
import type { CacheStore, StoreWrite } from "../stores/store.js";
import { refine, text, withDefault } from "../validation/checks.js";
import { options, type ShapeOf } from "../validation/options-object.js";
import { tagList } from "../validation/tags.js";
import { ttlSeconds } from "../validation/ttl.js";
import { tagKeyOf } from "./tag-keys.js";
import { changedEverywhere } from "./tag-states.js";

/** The writes that set state keys to `now` (epoch ms, decimal), kept `keepSeconds` (0: no expiry). */
export function stateWrites(keys: readonly string[], now: number, keepSeconds: number): StoreWrite[] {
  const value = Buffer.from(String(Math.floor(now)), "latin1");
  return keys.map((key) => ({ key, value, ttlSeconds: keepSeconds }));
}

/** Options of {@link invalidateTags}. */
export interface InvalidateTagsOptions {
  /** The key prefix of the accessors whose entries carry the tags (their `prefix` option). Default `""`. */
  readonly prefix?: string;
  /**
   * Seconds the tags' states are kept in Redis; 0 (default) keeps them
   * until they are invalidated again. Set it only when every entry that
   * carries one of the tags expires within that time: an entry that
   * outlives its tag's state is served again.
   */
  readonly keepSeconds?: number;
}

const invalidateOptions = options(
  {
    prefix: withDefault(refine(text(), (p, path) => validatePrefix(p, path)), ""),
    keepSeconds: withDefault(ttlSeconds("kept until invalidated again"), 0),
  } satisfies ShapeOf<InvalidateTagsOptions>,
  { name: "invalidateTags options", expected: "an object like { prefix: \"app:\" } or nothing" },
);

const tagsCheck = tagList();

/**
 * Makes every entry that carries any of `tags` a miss, for every accessor
 * over these servers and `prefix`, in every process (docs/invalidation.md):
 * one small write per tag (its state key set to now), whatever the number of
 * entries. Processes that hold the tags' states learn of it from Redis's
 * tracking; this process at once. Rejects with a StoreError when a state
 * could not be written (an invalidation is never lost silently), with a
 * ConfigError for bad tags or options.
 *
 * @example
 * ```ts
 * import { invalidateTags } from "protocache";
 * await db.updatePrices(shopId);
 * await invalidateTags(store, [`shop:${shopId}`]);
 * ```
 */
export async function invalidateTags(store: CacheStore, tags: readonly string[], opts?: InvalidateTagsOptions): Promise<void> {
  const o = invalidateOptions(opts, "invalidateTags options");
  const keys = tagsCheck(tags, "tags").map((t) => tagKeyOf(o.prefix, t));
  changedEverywhere(store, o.prefix, keys);
  try {
    const results = await store.setMany(stateWrites(keys, Date.now(), o.keepSeconds), undefined);
    const i = results.findIndex((r) => r instanceof Error);
    if (i >= 0) {
      const cause = results[i];
      throw cause instanceof StoreError ? cause : new StoreError("SET", keys[i], { cause });
    }
  } finally {
    changedEverywhere(store, o.prefix, keys);
  }
}
