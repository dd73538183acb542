import { Writer } from "../codec/writer.js";
import { encodeEnvelope, type EnvelopeWriteOptions, type Stamp } from "../envelope/encode.js";
import { KeyMismatchError, ProtocacheError, UpgradeError } from "../errors.js";
import type { StoreWrite, WriteGuard } from "../stores/store.js";
import { Slice, type CallBudget } from "./call-budget.js";
import type { Entity } from "./entity.js";
import type { KeySpace, PreviousSide } from "./key-space.js";
import type { Maintenance } from "./maintenance.js";
import type { ResolvedOptions } from "./options.js";
import { asStoreError, type Outcomes } from "./outcomes.js";
import { checkedResult, interpret, keyFieldsMatch, valueKeyOf, type Interpretation } from "./read.js";
import type { StoreCalls } from "./store-calls.js";

const writer = new Writer();

/** What {@link Transitions} works with: the accessor's other parts. */
export interface TransitionParts<T, K> {
  readonly entity: Entity<T, K>;
  readonly options: ResolvedOptions<T>;
  readonly keys: KeySpace<T, K>;
  readonly io: StoreCalls;
  readonly outcomes: Outcomes;
  readonly maintenance: Maintenance<T>;
  readonly envelope: EnvelopeWriteOptions;
  readonly guard: WriteGuard | undefined;
  readonly encode: (value: T, key: string | undefined, stamp?: Stamp) => Buffer;
}

/**
 * Where an accessor finds data its own keys do not have yet, and keeps
 * older readers served: read-through of the previous major (`migrates_from`)
 * and adoption of a legacy key space on a miss, and dual-write of the
 * previous major's entries. Built only for an accessor that has one of
 * them ({@link transitionsOf}).
 */
export class Transitions<T, K> {
  private readonly previous: PreviousSide<T, K> | undefined;

  constructor(private readonly p: TransitionParts<T, K>) {
    this.previous = p.options.previousMajor === "off" ? undefined : p.keys.previous;
  }

  /** True when a miss here may be found elsewhere: the previous major, or a legacy key space. */
  get readsElsewhere(): boolean {
    return this.previous !== undefined || this.p.options.legacy?.key !== undefined;
  }

  /**
   * Misses at this accessor's keys, looked up where older data lives: the
   * previous major's keys (read-through), then the legacy key space
   * (adoption), one batched read each. Returns a settled (counted)
   * interpretation per key, or undefined where nothing usable was found.
   */
  async fallback(fields: readonly K[], keys: readonly string[], budget?: CallBudget): Promise<(Interpretation<T> | undefined)[]> {
    const { io, outcomes } = this.p;
    const out: (Interpretation<T> | undefined)[] = keys.map(() => undefined);
    // A batch's reads are decoded in its slices, yielding between them as its own keys' are (src/accessor/call-budget.ts).
    const slice = budget?.slice ?? new Slice();
    const p = this.previous;
    if (p !== undefined) {
      const from = this.p.keys.mappedKeys(fields, (f) => this.p.keys.previousKeyOf(f), "previousKey", outcomes);
      const found = await io.readMany(from.map((k) => k ?? ""), "GET");
      await slice.map(found, (bytes, i) => {
        const source = from[i];
        if (source !== undefined && bytes instanceof Buffer) out[i] = this.withinCall(budget, () => this.readThrough(p, keys[i] as string, fields[i] as K, source, bytes, budget));
        else if (bytes instanceof Error) outcomes.report(asStoreError(bytes, "GET", source));
      });
    }
    const legacy = this.p.options.legacy;
    const todo = out.flatMap((seen, i) => (seen === undefined ? [i] : []));
    if (legacy?.key !== undefined && todo.length > 0) {
      const legacyKey = legacy.key;
      const from = this.p.keys.mappedKeys(todo.map((i) => fields[i] as K), (f) => this.p.keys.legacyKeyOf(legacyKey, f), "legacy.key", outcomes);
      const found = await io.readMany(from.map((k) => k ?? ""), "GET");
      await slice.map(found, (bytes, j) => {
        const i = todo[j] as number;
        const source = from[j];
        if (source !== undefined && bytes instanceof Buffer) out[i] = this.withinCall(budget, () => this.adopt(keys[i] as string, fields[i] as K, source, bytes, budget));
        else if (bytes instanceof Error) outcomes.report(asStoreError(bytes, "GET", source));
      });
    }
    return out;
  }

  /** A fallback read, unless its call's budget is spent: then not decoded, a counted over_budget miss. */
  private withinCall(budget: CallBudget | undefined, read: () => Interpretation<T> | undefined): Interpretation<T> | undefined {
    if (budget === undefined || !budget.spent) return read();
    this.p.outcomes.counter.read("over_budget", undefined);
    return budget.skip<T>();
  }

  /** Interprets within a call's budget when there is one (charging it), else within the read's own. */
  private within(budget: CallBudget | undefined, read: (limit?: number) => Interpretation<T>): Interpretation<T> {
    if (budget === undefined) return read();
    const limit = budget.next();
    return budget.charge(read(limit), limit);
  }

  /**
   * The keys a delete of `key` removes, older copies first (the legacy
   * key, the previous major's): a read-through or adoption racing the
   * delete then finds its source gone and undoes its copy, so nothing
   * deleted comes back.
   */
  deleteOrder(fields: K, key: string): string[] {
    const keys = [key];
    if (this.previous !== undefined) keys.unshift(this.p.keys.previousKeyOf(fields));
    const legacy = this.p.options.legacy;
    if (legacy?.key !== undefined) keys.unshift(this.p.keys.legacyKeyOf(legacy.key, fields));
    return keys;
  }

  /** Dual-write: the previous major's entries for `values`, written beside this major's (counted, never failing the write). */
  async dualWrite(values: readonly T[], ttlSeconds: number): Promise<void> {
    const p = this.p.keys.previous;
    if (p === undefined || this.p.options.previousMajor !== "dual-write") return;
    const { outcomes } = this.p;
    const counter = outcomes.counter;
    const toPrevious = p.migrations.toPrevious as (value: T) => unknown;
    const writes: StoreWrite[] = [];
    for (const value of values) {
      try {
        const old = checkedResult(toPrevious(value));
        const key = this.p.keys.keyIn(p.base, p.entity, old);
        writes.push({ key, value: encodeEnvelope(writer, p.entity.current.schemaId, old, p.entity.encode, this.p.envelope, Date.now()), ttlSeconds });
      } catch (error) {
        counter.write("dual_write_error");
        outcomes.report(error instanceof ProtocacheError ? error : new UpgradeError(this.p.entity.typeName, undefined, "toPrevious", error));
      }
    }
    if (writes.length === 0) return;
    const guard = this.p.guard === undefined ? undefined : { ...this.p.guard, knownIds: p.entity.registry.knownIds };
    const results = await this.p.io.writeMany(writes, guard);
    results.forEach((r, i) => {
      if (r === "written") counter.write("dual_written");
      else if (r === "guarded" || r === "invalidated") {
        counter.write("dual_write_guarded");
        if (r === "invalidated") counter.delete("guard_deleted");
      } else {
        counter.write("dual_write_error");
        outcomes.report(asStoreError(r, "SET", writes[i]?.key));
      }
    });
  }

  /**
   * A miss here found in the previous major: converted, returned, and copied
   * here in the background with its expiry; a `key_mismatch` miss when the
   * converted value's key fields are not `fields` (never copied).
   */
  private readThrough(p: PreviousSide<T, K>, key: string, fields: K, source: string, bytes: Buffer, budget?: CallBudget): Interpretation<T> | undefined {
    const { outcomes } = this.p;
    let seen = this.within(budget, (limit) => convertPrevious(this.p.entity, p, bytes, source, limit));
    if (seen.outcome === "read_through" && !keyFieldsMatch(this.p.entity.keyFields, seen.value, fields)) {
      const own = valueKeyOf(this.p.entity, seen.value as T, key, fields);
      seen = { ...seen, outcome: "key_mismatch", value: undefined, error: new KeyMismatchError(key, own.key, own.cause, "entry") };
    }
    let next: Buffer | undefined;
    if (seen.outcome === "read_through") {
      try {
        // The previous major's written-at and tags go with the value: a read-through changes neither its age nor what invalidates it.
        next = this.p.encode(seen.value as T, key, seen.header);
      } catch (error) {
        seen = { ...seen, outcome: "upgrade_failed", value: undefined, error: new UpgradeError(this.p.entity.typeName, source, "fromPrevious", error) };
      }
    }
    if (seen.outcome !== "read_through" && seen.outcome !== "upgrade_failed" && seen.outcome !== "key_mismatch" && seen.outcome !== "over_budget") {
      // Nothing usable in the previous major (a miss there too): reported if damaged, counted as this read's miss.
      if (seen.error instanceof ProtocacheError) outcomes.report(seen.error);
      return undefined;
    }
    outcomes.counter.read(seen.outcome, seen.header?.schemaId);
    if (seen.error instanceof ProtocacheError) outcomes.report(seen.error);
    if (next !== undefined) this.p.maintenance.carry(source, bytes, key, next, false, ["migrated", "migrate_skipped", "migrate_error"]);
    return seen;
  }

  /** A miss here found in the legacy key space: converted, returned, and (with `adopt`) written here with its expiry. */
  private adopt(key: string, fields: K, source: string, bytes: Buffer, budget?: CallBudget): Interpretation<T> | undefined {
    const { outcomes } = this.p;
    const seen = this.within(budget, (limit) => interpret(this.p.entity, this.p.options, bytes, source, fields, limit));
    if (seen.outcome !== "legacy" && seen.outcome !== "legacy_rejected" && seen.outcome !== "over_budget") {
      // Not a legacy value (the reader declined, or an envelope sits at the old key): a miss here.
      if (seen.error instanceof ProtocacheError) outcomes.report(seen.error);
      return undefined;
    }
    outcomes.counter.read(seen.outcome, undefined);
    if (seen.error instanceof ProtocacheError) outcomes.report(seen.error);
    const legacy = this.p.options.legacy;
    if (seen.envelope !== undefined && legacy?.adopt === true) {
      this.p.maintenance.carry(source, bytes, key, seen.envelope, legacy.deleteOld, ["adopted", "adopt_skipped", "adopt_error"]);
    }
    return seen;
  }
}

/** The transitions of an accessor, or undefined when it has none (no previous major in use, no legacy key space, no dual-write). */
export function transitionsOf<T, K>(parts: TransitionParts<T, K>): Transitions<T, K> | undefined {
  const uses = (parts.keys.previous !== undefined && parts.options.previousMajor !== "off") || parts.options.legacy?.key !== undefined;
  return uses ? new Transitions(parts) : undefined;
}

/** The previous major's entry → this major's value (the previous entity's decision table, then fromPrevious). */
export function convertPrevious<T, K>(entity: Entity<T, K>, p: PreviousSide<T, K>, bytes: Buffer, key: string | undefined, limit?: number): Interpretation<T> {
  const seen = interpret(p.entity, p.options, bytes, key, undefined, limit);
  if (seen.value === undefined) return { ...seen, value: undefined, revision: undefined };
  try {
    const value = checkedResult((p.migrations.fromPrevious as (old: unknown) => T)(seen.value));
    return { outcome: "read_through", value, header: seen.header, revision: undefined, error: undefined, work: seen.work ?? 0 };
  } catch (error) {
    return { outcome: "upgrade_failed", value: undefined, header: seen.header, revision: undefined, error: new UpgradeError(entity.typeName, key, "fromPrevious", error), work: seen.work ?? 0 };
  }
}
