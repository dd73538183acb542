/**
 * Where a decoded message keeps the fields its reader did not know (written
 * by a newer revision): their exact bytes (tag and value, in wire order) in
 * one `Uint8Array` under this symbol. Encoders write them back after the
 * known fields, so an older writer never strips a newer writer's fields.
 *
 * A symbol, not a string property: it is not part of ts-proto's interfaces,
 * `JSON.stringify` skips it, and object spread (`{ ...user, name }`) copies
 * it, so an edited copy keeps the fields too. `Symbol.for` makes two copies
 * of the runtime agree on it.
 */
export const unknownFields: unique symbol = Symbol.for("protocache.unknownFields") as never;

/** A message value that may carry unknown fields. */
export interface WithUnknownFields {
  [unknownFields]?: Uint8Array;
}

/** The unknown fields kept on a decoded message (tag and value bytes, in wire order), if any. */
export function unknownFieldsOf(message: object): Uint8Array | undefined {
  return (message as WithUnknownFields)[unknownFields];
}

/**
 * Byte ranges of unknown fields seen during one decode, grouped per owning
 * message only when the decode ends: one allocation per message that has
 * unknown fields, whatever their number, and adjacent fields share a range.
 */
export class UnknownSpans {
  private owners: object[] = [];
  private bounds: number[] = [];

  /** Records bytes `start..end` as unknown fields of `owner`, extending the last range when adjacent. */
  add(owner: object, start: number, end: number): void {
    const n = this.owners.length;
    if (n !== 0 && this.owners[n - 1] === owner && this.bounds[2 * n - 1] === start) {
      this.bounds[2 * n - 1] = end;
      return;
    }
    this.owners.push(owner);
    this.bounds.push(start, end);
  }

  get size(): number {
    return this.owners.length;
  }

  /** Copies every recorded range out of `buf` into its owner (after bytes it already had). */
  flush(buf: Buffer): void {
    const owners = this.owners;
    const bounds = this.bounds;
    const totals = new Map<object, number>();
    for (let i = 0; i < owners.length; i++) {
      const o = owners[i] as object;
      totals.set(o, (totals.get(o) ?? 0) + (bounds[2 * i + 1] as number) - (bounds[2 * i] as number));
    }
    const fill = new Map<object, { bytes: Uint8Array; at: number }>();
    for (const [o, total] of totals) {
      const before = (o as WithUnknownFields)[unknownFields];
      const bytes = new Uint8Array((before?.length ?? 0) + total);
      if (before !== undefined) bytes.set(before);
      fill.set(o, { bytes, at: before?.length ?? 0 });
    }
    for (let i = 0; i < owners.length; i++) {
      const target = fill.get(owners[i] as object) as { bytes: Uint8Array; at: number };
      const start = bounds[2 * i] as number;
      const end = bounds[2 * i + 1] as number;
      buf.copy(target.bytes, target.at, start, end);
      target.at += end - start;
    }
    for (const [o, { bytes }] of fill) (o as WithUnknownFields)[unknownFields] = bytes;
    this.clear();
  }

  /** Forgets every range (and the owners, so they can be collected). */
  clear(): void {
    if (this.owners.length > 4096) {
      this.owners = [];
      this.bounds = [];
    } else {
      this.owners.length = 0;
      this.bounds.length = 0;
    }
  }
}
