import type { FlushReason, InvalidationListener, InvalidationSource, InvalidationWatch } from "./invalidation-source.js";

/** What one tracking connection tells its source. */
export interface TrackingConnectionEvents {
  /** A message on `__redis__:invalidate`: the keys that changed, or null when the server says everything did. */
  keys(keys: readonly (Buffer | string)[] | null): void;
  /** The connection closed or failed; it will not be used again. */
  down(error: Error | undefined): void;
}

/** One RESP2 connection to one server, opened by a driver for tracking only. */
export interface TrackingConnection {
  /** One command, before `subscribe` (CLIENT ID, CLIENT TRACKING). */
  command(args: readonly string[]): Promise<unknown>;
  /** Subscribes to `channel`; its messages reach `keys`. */
  subscribe(channel: string): Promise<void>;
  /** PING on the subscribed connection: the heartbeat. */
  ping(): Promise<unknown>;
  /** Closes the connection at once (no `down` after this). */
  close(): void;
}

/**
 * What tracking needs of one client library (src/stores/<client>/tracking-driver.ts):
 * the servers of the deployment and a connection of its own to each.
 */
export interface TrackingDriver {
  /** "ioredis", "node-redis". */
  readonly client: string;
  /** The client's own key prefix (ioredis `keyPrefix`), added to tracked prefixes and cut from invalidated keys. */
  readonly keyPrefix: string;
  /** `host:port` of the standalone server or of every Cluster master, asked afresh. */
  servers(): Promise<string[]>;
  /** Opens a new connection to `server` (RESP2, no automatic reconnect: the source reconnects). */
  connect(server: string, events: TrackingConnectionEvents): Promise<TrackingConnection>;
}

/** Settings of Redis tracking (the store's `tracking` option). */
export interface TrackingOptions {
  /** Milliseconds between heartbeats (PING on every tracking connection); a heartbeat unanswered for this long flushes L1. Default 1000. */
  readonly heartbeatMs?: number;
  /** Longest wait between reconnection attempts after a drop, in milliseconds (attempts back off from 50 ms). Default 2000. */
  readonly maxReconnectDelayMs?: number;
}

/** Counters of one tracking source, since creation. */
export interface TrackingStats {
  /** Times every server's tracking became confirmed (the first time and after each drop). */
  readonly connects: number;
  /** Times live tracking was lost (a drop, a missed heartbeat, a topology change): each flushed every L1 watching. */
  readonly drops: number;
  /** Invalidation messages received. */
  readonly messages: number;
  /** Keys invalidated by those messages. */
  readonly keys: number;
  /** Failed attempts to connect or to enable tracking (each retried with backoff). */
  readonly failures: number;
  /** The last failure's error, if any: why L1 is not live. */
  readonly lastError: Error | undefined;
}

const CHANNEL = "__redis__:invalidate";

/** The shortest set of prefixes that covers all of `prefixes` (Redis refuses overlapping BCAST prefixes on one client). */
export function coveringPrefixes(prefixes: Iterable<string>): string[] {
  const sorted = [...new Set(prefixes)].sort();
  const out: string[] = [];
  for (const p of sorted) if (!out.some((q) => p.startsWith(q))) out.push(p);
  return out;
}

/** The CLIENT TRACKING command that redirects BCAST invalidations of `prefixes` to connection `id` (itself). */
export function trackingCommand(id: number, prefixes: readonly string[]): string[] {
  return ["CLIENT", "TRACKING", "ON", "REDIRECT", String(id), "BCAST", ...prefixes.flatMap((p) => ["PREFIX", p])];
}

interface Watcher {
  readonly prefix: string;
  readonly listener: InvalidationListener;
  /** `live` as last computed, and the version of `covered` it was computed for (the hit path reads it on every L1 hit). */
  live: boolean;
  version: number;
}

/** One generation of connections: one per server, all tracking `prefixes`. */
interface Generation {
  readonly servers: readonly string[];
  readonly prefixes: readonly string[];
  readonly connections: TrackingConnection[];
  /** Set when it stops being current (replaced or dropped): later events of its connections are ignored. */
  retired: boolean;
  /** Replaced, still delivering what its servers sent before the new generation subscribed. */
  draining?: boolean;
}

/**
 * Invalidations by Redis's server-assisted client-side caching in BCAST
 * mode: one connection of its own per server (each Cluster master), each
 * `CLIENT TRACKING ON REDIRECT <itself> BCAST PREFIX …` for the watched
 * prefixes and subscribed to `__redis__:invalidate` (RESP2, so every client
 * library delivers it as a plain message). A drop, an unanswered heartbeat
 * or a change of the servers flushes every watching L1 and reconnects with
 * backoff; a new prefix opens a new generation of connections before the
 * old one closes, so nothing is missed and nothing is flushed. Connections
 * and timers are unref'd: tracking never keeps a process alive. See
 * docs/l1.md.
 */
export class RedisTracking implements InvalidationSource {
  readonly description: string;
  private readonly heartbeatMs: number;
  private readonly maxDelayMs: number;
  /** The longest a connection may take to connect, enable tracking and subscribe (and a replaced one to drain). */
  private readonly openTimeoutMs: number;
  private readonly watchers = new Set<Watcher>();
  private current: Generation | undefined;
  /** The prefixes the current generation covers while live; empty while not live. */
  private coveredList: readonly string[] = [];
  /** Bumped on every change of `covered`: what a watcher's cached `live` is checked against. */
  private version = 0;
  private syncing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private delayMs = 0;
  private beats = 0;
  private waiters = new Set<() => void>();
  private counts = { connects: 0, drops: 0, messages: 0, keys: 0, failures: 0 };
  private lastError: Error | undefined;

  constructor(
    private readonly driver: TrackingDriver,
    options: TrackingOptions = {},
  ) {
    this.description = driver.client;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.maxDelayMs = options.maxReconnectDelayMs ?? 2000;
    this.openTimeoutMs = Math.max(2 * this.heartbeatMs, 1000);
  }

  watch(prefix: string, listener: InvalidationListener): InvalidationWatch {
    const watcher: Watcher = { prefix: this.driver.keyPrefix + prefix, listener, live: false, version: -1 };
    this.watchers.add(watcher);
    this.sync();
    const self = this;
    return {
      get live() {
        if (watcher.version !== self.version) {
          watcher.live = self.watchers.has(watcher) && self.covers(watcher.prefix);
          watcher.version = self.version;
        }
        return watcher.live;
      },
      ready: (timeoutMs) => this.ready(watcher, timeoutMs),
      close: () => {
        this.watchers.delete(watcher);
        this.version += 1;
        if (this.watchers.size === 0) this.stop();
      },
    };
  }

  /** Counters since creation. */
  stats(): TrackingStats {
    return { ...this.counts, lastError: this.lastError };
  }

  /** Closes every connection and stops; watches stay registered but are never live again. */
  close(): void {
    this.watchers.clear();
    this.stop();
  }

  private get covered(): readonly string[] {
    return this.coveredList;
  }

  private set covered(prefixes: readonly string[]) {
    this.coveredList = prefixes;
    this.version += 1;
  }

  private covers(prefix: string): boolean {
    return this.covered.some((q) => prefix.startsWith(q));
  }

  private ready(watcher: Watcher, timeoutMs: number): Promise<boolean> {
    if (this.covers(watcher.prefix)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!this.covers(watcher.prefix) && this.watchers.has(watcher)) return;
        this.waiters.delete(check);
        clearTimeout(t);
        resolve(this.covers(watcher.prefix));
      };
      const t = setTimeout(() => {
        this.waiters.delete(check);
        resolve(false);
      }, timeoutMs);
      t.unref();
      this.waiters.add(check);
    });
  }

  private notifyWaiters(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Brings the connections in line with the watched prefixes (one sync at a time; a change meanwhile runs it again). */
  private sync(): void {
    if (this.syncing !== undefined) {
      this.again = true;
      return;
    }
    this.syncing = this.syncOnce()
      .catch((error: unknown) => {
        this.counts.failures += 1;
        this.lastError = error instanceof Error ? error : new Error(String(error));
        this.scheduleRetry();
      })
      .finally(() => {
        this.syncing = undefined;
        if (this.again) {
          this.again = false;
          this.sync();
        }
      });
  }

  private async syncOnce(): Promise<void> {
    const wanted = coveringPrefixes([...this.watchers].map((w) => w.prefix));
    if (wanted.length === 0) return;
    const live = this.current !== undefined && !this.current.retired && this.covered.length > 0;
    if (live && wanted.every((p) => this.covers(p))) return;
    const servers = (await this.driver.servers()).sort();
    if (servers.length === 0) throw new Error("the client knows no server yet");
    const next: Generation = { servers, prefixes: wanted, connections: [], retired: false };
    // Every open settles (each bounded by openTimeoutMs): on any failure, all that opened are closed, and one that opens later closes itself.
    const opened = await Promise.allSettled(servers.map((server) => this.open(next, server, wanted)));
    for (const o of opened) if (o.status === "fulfilled") next.connections.push(o.value);
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === "rejected");
    if (failed !== undefined) {
      this.retire(next);
      throw failed.reason;
    }
    if (this.watchers.size === 0) {
      next.retired = true;
      for (const c of next.connections) c.close();
      return;
    }
    const previous = this.current;
    this.current = next;
    this.covered = wanted;
    this.delayMs = 0;
    this.counts.connects += 1;
    if (previous !== undefined) this.drain(previous);
    this.startHeartbeat();
    this.notifyWaiters();
  }

  /**
   * One connection of `generation`, tracking `prefixes` and subscribed;
   * rejects after `openTimeoutMs` (a server that accepts TCP and never
   * answers), and a connection that opens after its generation was retired
   * closes at once.
   */
  private open(generation: Generation, server: string, prefixes: readonly string[]): Promise<TrackingConnection> {
    const work = (async (): Promise<TrackingConnection> => {
      const connection = await this.driver.connect(server, {
        keys: (keys) => {
          if (generation.retired) return;
          this.received(keys);
        },
        down: () => {
          if (generation.retired) return;
          if (generation === this.current) this.lost("disconnected");
          else if (generation.draining) this.drainFailed(generation);
        },
      });
      try {
        if (generation.retired) throw new Error(`tracking of ${server} was given up while connecting`);
        const id = Number(await connection.command(["CLIENT", "ID"]));
        await connection.command(trackingCommand(id, prefixes));
        await connection.subscribe(CHANNEL);
        if (generation.retired) throw new Error(`tracking of ${server} was given up while connecting`);
      } catch (error) {
        connection.close();
        throw error;
      }
      return connection;
    })();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tracking connection to ${server} not ready within ${this.openTimeoutMs} ms`)), this.openTimeoutMs);
      timer.unref();
    });
    work.then(
      (c) => {
        clearTimeout(timer);
        if (generation.retired) c.close();
      },
      () => clearTimeout(timer),
    );
    return Promise.race([work, late]);
  }

  /**
   * Retires `generation` once it has delivered everything the servers sent
   * before the new generation subscribed: a PING on each of its
   * connections answers after every message sent before it. A connection
   * that fails first may have lost an invalidation: every L1 is flushed.
   */
  private drain(generation: Generation): void {
    generation.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), this.openTimeoutMs);
      timer.unref();
    });
    Promise.race([Promise.all(generation.connections.map((c) => c.ping())), late]).then(
      (r) => {
        clearTimeout(timer);
        if (r === "late") this.drainFailed(generation);
        else this.retire(generation);
      },
      () => {
        clearTimeout(timer);
        this.drainFailed(generation);
      },
    );
  }

  private drainFailed(generation: Generation): void {
    if (generation.retired) return;
    this.retire(generation);
    this.counts.drops += 1;
    for (const w of this.watchers) w.listener.flush("disconnected");
  }

  private received(keys: readonly (Buffer | string)[] | null): void {
    this.counts.messages += 1;
    if (keys === null) {
      for (const w of this.watchers) w.listener.flush("server");
      return;
    }
    this.counts.keys += keys.length;
    const cut = this.driver.keyPrefix.length;
    const names = keys.map((k) => (cut === 0 ? k.toString() : k.toString().slice(cut)));
    for (const w of this.watchers) {
      const prefix = w.prefix.slice(cut);
      const mine = names.filter((k) => k.startsWith(prefix));
      if (mine.length > 0) w.listener.invalidate(mine);
    }
  }

  /** Live tracking is lost: flush every L1, close this generation, reconnect. */
  private lost(reason: FlushReason): void {
    const generation = this.current;
    if (generation === undefined || generation.retired) return;
    this.covered = [];
    this.counts.drops += 1;
    this.retire(generation);
    for (const w of this.watchers) w.listener.flush(reason);
    this.notifyWaiters();
    this.scheduleRetry();
  }

  private retire(generation: Generation): void {
    generation.retired = true;
    for (const c of generation.connections) c.close();
  }

  private scheduleRetry(): void {
    if (this.watchers.size === 0 || this.retryTimer !== undefined) return;
    this.delayMs = Math.min(this.maxDelayMs, this.delayMs === 0 ? 50 : this.delayMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.sync();
    }, this.delayMs);
    this.retryTimer.unref();
  }

  private startHeartbeat(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.beat(), this.heartbeatMs);
    this.timer.unref();
  }

  /** Every connection must answer a PING within one interval; every fifth beat also compares the servers with the client's. */
  private beat(): void {
    const generation = this.current;
    if (generation === undefined || generation.retired) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      // After the timer, one turn through I/O first: a pong that arrived while the event loop was busy is read before "late" is decided.
      timer = setTimeout(() => setImmediate(() => resolve("late")), this.heartbeatMs);
      timer.unref();
    });
    const pings = Promise.all(generation.connections.map((c) => c.ping()));
    Promise.race([pings, late]).then(
      (r) => {
        clearTimeout(timer);
        if (r === "late" && generation === this.current) this.lost("heartbeat");
      },
      () => {
        clearTimeout(timer);
        if (generation === this.current) this.lost("disconnected");
      },
    );
    if (++this.beats % 5 !== 0) return;
    this.driver.servers().then(
      (servers) => {
        const same = servers.length === generation.servers.length && [...servers].sort().every((s, i) => s === generation.servers[i]);
        if (!same && generation === this.current) this.lost("topology");
      },
      () => undefined,
    );
  }

  private stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.timer = undefined;
    this.retryTimer = undefined;
    this.covered = [];
    if (this.current !== undefined) this.retire(this.current);
    this.current = undefined;
    this.notifyWaiters();
  }
}
