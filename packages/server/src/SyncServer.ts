import { DEFAULT_MAX_DRIFT_MS, type VersionVector } from '@concord/crdt';
import type { ChangeEvent, Database, Doc, Timers, Transport } from '@concord/db';
import { core, MAX_MESSAGE_BYTES, schemaIssues } from '@concord/db/internal';
import { pino } from 'pino';
import { Admission } from './Admission.js';
import { type Authenticate, allowEverything, type Principal } from './Auth.js';
import { Fanout } from './Fanout.js';
import { LogCompaction } from './LogCompaction.js';
import { Metrics } from './Metrics.js';
import { type Bindings, ReplicaBindings } from './ReplicaBindings.js';
import { type Peer, Session } from './Session.js';
import { SnapshotCache } from './SnapshotCache.js';
import { Turns } from './Turns.js';

/** What a validation hook sees: an incoming change to one document, as the document before and after it. */
export interface Proposal {
  readonly collection: string;
  readonly id: string;
  readonly before: Doc | undefined;
  readonly after: Doc | undefined;
  readonly principal: Principal;
}

/**
 * A hook's answer: accept (optionally amending — the server then writes `amend` as its own
 * change, which every client receives), or reject with a reason the client is told.
 */
export type Verdict =
  | { readonly ok: true; readonly amend?: Record<string, unknown> }
  | { readonly ok: false; readonly reason: string };

export type Validator = (p: Proposal) => Verdict | Promise<Verdict>;

export interface Limits {
  /** Largest message accepted, checked again after decompression. */
  readonly maxMessageBytes: number;
  /** Bytes a client may leave unread before it is dropped as a slow consumer. */
  readonly maxBuffered: number;
  readonly messagesPerSecond: number;
  readonly burst: number;
  /** Target size of one snapshot chunk. */
  readonly chunkBytes: number;
  readonly heartbeatMs: number;
  /** Database events held for a session while it catches up before it is dropped. */
  readonly maxHeldEvents: number;
  /**
   * Bytes of one client's changes the server holds while they wait for a predecessor (a push
   * with a gap in its sequence); beyond this the session ends with `BUFFER_FULL`. Held changes
   * are dropped when the session ends. The database caps all clients together (its
   * `maxPendingBytes`, 64 MiB by default).
   */
  readonly maxPendingBytes: number;
  /** How far ahead of the server's clock a change's timestamp may be; beyond, it is refused (`CLOCK_DRIFT`). */
  readonly maxDriftMs: number;
  /**
   * The largest change one write may make, encoded as the change log carries it; beyond, it is
   * refused (`TOO_LARGE`). Unlimited on a lone server; a node of a deployment takes what one
   * NATS message carries (the server's `max_payload`, 1 MiB unless configured, less room for
   * headers: `ChangeLog.maxChangeBytes`) — a document's own limit is 4 MiB of JSON.
   */
  readonly maxChangeBytes: number;
  /** An HTTP request's headers must arrive within this (slow-loris connections are closed). */
  readonly headersTimeoutMs: number;
  /** A whole HTTP request (headers and body) must arrive within this. */
  readonly requestTimeoutMs: number;
  /** Labels one `/api/labels.pdf` request may render (about a second of work per thousand). */
  readonly maxLabels: number;
  /** The largest attachment an upload may bring (`PUT /api/attachments/<hash>`). */
  readonly maxAttachmentBytes: number;
  /**
   * Encoded initial syncs kept for the next clients that ask for the same (`SnapshotCache`); a
   * 100,000-product assortment takes about 2.6 MB.
   */
  readonly snapshotCacheBytes: number;
  /** The largest feed an upload may bring (`POST /api/feed`; a 100,000-product feed is ~25 MB). */
  readonly maxFeedBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageBytes: MAX_MESSAGE_BYTES,
  maxBuffered: 32 * 1024 * 1024,
  messagesPerSecond: 200,
  burst: 1000,
  chunkBytes: 4 * 1024 * 1024,
  heartbeatMs: 15_000,
  maxHeldEvents: 100_000,
  maxPendingBytes: 8 * 1024 * 1024,
  maxDriftMs: DEFAULT_MAX_DRIFT_MS,
  maxChangeBytes: Number.POSITIVE_INFINITY,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxLabels: 2_000,
  maxAttachmentBytes: 256 * 1024 * 1024,
  maxFeedBytes: 256 * 1024 * 1024,
  snapshotCacheBytes: 128 * 1024 * 1024,
};

export type Log = Pick<pino.Logger, 'info' | 'warn' | 'error' | 'debug'>;

export interface SyncServerOptions {
  readonly db: Database;
  /** Development mode (everything allowed, logged loudly) when absent. */
  readonly authenticate?: Authenticate;
  readonly limits?: Partial<Limits>;
  readonly log?: Log;
  readonly metrics?: Metrics;
  readonly timers?: Timers;
  /** Milliseconds, for rate limits and heartbeats (injected in simulations). */
  readonly now?: () => number;
  /**
   * Resolves once every change the database committed so far is durable beyond this node (in a
   * deployment of several nodes: in the change log, `ChangeLog.flush`). Writes are acknowledged
   * only after it. Absent: the database's own commit is the durability.
   */
  readonly durable?: () => Promise<void>;
  /**
   * Resolves true once the database holds everything `version` names — a client's cursor from
   * another node of the deployment, which this node's change log has not brought yet — or
   * false if it will not soon (`ChangeLog.reaches`). Absent: false at once — a cursor ahead of
   * a lone server is from another history, and the client starts over.
   */
  readonly reaches?: (version: VersionVector) => Promise<boolean>;
  /**
   * Where replica ↔ principal bindings are kept: by default the database's meta; the nodes of
   * a deployment share `PostgresBindings`.
   */
  readonly bindings?: Bindings;
  /**
   * The database's change log is kept between one and two spans of this many changes
   * (`LogCompaction`): a client further behind starts over with a snapshot. Default 100,000;
   * infinite on a node of a deployment, whose `ChangeLog` compacts it by the spans of its log.
   */
  readonly compactEvery?: number;
}

/** What a session needs from the server it belongs to. */
export interface SessionHost {
  readonly db: Database;
  /** See `SyncServerOptions.durable`. */
  durable(): Promise<void>;
  /** See `SyncServerOptions.reaches`. */
  reaches(version: VersionVector): Promise<boolean>;
  readonly limits: Limits;
  readonly metrics: Metrics;
  readonly log: Log;
  authenticate: Authenticate;
  check(p: Proposal): Promise<Verdict>;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Waits for a turn of the event loop shared fairly with every session (see `Turns`). */
  turn(): Promise<void>;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  forget(session: Session): void;
  /** What the sessions share of one commit's delivery: its documents, filter verdicts, encoded updates. */
  fanout(event: ChangeEvent): Fanout;
  readonly admission: Admission;
  readonly bindings: Bindings;
  /** Initial syncs built once and sent to every client that asks for the same (`SnapshotCache`). */
  readonly snapshots: SnapshotCache;
}

/**
 * The sync server's core, transport-agnostic: it accepts connections (WebSockets in
 * `HttpServer`, in-memory transports in tests and the simulation), runs a `Session` for each,
 * and fans every change its database takes in out to the sessions whose subscriptions it
 * concerns — in the order the database applied them, which is the durable order clients see.
 */
export class SyncServer implements SessionHost {
  readonly db: Database;
  readonly limits: Limits;
  readonly metrics: Metrics;
  readonly log: Log;
  readonly authenticate: Authenticate;
  readonly admission: Admission;
  readonly bindings: Bindings;
  readonly snapshots: SnapshotCache;
  private readonly sessions = new Set<Session>();
  private readonly validators = new Map<string, Set<Validator>>();
  private readonly timers: Timers;
  private readonly turns: Turns;
  private readonly clock: () => number;
  private readonly stopEvents: () => void;
  private stopping = false;
  private readonly fanouts = new WeakMap<ChangeEvent, Fanout>();
  private readonly durableHook: (() => Promise<void>) | undefined;
  private readonly reachesHook: ((version: VersionVector) => Promise<boolean>) | undefined;
  private readonly compaction: LogCompaction;
  private readonly compactEvery: number;
  /** Changes committed since the last span ended. */
  private committed = 0;

  constructor(options: SyncServerOptions) {
    this.db = options.db;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.metrics = options.metrics ?? new Metrics();
    this.snapshots = new SnapshotCache(this.limits.snapshotCacheBytes);
    this.log = options.log ?? pino({ level: 'silent' });
    this.timers = options.timers ?? globalThis;
    this.turns = new Turns(this.timers);
    this.clock = options.now ?? Date.now;
    this.durableHook = options.durable;
    this.reachesHook = options.reaches;
    if (!options.authenticate)
      this.log.warn('DEVELOPMENT MODE: no auth configured — every connection may read and write everything');
    this.authenticate = options.authenticate ?? allowEverything;
    this.admission = new Admission({
      db: this.db,
      check: (p) => this.check(p),
      now: () => this.clock(),
      maxDriftMs: this.limits.maxDriftMs,
      maxChangeBytes: this.limits.maxChangeBytes,
    });
    this.bindings = options.bindings ?? new ReplicaBindings(this.db);
    this.compactEvery = options.compactEvery ?? 100_000;
    if (!(this.compactEvery >= 1)) throw new TypeError(`compactEvery is at least 1: ${options.compactEvery}`);
    this.compaction = new LogCompaction(this.db, 1, this.log);
    this.stopEvents = this.db.onChange((event) => {
      const at = this.clock();
      for (const s of this.sessions) s.deliver(event);
      // Once per commit, the fan-out: per session it would cost more than the metric is worth.
      this.metrics.syncLag.observe((this.clock() - at) / 1000);
      this.committed += event.changes.length;
      if (this.committed >= this.compactEvery) {
        this.committed = 0;
        this.compaction.spanEnded(event.version);
      }
    });
  }

  /** Runs a session on a freshly opened connection. */
  accept(transport: Transport): void {
    if (this.stopping) {
      transport.close({ code: 1001, reason: 'the server is stopping' });
      return;
    }
    this.sessions.add(new Session(this, transport));
    this.metrics.connections.set(this.sessions.size);
  }

  get connections(): number {
    return this.sessions.size;
  }

  /** The clients connected now that have said hello, oldest connection first. */
  peers(): Peer[] {
    const out: Peer[] = [];
    for (const s of this.sessions) {
      const p = s.peer;
      if (p) out.push(p);
    }
    return out;
  }

  /** Registers a hook that every incoming change to `collection` must pass; returns its removal. */
  validate(collection: string, hook: Validator): () => void {
    let set = this.validators.get(collection);
    if (!set) {
      set = new Set();
      this.validators.set(collection, set);
    }
    set.add(hook);
    return () => set.delete(hook);
  }

  /**
   * Checks a proposed change: against the collection's schema (the database's, see
   * `CollectionSchema.schema`), then the collection's hooks: the first refusal wins; amendments
   * add up.
   */
  async check(p: Proposal): Promise<Verdict> {
    const schema = core(this.db).schemaOf(p.collection);
    if (schema && p.after) {
      const issues = await schemaIssues(schema, p.after);
      if (issues !== undefined) return { ok: false, reason: `the collection's schema: ${issues}` };
    }
    let amend: Record<string, unknown> | undefined;
    for (const hook of this.validators.get(p.collection) ?? []) {
      let v: Verdict;
      try {
        v = await hook(p);
      } catch (e) {
        this.log.error({ err: e, collection: p.collection, id: p.id }, 'validation hook threw');
        return { ok: false, reason: 'validation failed' };
      }
      if (!v.ok) return v;
      if (v.amend) amend = { ...amend, ...v.amend };
    }
    return amend ? { ok: true, amend } : { ok: true };
  }

  now(): number {
    return this.clock();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  turn(): Promise<void> {
    return this.turns.next();
  }

  setTimer(fn: () => void, ms: number): unknown {
    return this.timers.setTimeout(fn, ms);
  }

  clearTimer(handle: unknown): void {
    this.timers.clearTimeout(handle);
  }

  durable(): Promise<void> {
    return this.durableHook?.() ?? Promise.resolve();
  }

  reaches(version: VersionVector): Promise<boolean> {
    return this.reachesHook?.(version) ?? Promise.resolve(false);
  }

  fanout(event: ChangeEvent): Fanout {
    let f = this.fanouts.get(event);
    if (!f) {
      f = new Fanout(event);
      this.fanouts.set(event, f);
    }
    return f;
  }

  forget(session: Session): void {
    this.sessions.delete(session);
    this.metrics.connections.set(this.sessions.size);
  }

  /**
   * Graceful shutdown: stops taking connections, lets each session finish the message it is
   * handling (so every acknowledged change is durable), then closes them with `SHUTDOWN`. The
   * database stays open for its owner to close.
   */
  async close(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.sessions].map((s) => s.shutdown()));
    this.stopEvents();
    await this.compaction.settled();
  }
}
