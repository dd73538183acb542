import { ConfigError, InvalidationStateError } from "../errors.js";
import type { EnvelopeHeader } from "../envelope/header.js";
import type { InvalidationSource } from "../l1/invalidation-source.js";
import { scopeKeyOf, tagKeyOf } from "../invalidation/tag-keys.js";
import { tagStatesOf, type TagStates } from "../invalidation/tag-states.js";
import { stateWrites } from "../invalidation/invalidate.js";
import type { CacheStore } from "../stores/store.js";
import { tagList } from "../validation/tags.js";
import type { Looked } from "./loading.js";
import { asStoreError, type Outcomes } from "./outcomes.js";
import type { Interpretation } from "./read.js";
import type { StoreCalls } from "./store-calls.js";

/** A state as one check knows it: epoch ms (`-Infinity`: never invalidated), undefined (damaged), or the Error of a failed read. */
type Known = number | undefined | Error;

const tagsCheck = tagList();

/**
 * The tags and `clear()` of one accessor (docs/invalidation.md): a value
 * read is served only if it was written after the last invalidation of its
 * key space (with the `invalidation` option) and of each of its tags.
 * States come from the store's TagStates (held in process, kept valid by
 * tracking); a check that needs one it does not hold reads it from Redis.
 * Checks run per caller, after any shared read, so a caller never gets a
 * value an invalidation it could know of had retired.
 */
export class Invalidation<T> {
  private readonly states: TagStates;
  private readonly release: () => void;
  /** The state key of the key space (what `clear()` sets), or undefined when only tags are checked (an accessor without the option reading a tagged entry). */
  readonly scopeKey: string | undefined;
  /** Values checked valid, by the states' version then: an L1 hit needs no new check while nothing changed. */
  private readonly verified = new WeakMap<object, number>();
  private readonly tagKeys = new Map<string, string>();
  private damageReported = false;

  constructor(
    private readonly prefix: string,
    base: string,
    scoped: boolean,
    private readonly skewMs: number,
    store: CacheStore,
    tracking: InvalidationSource | undefined,
    private readonly io: StoreCalls,
    private readonly outcomes: Outcomes,
  ) {
    const handle = tagStatesOf(store, prefix, tracking);
    this.states = handle.states;
    this.release = handle.release;
    this.scopeKey = scoped ? scopeKeyOf(prefix, base) : undefined;
  }

  /** True when `seen` must be checked: a value or absent marker, tagged or (with the option) any. */
  private needs(seen: Interpretation<T> | undefined): seen is Interpretation<T> {
    if (seen === undefined || (seen.value === undefined && seen.outcome !== "absent")) return false;
    return this.scopeKey !== undefined || seen.header?.tags !== undefined;
  }

  private tagKey(tag: string): string {
    let key = this.tagKeys.get(tag);
    if (key === undefined) {
      if (this.tagKeys.size >= 10_000) this.tagKeys.clear();
      this.tagKeys.set(tag, (key = tagKeyOf(this.prefix, tag)));
    }
    return key;
  }

  /** The state keys `seen` is checked against. */
  private keysOf(header: EnvelopeHeader | undefined): string[] {
    const keys = this.scopeKey === undefined ? [] : [this.scopeKey];
    for (const tag of header?.tags ?? []) keys.push(this.tagKey(tag));
    return keys;
  }

  /**
   * The verdict on `seen` from states `known` gives: true (serve it),
   * false (an invalidation retired it, or a state is damaged or unreadable),
   * or undefined (a state is not known).
   */
  private judge(seen: Interpretation<T>, known: (key: string) => Known): boolean | undefined {
    // An entry without written-at (a legacy value, writtenAt: false) counts as written at 0: any invalidation retires it.
    const writtenAt = seen.header?.writtenAt ?? 0;
    // The key space's state, then each tag's, without building a list of keys: this runs on every hit.
    let verdict = this.scopeKey === undefined ? true : this.against(known(this.scopeKey), writtenAt);
    const tags = seen.header?.tags;
    if (tags !== undefined) {
      for (let i = 0; i < tags.length && verdict !== false; i++) {
        const next = this.against(known(this.tagKey(tags[i] as string)), writtenAt);
        verdict = next === false ? false : next === undefined ? undefined : verdict;
      }
    }
    return verdict;
  }

  /** One state's verdict on an entry written at `writtenAt`: undefined when the state is not known. */
  private against(state: Known, writtenAt: number): boolean | undefined {
    if (state === undefined) return undefined;
    return typeof state === "number" && writtenAt > state + this.skewMs;
  }

  /** The L1 hit path: true when the held `seen` may be served at once; false or undefined send the read to Redis. */
  heldValid(seen: Interpretation<T>): boolean | undefined {
    if (!this.needs(seen)) return true;
    const states = this.states;
    if (states.live && this.verified.get(seen) === states.version) return true;
    const version = states.version;
    const verdict = this.judge(seen, (key) => states.held(key));
    if (verdict === true && states.live) this.verified.set(seen, version);
    if (verdict === false) this.outcomes.counter.invalidation("invalidated");
    return verdict;
  }

  /** `looked` as this caller may have it: a miss when an invalidation retired its value. */
  check(looked: Looked<T>): Looked<T> | Promise<Looked<T>> {
    const seen = looked.seen;
    if (!this.needs(seen)) return looked;
    const verdict = this.judge(seen, (key) => this.states.held(key));
    if (verdict === true) return looked;
    if (verdict === false) return this.refused(looked, false);
    return this.checkMany([looked]).then((r) => r.looked[0] as Looked<T>);
  }

  /** Each of `looked` as its caller may have it (one read of every state not held); `refused` lists the positions an invalidation retired. */
  async checkMany(looked: readonly Looked<T>[]): Promise<{ looked: Looked<T>[]; refused: number[] }> {
    const out = looked.slice();
    const refused: number[] = [];
    const pending: number[] = [];
    const missing = new Set<string>();
    looked.forEach((l, i) => {
      const seen = l.seen;
      if (!this.needs(seen)) return;
      const verdict = this.judge(seen, (key) => {
        const state = this.states.held(key);
        if (state === undefined) missing.add(key);
        return state;
      });
      if (verdict === true) return;
      if (verdict === false) {
        out[i] = this.refused(l, false);
        refused.push(i);
      } else pending.push(i);
    });
    if (pending.length === 0) return { looked: out, refused };
    const keys = [...missing];
    const read = await this.states.read(keys, (k) => this.io.readMany(k, "MGET"));
    const known = new Map<string, Known>(keys.map((k, i) => [k, read[i]]));
    let failed = false;
    read.forEach((state, i) => {
      if (state instanceof Error) failed = true;
      else if (state === undefined) this.damaged(keys[i] as string);
    });
    if (failed) {
      this.outcomes.counter.invalidation("state_error");
      // Counted and reported as a failed read (rethrown under onStoreError "throw").
      this.outcomes.readFailed(read.find((s) => s instanceof Error), keys[0]);
    }
    for (const i of pending) {
      const l = looked[i] as Looked<T>;
      const verdict = this.judge(l.seen as Interpretation<T>, (key) => (known.has(key) ? known.get(key) : this.states.held(key)));
      if (verdict === true) continue;
      const unreadable = this.keysOf(l.seen?.header).some((key) => known.get(key) instanceof Error);
      out[i] = this.refused(l, unreadable);
      refused.push(i);
    }
    return { looked: out, refused };
  }

  /** A value an invalidation retired (or whose states could not be read): a counted miss. */
  private refused(looked: Looked<T>, failed: boolean): Looked<T> {
    if (!failed) this.outcomes.counter.invalidation("invalidated");
    return { seen: undefined, failed: failed || looked.failed };
  }

  private damaged(key: string): void {
    this.outcomes.counter.invalidation("state_error");
    if (this.damageReported) return;
    this.damageReported = true;
    this.outcomes.report(new InvalidationStateError(key));
  }

  /** `invalidateTags` of the accessor: every entry carrying any of `tags` becomes a miss, in this process at once. */
  async invalidateTags(tags: readonly string[]): Promise<void> {
    const list = tagsCheck(tags, "tags");
    await this.write(list.map((t) => this.tagKey(t)));
    this.outcomes.counter.invalidation("tags_invalidated", list.length);
  }

  /** `clear()`: every entry of the key space written before now becomes a miss. */
  async clear(): Promise<void> {
    if (this.scopeKey === undefined) throw new ConfigError("invalidation", "clear() needs the accessor's invalidation option (every instance reading the key space needs it)");
    await this.write([this.scopeKey]);
    this.outcomes.counter.invalidation("cleared");
  }

  /** Sets states to now; rejects with a StoreError when any could not be written (an invalidation must never be lost silently). */
  private async write(keys: readonly string[]): Promise<void> {
    this.states.changed(keys);
    try {
      const writes = stateWrites(keys, Date.now(), 0);
      const results = await this.io.writeMany(writes, undefined);
      const i = results.findIndex((r) => r instanceof Error);
      if (i >= 0) {
        const failure = asStoreError(results[i], "SET", writes[i]?.key);
        this.outcomes.report(failure);
        throw failure;
      }
    } finally {
      this.states.changed(keys);
    }
  }

  /** Resolves true once the held states are kept valid by tracking. */
  ready(timeoutMs: number): Promise<boolean> {
    return this.states.ready(timeoutMs);
  }

  close(): void {
    this.release();
  }
}
