/** Counters of a bulk operation, per outcome, with the reasons behind skips and failures and a few example keys. */
export interface OutcomeCounts<O extends string> {
  readonly counts: Record<O, number>;
  /** `"<outcome>: <reason>"` → keys. */
  readonly reasons: Record<string, number>;
  /** Up to 5 keys per reason, to look at with `protocache inspect`. */
  readonly examples: Record<string, string[]>;
}

const examplesPerReason = 5;

/** Collects one batch's outcomes; merged into the operation's counters only when the batch completed. */
export class BatchTally<O extends string> {
  private readonly counts = new Map<O, number>();
  private readonly reasons = new Map<string, { n: number; keys: string[] }>();
  private readonly bySchema = new Map<number, number>();

  add(outcome: O, reason?: string, key?: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
    if (reason === undefined) return;
    const label = `${outcome}: ${reason}`;
    const r = this.reasons.get(label) ?? { n: 0, keys: [] };
    r.n++;
    if (key !== undefined && r.keys.length < examplesPerReason) r.keys.push(key);
    this.reasons.set(label, r);
  }

  /** Counts a key per schema ID (e.g. which revision a migrated entry came from). */
  schema(id: number): void {
    this.bySchema.set(id, (this.bySchema.get(id) ?? 0) + 1);
  }

  /** Adds this batch to the running counters. */
  mergeInto(into: OutcomeCounts<O> & { bySchemaId: Record<string, number> }): void {
    for (const [o, n] of this.counts) into.counts[o] += n;
    for (const [label, r] of this.reasons) {
      into.reasons[label] = (into.reasons[label] ?? 0) + r.n;
      const kept = (into.examples[label] ??= []);
      for (const k of r.keys) if (kept.length < examplesPerReason) kept.push(k);
    }
    for (const [id, n] of this.bySchema) {
      const hex = `0x${id.toString(16).padStart(8, "0")}`;
      into.bySchemaId[hex] = (into.bySchemaId[hex] ?? 0) + n;
    }
  }

  /** Per-outcome totals of this batch (for metrics). */
  entries(): [O, number][] {
    return [...this.counts];
  }
}
