import { ProtocacheError, RetryableBatchError, ServerUnreachableError, StoreError } from "../errors.js";
import { isReplyError, isTransientReply } from "../stores/redis/replies.js";
import type { BulkStore, ScanNode, ScanPage } from "../stores/bulk.js";
import { integer, optional, satisfies, text, type ShapeOf } from "../validation/index.js";
import { loadCheckpoint, saveCheckpoint, type NodeCursor } from "./checkpoint.js";
import { RateLimiter } from "./rate-limiter.js";

/** How far a walk is, for progress displays. */
export interface WalkProgress {
  /** Keys of the key space handled so far. */
  readonly scanned: number;
  /** Keys on the servers (DBSIZE at the start): what SCAN walks through, matching or not. */
  readonly serverKeys: number;
  /** Estimated share of the walk done, 0 to 1 (SCAN steps × COUNT over `serverKeys`; 1 when every server is done). */
  readonly fraction: number;
  readonly elapsedMs: number;
  /** Keys of the key space per second so far. */
  readonly keysPerSecond: number;
}

/** Options every walking operation shares. */
export interface WalkOptions {
  /** SCAN COUNT: keys examined per step and server. Default 500. */
  readonly count?: number;
  /** Keys per second at most, over all servers. Default: no limit. */
  readonly rate?: number;
  /** A JSON file recording per-server cursors and counters after each batch: an interrupted run resumes from it. */
  readonly checkpoint?: string;
  /** How long to keep retrying a server that cannot be reached (restart, failover) before giving up. Default 60000 ms. */
  readonly retryForMs?: number;
  /** Stop after this many keys (a sample). Default: the whole key space. */
  readonly limit?: number;
  /** Stops the walk between batches. */
  readonly signal?: AbortSignal;
}

/** What the walk keeps for the final report. */
export interface WalkTotals {
  /** Keys of the key space handled (each once per visit: SCAN may return a key twice). */
  scanned: number;
  /** Server walks started over because the server restarted (its cursor meant nothing any more). */
  rescans: number;
  /** Batches sent again after a failure. */
  retries: number;
  /** Keys whose names are not valid UTF-8, left alone. */
  unreadableKeys: number;
}

interface WalkSpec<S> {
  readonly bulk: BulkStore;
  readonly operation: string;
  readonly match: string;
  /** Every key handled starts with this; anything else SCAN returns is ignored (never touched). */
  readonly namespace: string;
  readonly options: WalkOptions;
  /** The counters: merged into after each successful batch, saved in checkpoints. */
  readonly stats: S & WalkTotals;
  /** Handles one batch and returns what to add to the counters; throws RetryableBatchError to have it sent again. */
  readonly batch?: (node: ScanNode, keys: string[]) => Promise<(stats: S & WalkTotals) => void>;
  /** Instead of SCAN plus `batch`: one step done on the server (SCAN included), returning the next cursor and the keys it handled. */
  readonly step?: (node: ScanNode, cursor: string, count: number) => Promise<{ cursor: string; keys: number; merge: (stats: S & WalkTotals) => void }>;
  readonly onProgress: ((progress: WalkProgress) => void) | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Errors the walk retries: the server was not reached, or answered that it cannot serve right now. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RetryableBatchError || isTransientReply(error)) return true;
  if (!(error instanceof Error) || isReplyError(error)) return false;
  // A bug or a bad argument is not cured by waiting; anything else from the client is a connection problem.
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError || error instanceof SyntaxError) return false;
  return !(error instanceof ProtocacheError) || error instanceof StoreError;
}

/**
 * The checks of the options every walking operation shares, for the
 * operations' specs (and the CLI's flags, which take the same ranges).
 */
export const walkOptionChecks = {
  count: optional(integer(1, 100_000)),
  rate: optional(integer(1, 10_000_000)),
  checkpoint: optional(text({ nonEmpty: true, expected: "a file path" })),
  retryForMs: optional(integer(1, 86_400_000)),
  limit: optional(integer(1, Number.MAX_SAFE_INTEGER, "a whole number >= 1")),
  signal: optional(satisfies<AbortSignal>((v) => v instanceof AbortSignal, "an AbortSignal")),
} as const satisfies ShapeOf<WalkOptions>;

/**
 * Walks a key space on every server (Cluster masters in parallel, each
 * with its own SCAN cursor), handing each page of keys to `spec.batch`.
 * A batch that fails because a server went away is sent again once the
 * server answers; when its run ID changed (a restart) its walk starts over
 * from cursor 0, since an old cursor means nothing to a new process and
 * every operation is idempotent. Counters are merged only for batches that
 * completed, so every key is accounted for exactly once per visit.
 */
export async function walk<S>(spec: WalkSpec<S>): Promise<void> {
  const { bulk, options, stats } = spec;
  const count = options.count ?? 500;
  const retryForMs = options.retryForMs ?? 60_000;
  const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate);
  const started = performance.now();
  let resumed = options.checkpoint === undefined ? undefined : await loadCheckpoint<S & WalkTotals>(options.checkpoint, spec.operation, spec.match);
  // A finished walk's checkpoint (every server done) starts a new pass: running the same command again is how
  // leftovers are handled (docs/operations.md), and replaying the old run's report would say work was done that was not.
  if (resumed !== undefined && Object.keys(resumed.nodes).length > 0 && Object.values(resumed.nodes).every((c) => c.done)) resumed = undefined;
  if (resumed !== undefined) Object.assign(stats, resumed.stats);
  const scannedBefore = stats.scanned;
  const cursors = new Map<string, NodeCursor>(Object.entries(resumed?.nodes ?? {}));
  const nodes = await bulk.nodes();
  const infos = await Promise.all(nodes.map((n) => bulk.describe(n)));
  const serverKeys = infos.reduce((n, i) => n + i.keys, 0);
  let examined = 0;
  let lastSave = 0;

  const progress = (): void => {
    if (spec.onProgress === undefined) return;
    const done = [...cursors.values()].filter((c) => c.done).length === nodes.length;
    const elapsedMs = performance.now() - started;
    spec.onProgress({
      scanned: stats.scanned,
      serverKeys,
      fraction: done ? 1 : serverKeys === 0 ? 0 : Math.min(0.99, examined / serverKeys),
      elapsedMs,
      keysPerSecond: elapsedMs === 0 ? 0 : ((stats.scanned - scannedBefore) * 1000) / elapsedMs,
    });
  };
  const save = async (force: boolean): Promise<void> => {
    if (options.checkpoint === undefined || (!force && performance.now() - lastSave < 250)) return;
    lastSave = performance.now();
    await saveCheckpoint(options.checkpoint, {
      protocacheCheckpoint: 1,
      operation: spec.operation,
      match: spec.match,
      nodes: Object.fromEntries(cursors),
      stats,
      savedAt: new Date().toISOString(),
    });
  };
  const limitReached = (): boolean => options.limit !== undefined && stats.scanned >= options.limit;

  /** Waits until the server with this id answers again; returns it (fresh) and its run ID. */
  const reconnect = async (id: string, since: number, cause: unknown): Promise<{ node: ScanNode; runId: string }> => {
    let pause = 50;
    for (;;) {
      if (performance.now() - since > retryForMs) {
        throw new ServerUnreachableError(spec.operation, id, retryForMs, cause);
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 1000);
      try {
        const node = (await bulk.nodes()).find((n) => n.id === id);
        if (node !== undefined) return { node, runId: (await bulk.describe(node)).runId };
      } catch {
        // still down
      }
    }
  };

  const walkNode = async (first: ScanNode, runId: string): Promise<void> => {
    let node = first;
    const known = cursors.get(node.id);
    let cursor = known !== undefined && known.runId === runId ? known.cursor : "0";
    if (known?.done === true && known.runId === runId) return;
    if (known !== undefined && known.runId !== runId) stats.rescans++;
    cursors.set(node.id, { cursor, runId, done: false });
    // The next SCAN page is asked for while the current batch is handled: one round trip less per batch.
    let prefetched: { cursor: string; page: Promise<ScanPage> } | undefined;
    while (!limitReached()) {
      if (options.signal?.aborted === true) return;
      let failingSince: number | undefined;
      for (;;) {
        try {
          if (spec.step !== undefined) {
            const done = await spec.step(node, cursor, count);
            done.merge(stats);
            stats.scanned += done.keys;
            if (limiter !== undefined && done.keys > 0) await limiter.take(done.keys);
            cursor = done.cursor;
          } else {
            const page = await (prefetched?.cursor === cursor ? prefetched.page : bulk.scan(node, cursor, spec.match, count));
            prefetched = undefined;
            if (page.cursor !== "0") {
              const next = bulk.scan(node, page.cursor, spec.match, count);
              next.catch(() => {}); // awaited (and its failure handled) on the next turn, or dropped
              prefetched = { cursor: page.cursor, page: next };
            }
            const keys = page.keys.filter((k) => k.startsWith(spec.namespace));
            if (limiter !== undefined && keys.length > 0) await limiter.take(keys.length);
            const merge = keys.length === 0 || spec.batch === undefined ? undefined : await spec.batch(node, keys);
            merge?.(stats);
            stats.scanned += keys.length;
            stats.unreadableKeys += page.unreadable;
            cursor = page.cursor;
          }
          examined += count;
          break;
        } catch (error) {
          prefetched = undefined;
          if (!isRetryable(error)) throw error;
          failingSince ??= performance.now();
          stats.retries++;
          const back = await reconnect(node.id, failingSince, error);
          node = back.node;
          if (back.runId !== runId) {
            runId = back.runId;
            cursor = "0";
            stats.rescans++;
          }
        }
      }
      cursors.set(node.id, { cursor, runId, done: cursor === "0" });
      await save(false);
      progress();
      if (cursor === "0") return;
    }
  };

  await Promise.all(nodes.map((n, i) => walkNode(n, (infos[i] as { runId: string }).runId)));
  await save(true);
  progress();
}
