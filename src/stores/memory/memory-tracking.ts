import type { FlushReason, InvalidationListener, InvalidationSource, InvalidationWatch } from "../../l1/invalidation-source.js";

/**
 * A MemoryStore's invalidations: every change of a key (a write, a delete,
 * an expired key dropped when next touched) tells the L1s that watch its
 * prefix at once, in the same call. Always live; `flush` lets a test play
 * a lost connection.
 */
export class MemoryTracking implements InvalidationSource {
  readonly description = "memory";
  private readonly watchers = new Set<{ prefix: string; listener: InvalidationListener }>();
  private connected = true;

  watch(prefix: string, listener: InvalidationListener): InvalidationWatch {
    const watcher = { prefix, listener };
    this.watchers.add(watcher);
    const self = this;
    return {
      get live() {
        return self.connected && self.watchers.has(watcher);
      },
      ready: async () => this.connected && this.watchers.has(watcher),
      close: () => void this.watchers.delete(watcher),
    };
  }

  /** `key` changed: drop it from every L1 watching its prefix. */
  changed(key: string): void {
    for (const w of this.watchers) if (key.startsWith(w.prefix)) w.listener.invalidate([key]);
  }

  /** Plays what a Redis store does when tracking is lost (`live` false until `reconnect`) or the server flushed: every L1 drops everything. */
  flush(reason: FlushReason, live = true): void {
    this.connected = live;
    for (const w of this.watchers) w.listener.flush(reason);
  }

  /** Tracking is live again after `flush(reason, false)`. */
  reconnect(): void {
    this.connected = true;
  }
}

/** The store's key map, telling `tracking` of every change. */
export class TrackedSlots<V> extends Map<string, V> {
  constructor(private readonly tracking: MemoryTracking) {
    super();
  }

  override set(key: string, value: V): this {
    super.set(key, value);
    this.tracking?.changed(key);
    return this;
  }

  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.tracking.changed(key);
    return had;
  }
}
