import { ConfigError } from "../errors.js";
import { boolean, integer, optional, options, refine, satisfies, tagList, ttlSeconds, withDefault, type Check, type ShapeOf } from "../validation/index.js";

/**
 * The loading cache's options (`loading` of an accessor's options;
 * docs/loading.md): how `getOrSet` and `getManyOrSet` treat freshness, the
 * loader and other instances, and how every write's Redis TTL is made.
 * Every field is optional.
 */
export interface LoadingOptions {
  /**
   * Seconds an entry is kept past its fresh TTL: a read in that window gets
   * the stale value (at once, refreshed in the background, or when the loader
   * fails or passes its soft timeout). Every write's Redis TTL is its fresh
   * TTL plus this. Needs `writtenAt` (freshness is read from the envelope's
   * written-at). Default 0 (no grace: an entry past its fresh TTL is gone);
   * at most 315 576 000 (10 years, `MAX_TTL_SECONDS`), like every TTL.
   */
  readonly graceSeconds?: number;
  /**
   * Fraction of the fresh TTL taken off each key's TTL, from 0 to 0.5: a key
   * expires after `ttl × (1 - jitter × h)`, where `h` in [0, 1) is a hash of
   * the key, so entries written together expire spread over that window, and
   * every instance computes the same expiry for a key. Applies to every write
   * of the accessor (`set` too). Default 0.1; 0 turns it off.
   */
  readonly jitter?: number;
  /** Seconds an absent marker (the loader returned undefined) lives, at most 315 576 000 (10 years); 0 caches nothing for missing entities. Default 30. */
  readonly absentTtlSeconds?: number;
  /**
   * `true` (default): a read within grace returns the stale value at once
   * and refreshes it in the background (stale-while-revalidate). `false`: it
   * calls the loader and waits, and gets the stale value only when the
   * loader fails or passes `softTimeoutMs` (fail-safe only).
   */
  readonly staleWhileRevalidate?: boolean;
  /**
   * Milliseconds a caller holding a stale value waits for the loader before
   * it gets the stale value (the load goes on and writes when done). No
   * effect without a stale value. Default none.
   */
  readonly softTimeoutMs?: number;
  /**
   * Milliseconds a caller waits for a load: past it, callers get a
   * LoadTimeoutError (or a stale value) and the load is given up (its
   * `signal` aborts, nothing is cached), unless `backgroundCompletion` lets
   * it finish. Default none.
   */
  readonly hardTimeoutMs?: number;
  /**
   * `true`: a load past `hardTimeoutMs` is not aborted but completes in the
   * background (its signal does not abort), and its value is cached when it
   * arrives; callers still stop waiting at `hardTimeoutMs`, and callers that
   * come meanwhile join it (each waits at most `hardTimeoutMs`). Costs the
   * source the rest of the slow load (docs/loading.md, "Background
   * completion"). Default false: the load is aborted.
   */
  readonly backgroundCompletion?: boolean;
  /**
   * Fraction of the fresh TTL after which a read of a fresh entry also starts
   * a background refresh (above 0, below 1), so hot keys never expire.
   * Default off.
   */
  readonly eagerRefresh?: number;
  /**
   * After a load of a key failed (a background refresh, or a caller's load),
   * milliseconds during which callers holding a stale value of that key get
   * it without calling the loader again, and no background refresh starts
   * (the source is not hammered while it is down). Callers without a stale
   * value still load. 0 turns it off. Default 1000.
   */
  readonly failSafeBackoffMs?: number;
  /**
   * Single-flight across instances: the instance that misses first takes a
   * short lease in Redis and loads; the others wait for its write (polling
   * the key) up to `waitMs`, then load themselves. A holder that dies is
   * replaced when its lease expires after `ttlMs`. `false` turns it off.
   * Default `{ ttlMs: 5000, waitMs: 5000 }` (`ttlMs` at least `hardTimeoutMs`
   * when that is set).
   */
  readonly lease?: false | { readonly ttlMs?: number; readonly waitMs?: number };
}

/** Per-call options of `getOrSet` and `getManyOrSet`: these override the accessor's. */
export interface LoadCallOptions {
  /** The fresh TTL for this call's reads (freshness) and writes; defaults to the accessor's. Like every TTL, whole seconds up to 315 576 000 (10 years). */
  readonly ttlSeconds?: number;
  /** `loading.graceSeconds` for this call. */
  readonly graceSeconds?: number;
  /** `loading.absentTtlSeconds` for this call. */
  readonly absentTtlSeconds?: number;
  /** `loading.softTimeoutMs` for this call. */
  readonly softTimeoutMs?: number;
  /** `loading.hardTimeoutMs` for this call. */
  readonly hardTimeoutMs?: number;
  /**
   * `true`: load even if a fresh value is cached (the cached value is not
   * read, and is not a fallback when the loader fails), then cache the
   * result as any load does. Still single-flight in this process (callers of
   * a key share one load, a load already in flight included); no lease
   * across instances. Default false.
   *
   * @example
   * ```ts
   * await db.users.update(id, change);
   * const user = await users.getOrSet({ id }, load, { forceFresh: true }); // the source's value, now cached
   * ```
   */
  readonly forceFresh?: boolean;
  /** Invalidation tags of every entry this call writes (docs/invalidation.md); the loader may add its own (`context.setTags`). Needs the accessor's `invalidation` option. */
  readonly tags?: readonly string[];
}

/** {@link LoadingOptions} with defaults applied. */
export interface ResolvedLoading {
  readonly graceSeconds: number;
  readonly jitter: number;
  readonly absentTtlSeconds: number;
  readonly staleWhileRevalidate: boolean;
  readonly softTimeoutMs: number | undefined;
  readonly hardTimeoutMs: number | undefined;
  readonly backgroundCompletion: boolean;
  readonly eagerRefresh: number | undefined;
  readonly failSafeBackoffMs: number;
  readonly lease: { readonly ttlMs: number; readonly waitMs: number } | undefined;
}

/** One call's loading policy: the accessor's, with the call's options over it. */
export interface LoadPolicy extends ResolvedLoading {
  readonly ttlSeconds: number;
  /** The call's `forceFresh` (absent: false). */
  readonly forceFresh?: boolean;
  /** Tags of every entry the call writes, checked; undefined for none. */
  readonly tags?: readonly string[] | undefined;
}

/** TTL options, each saying what its 0 means; bounded like every TTL (MAX_TTL_SECONDS, 10 years). */
const freshTtl = ttlSeconds("no expiry");
const grace = ttlSeconds("no grace");
const absentTtl = ttlSeconds("absent markers are not written");
const milliseconds = integer(1, 3_600_000, "whole milliseconds from 1 to 3600000");

function fraction(min: number, max: number, open: boolean): Check<number> {
  return satisfies(
    (v) => typeof v === "number" && Number.isFinite(v) && (open ? v > min && v < max : v >= min && v <= max),
    open ? `a number above ${min} and below ${max}` : `a number from ${min} to ${max}`,
  );
}

const leaseCheck: Check<{ ttlMs?: number | undefined; waitMs: number } | undefined> = (value, path) => {
  if (value === false) return undefined;
  const lease = options({ ttlMs: (v, p) => (v === undefined ? undefined : milliseconds(v, p)), waitMs: withDefault(integer(0, 3_600_000, "whole milliseconds from 0 to 3600000"), 5000) }, {
    expected: "false, or an object like { ttlMs: 5000, waitMs: 5000 }",
  })(value, path);
  return lease;
};

const loadingSpec = options(
  {
    graceSeconds: withDefault(grace, 0),
    jitter: withDefault(fraction(0, 0.5, false), 0.1),
    absentTtlSeconds: withDefault(absentTtl, 30),
    staleWhileRevalidate: withDefault(boolean(), true),
    softTimeoutMs: (v, p) => (v === undefined ? undefined : milliseconds(v, p)),
    hardTimeoutMs: (v, p) => (v === undefined ? undefined : milliseconds(v, p)),
    backgroundCompletion: withDefault(boolean(), false),
    eagerRefresh: (v, p) => (v === undefined ? undefined : fraction(0, 1, true)(v, p)),
    failSafeBackoffMs: withDefault(integer(0, 3_600_000, "whole milliseconds from 0 to 3600000"), 1000),
    lease: leaseCheck,
  } satisfies ShapeOf<LoadingOptions>,
  { expected: "an object like { graceSeconds: 60 } or nothing" },
);

/** `loading` of the accessor's options, checked; `writtenAt` is the accessor's (grace needs it). */
export const loadingCheck = (writtenAt: boolean): Check<ResolvedLoading> =>
  refine(loadingSpec, (o, path): ResolvedLoading => {
    if (o.graceSeconds > 0 && !writtenAt) {
      throw new ConfigError(`${path}.graceSeconds`, "needs writtenAt: true (freshness is read from the envelope's written-at)");
    }
    if (o.eagerRefresh !== undefined && !writtenAt) throw new ConfigError(`${path}.eagerRefresh`, "needs writtenAt: true (freshness is read from the envelope's written-at)");
    if (o.softTimeoutMs !== undefined && o.hardTimeoutMs !== undefined && o.softTimeoutMs >= o.hardTimeoutMs) {
      throw new ConfigError(`${path}.softTimeoutMs`, `${o.softTimeoutMs} is not below hardTimeoutMs (${o.hardTimeoutMs})`);
    }
    const lease = o.lease;
    return {
      graceSeconds: o.graceSeconds,
      jitter: o.jitter,
      absentTtlSeconds: o.absentTtlSeconds,
      staleWhileRevalidate: o.staleWhileRevalidate,
      softTimeoutMs: o.softTimeoutMs,
      hardTimeoutMs: o.hardTimeoutMs,
      backgroundCompletion: o.backgroundCompletion,
      eagerRefresh: o.eagerRefresh,
      failSafeBackoffMs: o.failSafeBackoffMs,
      lease: lease === undefined ? undefined : { ttlMs: lease.ttlMs ?? Math.max(5000, o.hardTimeoutMs ?? 0), waitMs: lease.waitMs },
    };
  });

const callSpec = options(
  {
    ttlSeconds: (v, p) => (v === undefined ? undefined : freshTtl(v, p)),
    graceSeconds: (v, p) => (v === undefined ? undefined : grace(v, p)),
    absentTtlSeconds: (v, p) => (v === undefined ? undefined : absentTtl(v, p)),
    softTimeoutMs: (v, p) => (v === undefined ? undefined : milliseconds(v, p)),
    hardTimeoutMs: (v, p) => (v === undefined ? undefined : milliseconds(v, p)),
    forceFresh: optional(boolean()),
    tags: optional(tagList(true)),
  } satisfies ShapeOf<LoadCallOptions>,
  { expected: "an object like { ttlSeconds: 60 } or nothing", name: "load options" },
);

/** The policy of one call: `base` (the accessor's, made once) when the call passes no options, else the call's over it, checked. */
export function loadPolicyOf(base: LoadPolicy, call: unknown, writtenAt: boolean): LoadPolicy {
  if (call === undefined) return base; // the hot path
  const o = callSpec(call, "load options");
  const policy: LoadPolicy = {
    ...base,
    ttlSeconds: o.ttlSeconds ?? base.ttlSeconds,
    graceSeconds: o.graceSeconds ?? base.graceSeconds,
    absentTtlSeconds: o.absentTtlSeconds ?? base.absentTtlSeconds,
    softTimeoutMs: o.softTimeoutMs ?? base.softTimeoutMs,
    hardTimeoutMs: o.hardTimeoutMs ?? base.hardTimeoutMs,
    forceFresh: o.forceFresh === true,
    tags: o.tags !== undefined && o.tags.length > 0 ? o.tags : undefined,
  };
  if (policy.graceSeconds > 0 && !writtenAt) throw new ConfigError("graceSeconds", "needs the accessor's writtenAt: true (freshness is read from the envelope's written-at)");
  if (policy.softTimeoutMs !== undefined && policy.hardTimeoutMs !== undefined && policy.softTimeoutMs >= policy.hardTimeoutMs) {
    throw new ConfigError("softTimeoutMs", `${policy.softTimeoutMs} is not below hardTimeoutMs (${policy.hardTimeoutMs})`);
  }
  return policy;
}
