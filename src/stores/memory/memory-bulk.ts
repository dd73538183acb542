import type { BulkStore, CreateItem, DeleteRule, DeleteTally, HeadTally, NodeInfo, ReplaceItem, ReplaceResult, ScanNode, ScanPage, StoredValue, TallyPage } from "../bulk.js";
import { classifyHead, ruleSelects } from "../head-class.js";

/** What {@link MemoryBulk} may do to a MemoryStore's entries. */
export interface MemoryEntries {
  /** Every live key. */
  keys(): string[];
  /** The live entry of a key: its bytes and expiry (epoch ms, Infinity for none). */
  entry(key: string): { readonly value: Buffer; readonly expiresAt: number } | undefined;
  put(key: string, value: Buffer, expiresAt: number): void;
  remove(key: string): void;
}

const node: ScanNode = { id: "memory" };
const runId = `memory-${process.pid}-${Date.now()}`;

/** Redis's glob (`* ? [...] \`) as a RegExp. */
export function globToRegExp(glob: string): RegExp {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*") out += "[\\s\\S]*";
    else if (c === "?") out += "[\\s\\S]";
    else if (c === "\\" && i + 1 < glob.length) out += escapeRegExp(glob[++i] as string);
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) out += "\\[";
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, "\\\\");
        out += body.startsWith("^") ? `[^${body.slice(1)}]` : `[${body}]`;
        i = end;
      }
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * The bulk primitives of MemoryStore, with Redis's semantics: one "server",
 * SCAN in key order (a cursor is the last key returned, so every key present
 * for the whole walk is returned), atomic compare-and-set and cleanup.
 */
export class MemoryBulk implements BulkStore {
  constructor(private readonly entries: MemoryEntries) {}

  async nodes(): Promise<ScanNode[]> {
    return [node];
  }

  async describe(): Promise<NodeInfo> {
    return { runId, keys: this.entries.keys().length };
  }

  async scan(_node: ScanNode, cursor: string, match: string, count: number): Promise<ScanPage> {
    const after = cursor === "0" ? undefined : cursor.slice(1);
    const pattern = globToRegExp(match);
    const sorted = this.entries.keys().sort();
    const start = after === undefined ? 0 : sorted.findIndex((k) => k > after);
    if (start < 0) return { cursor: "0", keys: [], unreadable: 0 };
    const page = sorted.slice(start, start + count);
    const done = start + count >= sorted.length;
    return { cursor: done ? "0" : `m${page[page.length - 1] as string}`, keys: page.filter((k) => pattern.test(k)), unreadable: 0 };
  }

  async read(_node: ScanNode, keys: readonly string[], withExpiry: boolean): Promise<(StoredValue | null | Error)[]> {
    return keys.map((k) => {
      const e = this.entries.entry(k);
      if (e === undefined) return null;
      return { value: Buffer.from(e.value), expireAt: withExpiry && e.expiresAt !== Infinity ? e.expiresAt : undefined };
    });
  }

  lookup(keys: readonly string[], withExpiry: boolean): Promise<(StoredValue | null | Error)[]> {
    return this.read(node, keys, withExpiry);
  }

  async tally(_node: ScanNode, keys: readonly string[]): Promise<HeadTally[]> {
    const groups = new Map<string, { kind: HeadTally["kind"]; schemaId: number | undefined; count: number; bytes: number }>();
    for (const k of keys) {
      const value = this.entries.entry(k)?.value;
      const { kind, schemaId } = classifyHead(value);
      const id = `${kind}:${schemaId ?? ""}`;
      const g = groups.get(id) ?? { kind, schemaId, count: 0, bytes: 0 };
      g.count++;
      g.bytes += value?.length ?? 0;
      groups.set(id, g);
    }
    return [...groups.values()];
  }

  async tallyScan(node: ScanNode, cursor: string, match: string, count: number, namespace: string): Promise<TallyPage> {
    const page = await this.scan(node, cursor, match, count);
    const keys = page.keys.filter((k) => k.startsWith(namespace));
    return { cursor: page.cursor, keys: keys.length, tally: await this.tally(node, keys) };
  }

  async replace(_node: ScanNode, items: readonly ReplaceItem[]): Promise<(ReplaceResult | Error)[]> {
    return items.map((item) => {
      const e = this.entries.entry(item.key);
      if (e === undefined) return "absent";
      if (!e.value.equals(item.expected)) return "changed";
      this.entries.put(item.key, Buffer.from(item.value), e.expiresAt);
      return "replaced";
    });
  }

  async create(items: readonly CreateItem[]): Promise<("created" | "exists" | Error)[]> {
    return items.map((item) => {
      if (this.entries.entry(item.key) !== undefined) return "exists";
      this.entries.put(item.key, Buffer.from(item.value), item.expireAt ?? Infinity);
      return "created";
    });
  }

  async deleteWhere(_node: ScanNode, keys: readonly string[], rule: DeleteRule): Promise<DeleteTally> {
    let deleted = 0;
    let bytes = 0;
    for (const k of keys) {
      const value = this.entries.entry(k)?.value;
      const { kind, schemaId } = classifyHead(value);
      if (value !== undefined && ruleSelects(rule, kind, schemaId)) {
        this.entries.remove(k);
        deleted++;
        bytes += value.length;
      }
    }
    return { deleted, bytes };
  }
}
