// What a V8 heap snapshot says an object holds: the self sizes of every
// heap object reachable from it, stopping at what V8 shares between objects
// (hidden classes, code, closures, contexts, prototypes). Used by the l1
// suite to measure an L1's bookkeeping per entry exactly, beside the
// heapUsed deltas (which move with the garbage collector's timing).
import { getHeapSnapshot } from "node:v8";

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]]; readonly edge_fields: string[]; readonly edge_types: [string[]] } };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

/** Property names never followed: the way to shared metadata, not to what an object holds. */
const SKIPPED_PROPERTIES = new Set(["__proto__", "constructor", "prototype"]);
/** Node types counted and followed no further: shared by every object of a kind, or code. */
const SHARED_TYPES = new Set(["code", "closure", "hidden", "synthetic", "native"]);

/** A heap snapshot of this process, parsed. */
export async function takeSnapshot(): Promise<Snapshot> {
  const chunks: string[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8"));
  return JSON.parse(chunks.join("")) as Snapshot;
}

/**
 * For every object whose constructor is named `rootName`: the bytes reachable
 * from it (its own included, minus `minus(path)` for the nodes on a path of
 * edge names the caller leaves out), the largest such total. Array buffers'
 * backing stores are counted (their `native` node is followed once).
 */
export function reachableBytes(snap: Snapshot, rootName: string, leftOut: (path: string) => boolean = () => false): number {
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const [nodeTypes] = meta.node_types;
  const [edgeTypes] = meta.edge_types;
  const iType = meta.node_fields.indexOf("type");
  const iName = meta.node_fields.indexOf("name");
  const iSize = meta.node_fields.indexOf("self_size");
  const iEdges = meta.node_fields.indexOf("edge_count");
  const eType = meta.edge_fields.indexOf("type");
  const eName = meta.edge_fields.indexOf("name_or_index");
  const eTo = meta.edge_fields.indexOf("to_node");
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  for (let i = 0, e = 0; i < count; i++) {
    firstEdge[i] = e;
    e += nodes[i * nf + iEdges] as number;
    firstEdge[i + 1] = e;
  }
  const typeOf = (i: number): string => nodeTypes[nodes[i * nf + iType] as number] as string;
  const nameOf = (i: number): string => strings[nodes[i * nf + iName] as number] as string;
  let best = 0;
  for (let root = 0; root < count; root++) {
    if (typeOf(root) !== "object" || nameOf(root) !== rootName) continue;
    const seen = new Set<number>([root]);
    const queue: [number, string][] = [[root, ""]];
    let total = 0;
    while (queue.length > 0) {
      const [i, path] = queue.pop() as [number, string];
      if (!leftOut(path)) total += nodes[i * nf + iSize] as number;
      const type = typeOf(i);
      if (i !== root && (SHARED_TYPES.has(type) || nameOf(i).startsWith("system / Map"))) continue;
      for (let k = firstEdge[i] as number; k < (firstEdge[i + 1] as number); k++) {
        const b = k * ef;
        const edgeType = edgeTypes[edges[b + eType] as number] as string;
        if (edgeType === "weak" || edgeType === "context" || edgeType === "shortcut") continue;
        const name = edgeType === "element" || edgeType === "hidden" ? "[]" : (strings[edges[b + eName] as number] as string);
        // An object's hidden class (its "map" internal edge) is shared by every object of its shape.
        if ((edgeType === "internal" && name === "map") || SKIPPED_PROPERTIES.has(name)) continue;
        const j = (edges[b + eTo] as number) / nf;
        if (seen.has(j)) continue;
        seen.add(j);
        queue.push([j, path === "" ? name : `${path}.${name}`]);
      }
    }
    best = Math.max(best, total);
  }
  return best;
}
