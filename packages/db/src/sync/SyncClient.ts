import { FORMAT_VERSION, VersionVector } from '@concord/crdt';
import { Decoder, Encoder } from '@concord/crdt/internal';
import type { Change } from '../Change.js';
import { core } from '../core.js';
import type { ChangeEvent, Database } from '../Database.js';
import { INFLATES_BESIDE, inflatedSize, inflateMessageAsync } from '../Deflated.js';
import { DbError } from '../errors.js';
import { MESSAGE_KINDS } from '../messageKinds.js';
import type { Replica } from '../Replica.js';
import { httpAttachmentFetcher, httpAttachmentUploader, httpBase } from './AttachmentHttp.js';
import { fetchChunk } from './ChunkHttp.js';
import {
  decodeMessage,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  type Progress,
  type ServerMessage,
  type Subscription,
  type SubscriptionState,
} from './Protocol.js';
import { closeCodeError, SyncError, type SyncErrorCode } from './SyncError.js';
import type { Transport } from './Transport.js';
import { type WebSocketLike, WebSocketTransport } from './WebSocketTransport.js';

/**
 * `failed`: stopped after an error reconnecting cannot heal (a refused token or grant, a protocol
 * the server does not speak, a message over a size limit); `lastError` says which. A new
 * `sync` (with a new token, say) starts again.
 */
/**
 * Where a sync client connects: a server's `ws://` URL; the URLs of several nodes of one
 * deployment (it moves to the next when its node goes away, keeping its cursors); or a function
 * that opens a transport (tests and simulations use in-memory ones).
 */
export type SyncTarget = string | readonly string[] | (() => Promise<Transport>);

export type SyncStatus = 'connecting' | 'syncing' | 'live' | 'offline' | 'failed' | 'closed';

/** Timers the client schedules reconnects and heartbeats with (injected in simulations). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface SyncOptions {
  /**
   * The token the server checks; a function is asked again on every (re)connect, so an expired
   * token is replaced by a fresh one (then an UNAUTHORIZED close is retried, not final).
   */
  readonly token?: string | (() => string | Promise<string>);
  readonly subscriptions: readonly Subscription[];
  /** How to open a WebSocket to a URL target (default: the global `WebSocket`, or `ws` in Node). */
  readonly createWebSocket?: (url: string) => WebSocketLike;
  /** Reconnect delays: doubling from `minMs` to `maxMs`, each scaled by a random 50–100% (jitter). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  readonly random?: () => number;
  readonly timers?: Timers;
  /** The server is taken for gone after this long without a message (it pings more often). */
  readonly idleTimeoutMs?: number;
  readonly maxMessageBytes?: number;
  /** Changes per `push` message. */
  readonly pushBatch?: number;
  /**
   * Fetch initial snapshots as immutable chunks over HTTP (`GET /sync/chunks/<sha-256>`, which a
   * browser or CDN caches) when the server offers them (default: for URL targets, where `fetch`
   * exists); off, they come on the WebSocket.
   */
  readonly chunksOverHttp?: boolean;
}

export interface SyncProgress extends Progress {
  readonly collection: string;
}

export interface SyncErrorEvent {
  readonly code: SyncErrorCode | 'CONNECT_FAILED';
  readonly message: string;
  /** For a rejected change: which one (its document was rolled back to the server's state). */
  readonly dot?: Change['dot'];
  /** For `CLOCK_DRIFT`: how far the server's clock is from this device's (ms, server minus local). */
  readonly offsetMs?: number;
}

export interface SyncEvents {
  status: SyncStatus;
  progress: SyncProgress;
  error: SyncErrorEvent;
  /** The server acknowledged this replica's changes up to this one: `pending` went down. */
  acknowledged: number;
}

/**
 * Live updates taken in between two writes of the cursors. A cursor kept behind the documents
 * only costs, after a crash, a few changes sent again (they join as no-ops); writing it with
 * every update costs a thousand-client fan-out more than anything else a client does per update.
 * It is written when the link closes, too.
 */
const CURSOR_EVERY = 32;
/** Snapshot chunks fetched over HTTP ahead of the one being applied. */
const CHUNKS_AHEAD = 4;
/** Inflated bytes of frames waiting their turn at most (`inflateAhead`): a few snapshot chunks. */
const AHEAD_BYTES = 32 * 1024 * 1024;

/** Codes after which reconnecting cannot help without something changing (a new token, an upgrade, a limit). */
const FATAL = new Set<string>(['UNAUTHORIZED', 'FORBIDDEN', 'UNSUPPORTED_VERSION', 'TOO_LARGE']);

/**
 * A database's link to a sync server (sync/Protocol): it sends the replica's own changes — the
 * outbox, everything the server has not acknowledged, across restarts — and takes in what the
 * server sends for its subscriptions, keeping each subscription's cursor (or where an initial
 * snapshot stopped) in the database's meta, committed with the documents they cover. It
 * reconnects by itself with jittered exponential backoff until closed.
 */
export class SyncClient {
  private statusNow: SyncStatus = 'connecting';
  private readonly listeners = new Map<keyof SyncEvents, Set<(e: never) => void>>();
  private transport: Transport | undefined;
  private attempt = 0;
  /** Which of the target's URLs the next connection goes to (modulo their number). */
  private node = 0;
  private retry: unknown;
  private idle: unknown;
  private heard = false;
  /** The server version every subscription is caught up to on this connection (updates carry changes to it). */
  private cursor: VersionVector | undefined;
  /** Live updates taken in since the cursors were last written (see CURSOR_EVERY). */
  private unsaved = 0;
  /** Messages are handled one at a time, in order. */
  private inbox: Promise<void> = Promise.resolve();
  /** Bytes of frames inflated ahead of their turn (`inflateAhead`). */
  private ahead = 0;
  /** The server holds this replica's changes up to here (from `welcome` and `ack`). */
  private acked = 0;
  /** This replica's changes sent on the current connection, up to here. */
  private sent = 0;
  private pumping = false;
  private readonly waiters = new Set<() => void>();
  private readonly stopLocal: () => void;
  /** The database's replica core: where the server's batches and acknowledgements go. */
  private readonly replica: Replica;
  private readonly keys: string[];
  private readonly timers: Timers;
  private failure: SyncErrorEvent | undefined;
  private offset = 0;

  constructor(
    private readonly db: Database,
    private readonly target: SyncTarget,
    private readonly options: SyncOptions,
  ) {
    if (options.subscriptions.length === 0)
      throw new DbError('BAD_QUERY', 'sync needs at least one subscription');
    this.replica = core(db);
    this.keys = options.subscriptions.map(subscriptionKey);
    this.timers = options.timers ?? globalThis;
    this.stopLocal = db.onChange((e) => this.onLocal(e));
    // Bytes of attachments this replica lacks come from the server it syncs with, over HTTP.
    if (typeof target !== 'function') {
      db.attachments.setFetcher(this.fetcher);
      db.attachments.setUploader(this.uploader);
    }
    void this.connect();
  }

  private readonly base = () => (this.url === undefined ? undefined : httpBase(this.url));
  private readonly token = async () =>
    typeof this.options.token === 'function' ? await this.options.token() : (this.options.token ?? '');
  private readonly fetcher = httpAttachmentFetcher(this.base, this.token);
  private readonly uploader = httpAttachmentUploader(this.base, this.token);

  get status(): SyncStatus {
    return this.statusNow;
  }

  /** The server's version this replica's subscriptions are caught up to, once synced on this connection. */
  get serverVersion(): VersionVector | undefined {
    return this.cursor?.clone();
  }

  /** How many of this replica's changes the server holds durably (its own changes are numbered 1, 2, …). */
  get acknowledged(): number {
    return this.acked;
  }

  /** This replica's changes the server has not acknowledged yet (what a UI shows as "not synced"). */
  get pending(): number {
    return this.db.unacknowledged();
  }

  /** The error that stopped this client (status `failed`), or the last one reported. */
  get lastError(): SyncErrorEvent | undefined {
    return this.failure;
  }

  /** How far this device's clock was found from the server's (ms, server minus local; 0 within tolerance). */
  get clockOffset(): number {
    return this.offset;
  }

  private isClosed(): boolean {
    return this.statusNow === 'closed';
  }

  on<K extends keyof SyncEvents>(event: K, listener: (e: SyncEvents[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener as (e: never) => void);
    return () => set.delete(listener as (e: never) => void);
  }

  private emit<K extends keyof SyncEvents>(event: K, value: SyncEvents[K]): void {
    if (event === 'error') this.failure = value as SyncErrorEvent;
    for (const l of this.listeners.get(event) ?? []) (l as (e: SyncEvents[K]) => void)(value);
  }

  private setStatus(s: SyncStatus): void {
    if (this.statusNow === s || this.isClosed()) return;
    this.statusNow = s;
    this.emit('status', s);
    this.checkSynced();
  }

  /**
   * Resolves once the subscriptions are caught up with the server and the server holds every
   * change this replica had made when it was called — or later, after a disconnect. Rejects if
   * the client is closed, or fails (with the `SyncError` that stopped it).
   */
  synced(): Promise<void> {
    const replica = this.db.replicaId;
    const target = this.db.version().get(replica);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.isClosed()) {
          this.waiters.delete(check);
          reject(new DbError('CLOSED', 'sync closed'));
        } else if (this.statusNow === 'failed') {
          this.waiters.delete(check);
          const f = this.failure;
          reject(
            new SyncError(f && f.code !== 'CONNECT_FAILED' ? f.code : 'SERVER_ERROR', f?.message ?? 'failed'),
          );
        } else if (
          this.statusNow === 'live' &&
          // After a fork (see `fork`) the changes made before are the new id's rewrites.
          (replica === this.db.replicaId
            ? this.acked >= target
            : !this.replica.server.forked && this.pending === 0)
        ) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  private checkSynced(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Stops syncing: closes the connection and cancels reconnects. The database stays open. */
  async close(): Promise<void> {
    if (this.isClosed()) return;
    this.setStatus('closed');
    this.checkSynced();
    this.stopLocal();
    if (this.db.attachments.fetcher === this.fetcher) {
      this.db.attachments.setFetcher(undefined);
      this.db.attachments.setUploader(undefined);
    }
    this.timers.clearTimeout(this.retry);
    this.timers.clearTimeout(this.idle);
    this.transport?.close();
    await this.inbox;
  }

  /**
   * The server this client connects to (or last did): one of the target's URLs. After a link is
   * lost or a connection fails, the next attempt goes to the next URL — the nodes of one
   * deployment share every change, so the cursors this replica holds are good on any of them.
   */
  get url(): string | undefined {
    if (typeof this.target === 'function') return undefined;
    return typeof this.target === 'string' ? this.target : this.target[this.node % this.target.length];
  }

  private async open(): Promise<Transport> {
    if (typeof this.target === 'function') return this.target();
    const create = this.options.createWebSocket ?? (await defaultWebSocket());
    return WebSocketTransport.connect(this.url!, create);
  }

  private async connect(): Promise<void> {
    // The last link's messages (and its cursors' last write) are done with before hello reads the cursors.
    await this.inbox;
    if (this.isClosed()) return;
    this.setStatus('connecting');
    let t: Transport;
    let token: string;
    try {
      token =
        typeof this.options.token === 'function' ? await this.options.token() : (this.options.token ?? '');
      t = await this.open();
    } catch (e) {
      this.emit('error', { code: 'CONNECT_FAILED', message: (e as Error).message });
      this.scheduleReconnect();
      return;
    }
    if (this.isClosed()) {
      t.close();
      return;
    }
    this.transport = t;
    this.sent = 0;
    this.cursor = undefined;
    this.inbox = Promise.resolve();
    t.onMessage((frame) => {
      this.touch();
      const ready = this.inflateAhead(frame);
      // A frame not inflated ahead (in Node every one; in browsers a small one, as a live update
      // is) goes straight to its turn: no async step of its own, for the thousands a client takes.
      this.inbox = ready
        ? this.inbox.then(async () => this.handle(t, frame, await ready))
        : this.inbox.then(() => this.handle(t, frame, undefined));
    });
    t.onClose((info) => {
      this.timers.clearTimeout(this.idle);
      if (this.transport === t) this.transport = undefined;
      this.inbox = this.inbox.then(() => this.saveCursors());
      if (this.isClosed()) return;
      this.setStatus('offline');
      const code = closeCodeError(info.code) ?? '';
      if (FATAL.has(code) && !(code === 'UNAUTHORIZED' && typeof this.options.token === 'function')) {
        if (this.failure?.code !== code)
          this.emit('error', { code: code as SyncErrorCode, message: info.reason });
        this.setStatus('failed');
        return;
      }
      this.scheduleReconnect();
    });
    this.touch();
    this.watch(t);
    this.send(t, {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      replica: this.db.replicaId,
      token,
      subscriptions: this.options.subscriptions.map((s, i) => ({ ...s, ...this.position(this.keys[i]!) })),
      chunksOverHttp: this.chunksOverHttp,
    });
    this.helloToken = token;
  }

  private scheduleReconnect(): void {
    if (this.isClosed()) return;
    this.setStatus('offline');
    this.node++; // another node next, if the target names several
    const { minMs, maxMs } = this.options.backoff ?? { minMs: 250, maxMs: 30_000 };
    const random = this.options.random ?? Math.random;
    const delay = Math.min(maxMs, minMs * 2 ** this.attempt) * (0.5 + random() / 2);
    this.attempt++;
    this.retry = this.timers.setTimeout(() => void this.connect(), delay);
  }

  /** Notes that the server said something (cheap: runs per message; `watch` checks). */
  private touch(): void {
    this.heard = true;
  }

  /** Every `idleTimeoutMs`, a server that said nothing since the last check is taken for gone. */
  private watch(t: Transport): void {
    this.idle = this.timers.setTimeout(() => {
      if (this.transport !== t) return;
      if (!this.heard) return t.close({ code: 4408, reason: 'server silent' });
      this.heard = false;
      this.watch(t);
    }, this.options.idleTimeoutMs ?? 45_000);
  }

  private send(t: Transport, m: Parameters<typeof encodeMessage>[0]): void {
    if (t.state !== 'open') return;
    try {
      t.send(encodeMessage(m));
    } catch (e) {
      // The link broke under us: its close handler reconnects, and unacknowledged changes are resent.
      if (!(e instanceof DbError && e.code === 'CLOSED')) throw e;
    }
  }

  /**
   * Starts inflating a frame as it arrives where that runs beside the work on earlier
   * frames (`inflateMessageAsync`), up to `AHEAD_BYTES` inflated and waiting; resolves with the
   * frame inflated, or undefined when `decodeMessage` is to inflate it. Returns undefined when
   * nothing is inflated ahead (a frame not deflated, or no worker to inflate it in). Anything
   * amiss (a size over the limit, a corrupt stream) is left for `decodeMessage` to find and
   * report as it always does.
   */
  private inflateAhead(frame: Uint8Array): Promise<Uint8Array | undefined> | undefined {
    if (!INFLATES_BESIDE) return undefined;
    let size: number;
    try {
      size = inflatedSize(frame);
    } catch {
      return undefined;
    }
    const max = this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    if (size === frame.length || size > max || this.ahead + size > AHEAD_BYTES) return undefined;
    this.ahead += size;
    return inflateMessageAsync(frame).then(
      (raw) => {
        this.ahead -= size;
        return raw;
      },
      () => {
        this.ahead -= size;
        return undefined;
      },
    );
  }

  /** Whether this client takes snapshot chunks over HTTP: a URL target, and `fetch` to get them with. */
  private get chunksOverHttp(): boolean {
    return (
      !this.chunksFailed &&
      typeof this.target !== 'function' &&
      (this.options.chunksOverHttp ?? typeof fetch === 'function')
    );
  }

  /**
   * Set once a chunk could not be fetched (no route to the server's HTTP, a page on another
   * origin the server does not allow, a proxy that drops it): this client then takes snapshots
   * on the WebSocket, rather than being offered the same manifest on every reconnect.
   */
  private chunksFailed = false;

  /** The token the current connection said hello with: chunks are fetched with it. */
  private helloToken = '';

  /**
   * A snapshot offered as a manifest: its chunks fetched over HTTP, a few ahead, each checked
   * against its hash and applied in order exactly as a chunk sent on the WebSocket (its resume
   * position saved with it), so a link lost midway resumes after the last chunk applied.
   */
  private async fetchSnapshot(t: Transport, m: Extract<ServerMessage, { type: 'manifest' }>): Promise<void> {
    const base = this.base();
    if (!base) throw new SyncError('BAD_MESSAGE', 'a manifest for a client with no HTTP server');
    const max = this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
    const token = this.helloToken;
    const fetches: Promise<{ frame: Uint8Array; inflated: Uint8Array | undefined }>[] = [];
    const start = (i: number) => {
      if (i >= m.chunks.length) return;
      // Inflated as soon as it arrives (beside the work on earlier chunks), as frames
      // from the WebSocket are.
      fetches[i] = fetchChunk(base, m.chunks[i]!, token, max).then(async (frame) => ({
        frame,
        inflated: await this.inflateAhead(frame),
      }));
      fetches[i]!.catch(() => undefined); // awaited in turn below; a link lost first never awaits it
    };
    for (let i = 0; i < CHUNKS_AHEAD; i++) start(i);
    for (let i = 0; i < m.chunks.length; i++) {
      start(i + CHUNKS_AHEAD);
      let fetched: { frame: Uint8Array; inflated: Uint8Array | undefined };
      try {
        fetched = await fetches[i]!;
      } catch (e) {
        if (e instanceof SyncError && e.code === 'UNAVAILABLE') this.chunksFailed = true;
        throw e;
      }
      if (this.transport !== t || this.isClosed()) return;
      const chunk = decodeMessage(fetched.frame, max, this.replica.interner, fetched.inflated);
      if (chunk.type !== 'chunk' || chunk.sub !== m.sub || !chunk.version.equals(m.version))
        throw new SyncError('BAD_MESSAGE', `chunk ${i} of the manifest is not subscription ${m.sub}'s`);
      await this.apply(t, chunk);
    }
  }

  private async handle(t: Transport, frame: Uint8Array, inflated: Uint8Array | undefined): Promise<void> {
    if (this.transport !== t || this.isClosed()) return;
    let m: ServerMessage;
    try {
      m = decodeMessage(
        frame,
        this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
        this.replica.interner,
        inflated,
      ) as ServerMessage;
    } catch (e) {
      const err = e instanceof SyncError ? e : new SyncError('BAD_MESSAGE', String(e));
      this.emit('error', { code: err.code, message: err.message });
      t.close({ code: err.closeCode, reason: err.message.slice(0, 120) });
      return;
    }
    try {
      await (m.type === 'update' ? this.update(m) : this.apply(t, m));
    } catch (e) {
      // What the server sent cannot be taken in (a malformed state, a chunk that cannot be
      // fetched): drop the link, retry later.
      const err = e instanceof SyncError ? e : new SyncError('BAD_MESSAGE', (e as Error).message);
      this.emit('error', { code: err.code, message: err.message });
      t.close({ code: err.closeCode, reason: err.message.slice(0, 120) });
    }
  }

  private async apply(t: Transport, m: Exclude<ServerMessage, { type: 'update' }>): Promise<void> {
    switch (m.type) {
      case 'welcome':
        if (m.protocol !== PROTOCOL_VERSION)
          throw new SyncError('UNSUPPORTED_VERSION', `server speaks ${m.protocol}`);
        if (m.acked > this.db.version().get(this.db.replicaId)) {
          await this.fork(
            t,
            `the server holds ${m.acked} changes of this replica's, this database made ${this.db.version().get(this.db.replicaId)}`,
          );
          return;
        }
        // Changes the server holds past what it last acknowledged here are sent again: it
        // compares them with its own, which tells a storage restored from a backup (FORKED).
        this.acked = Math.min(m.acked, this.replica.server.acknowledgedSeq);
        this.sent = this.acked;
        this.correctClock(m.time);
        this.setStatus('syncing');
        this.pumpNow();
        break;
      case 'chunk': {
        const key = this.keys[m.sub];
        const sub = this.options.subscriptions[m.sub];
        if (key === undefined || !sub) throw new SyncError('BAD_MESSAGE', `no subscription ${m.sub}`);
        const values = m.values!;
        const docs = m.docs.map((stored, i) => {
          const value = values[i];
          if (!value) throw new SyncError('BAD_MESSAGE', 'a removed document in a snapshot');
          return { collection: sub.collection, id: value._id, stored, value };
        });
        const last = docs[docs.length - 1];
        await this.replica.server.integrate({
          docs,
          ...(m.packed && { packed: m.packed }),
          meta: last
            ? [
                [
                  key,
                  encodePosition({ resume: { version: m.version, after: last.id, done: m.progress.docs } }),
                ],
              ]
            : [],
        });
        this.emit('progress', { collection: sub.collection, ...m.progress });
        break;
      }
      case 'manifest':
        await this.fetchSnapshot(t, m);
        break;
      case 'synced':
        this.cursor = m.version.clone();
        this.unsaved = 0;
        await this.replica.server.integrate({ meta: this.cursors(m.version) });
        // After a fork the server's states are in: the abandoned id's writes are made again.
        if (this.replica.server.forked) await this.replica.server.rewriteForked();
        this.attempt = 0;
        this.setStatus('live');
        // Attachments put while the server was away go up now (a failed one waits for the next time).
        if (typeof this.target !== 'function') void this.db.attachments.upload().catch(() => undefined);
        break;
      case 'ack':
        this.acked = Math.max(this.acked, m.seq);
        await this.replica.server.acknowledged(this.acked);
        this.emit('acknowledged', this.acked);
        this.checkSynced();
        break;
      case 'reject': {
        const { collection, id } = m.doc;
        // A change refused only for its clock is the user's write all the same: written again, by value.
        const redo = m.code === 'CLOCK_DRIFT' ? await this.intent(m.dot.seq, collection, id) : undefined;
        const reapply = (await this.replica.ownChanges(m.dot.seq)).filter(
          (c) => c.collection === collection && c.docId === id,
        );
        await this.replica.server.integrate({ replace: [{ ...m.doc, reapply }] });
        if (redo) await this.replica.server.rewrite([{ collection, id, ...redo }]);
        this.emit('error', { code: m.code, message: m.message, dot: m.dot });
        break;
      }
      case 'error':
        if (m.code === 'FORKED') await this.fork(t, m.message);
        else this.emit('error', { code: m.code, message: m.message });
        break;
      case 'ping':
        this.send(t, { type: 'pong', n: m.n });
        break;
      case 'pong':
        break;
    }
  }

  /**
   * A live update taken in. Its own method, not a case of `apply`: an async function's every
   * call allocates room for all its locals, and a client takes thousands of these.
   */
  private update(m: Extract<ServerMessage, { type: 'update' }>): Promise<void> {
    // A live update's version names only the entries that moved since the last one sent.
    if (m.version) {
      if (!this.cursor) throw new SyncError('BAD_MESSAGE', 'a live update before synced');
      this.cursor.merge(m.version);
      this.unsaved++;
    }
    const save = this.unsaved >= CURSOR_EVERY;
    if (save) this.unsaved = 0;
    return this.replica.server.integrate({
      changes: m.changes,
      docs: m.docs,
      evict: m.evict,
      meta: save ? this.cursors(this.cursor!) : [],
    });
  }

  /** Writes the cursors if live updates moved them since they were last written. */
  private async saveCursors(): Promise<void> {
    if (this.unsaved === 0 || !this.cursor) return;
    this.unsaved = 0;
    // If the database closed first (or storage failed), the cursor written last stands: that only
    // means some changes are sent again. The inbox must never reject.
    await this.replica.server.integrate({ meta: this.cursors(this.cursor) }).catch(() => undefined);
  }

  private cursors(version: VersionVector): Array<[string, Uint8Array]> {
    const bytes = encodePosition({ cursor: version });
    return this.keys.map((k) => [k, bytes]);
  }

  private position(key: string): Pick<SubscriptionState, 'cursor' | 'resume'> {
    const bytes = this.replica.metaValue(key);
    return bytes ? decodePosition(bytes) : {};
  }

  /**
   * Corrects the database's clock by the server's (`welcome`): a device clock far off would
   * have its writes refused for drift, or win every conflict. The application is told.
   */
  private correctClock(serverTime: number): void {
    const offset = this.replica.server.correctClock(serverTime);
    if (offset === this.offset) return;
    this.offset = offset;
    if (offset !== 0)
      this.emit('error', {
        code: 'CLOCK_DRIFT',
        message: `this device's clock is ${-offset} ms off the server's: new writes are stamped with the server's time`,
        offsetMs: offset,
      });
  }

  /**
   * What own change `seq` did to a document, by value: the properties it wrote and their values
   * now (undefined for the document removed).
   */
  private async intent(seq: number, collection: string, id: string) {
    const change = (await this.replica.ownChanges(seq - 1)).find((c) => c.dot.seq === seq);
    if (!change) return undefined;
    return { keys: change.ops.keys(), value: await this.db.collection(collection).get(id) };
  }

  /**
   * The server holds other changes under this replica's numbers than this database made (its
   * storage was restored from a backup, or copied): the database takes a new replica id
   * (`Database.fork`), its cursors are reset so that the server sends every document again —
   * this replica's own lost changes with them — and the link is closed to reconnect under the
   * new id; once synced, the writes the server never got are made again (`rewriteForked`).
   */
  private async fork(t: Transport, why: string): Promise<void> {
    // The cursors are reset: none of this link's may be written over the reset when it closes.
    this.cursor = undefined;
    this.unsaved = 0;
    const kept = await this.replica.server.fork(this.keys.map((k) => [k, encodePosition({})]));
    this.emit('error', {
      code: 'FORKED',
      message: `${why}: restored from a backup or copied; now replica ${this.db.replicaId}, ${kept} documents to write again`,
    });
    this.attempt = 0;
    t.close({
      code: new SyncError('FORKED', why).closeCode,
      reason: 'forked: reconnecting under a new replica id',
    });
  }

  private onLocal(e: ChangeEvent): void {
    if (e.origin === 'local' && this.statusNow !== 'offline' && this.statusNow !== 'connecting')
      this.pumpNow();
  }

  /** Starts the pump; what fails in it (a change that cannot be encoded) is reported, never left unhandled. */
  private pumpNow(): void {
    this.pump().catch((e) => {
      this.emit('error', { code: 'BAD_MESSAGE', message: `sending changes failed: ${(e as Error).message}` });
    });
  }

  /** Sends this replica's changes the server lacks, in order, in batches; one pump at a time. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const t = this.transport;
        if (t?.state !== 'open') return;
        const changes = await this.replica.ownChanges(this.sent);
        if (changes.length === 0 || this.transport !== t) return;
        const batch = this.options.pushBatch ?? 500;
        for (let i = 0; i < changes.length; i += batch)
          this.send(t, { type: 'push', changes: changes.slice(i, i + batch) });
        this.sent = changes[changes.length - 1]!.dot.seq;
      }
    } finally {
      this.pumping = false;
    }
  }
}

/** The meta key a subscription's position is kept under: one per distinct subscription. */
export function subscriptionKey(s: Subscription): string {
  return `sync:${JSON.stringify([s.collection, s.where ?? null])}`;
}

type Position = Pick<SubscriptionState, 'cursor' | 'resume'>;

const POSITION = MESSAGE_KINDS.position;

/** A position in binary: a version vector of thousands of replicas is written on every live update. */
function encodePosition(p: Position): Uint8Array {
  const enc = new Encoder();
  if (p.cursor) {
    enc.byte(0);
    p.cursor.encodeTo(enc);
  } else if (p.resume) {
    enc.byte(1);
    p.resume.version.encodeTo(enc);
    enc.string(p.resume.after);
    enc.uint(p.resume.done);
  } else enc.byte(2);
  return enc.finish(FORMAT_VERSION, POSITION);
}

function decodePosition(bytes: Uint8Array): Position {
  const dec = new Decoder(bytes);
  if (dec.header(FORMAT_VERSION) !== POSITION) return {};
  const flag = dec.byte();
  if (flag === 0) return { cursor: VersionVector.decodeFrom(dec) };
  if (flag === 1)
    return { resume: { version: VersionVector.decodeFrom(dec), after: dec.string(), done: dec.uint() } };
  return {};
}

/** `ws`, named in a variable: a bundler building for browsers (which have a WebSocket) leaves it out. */
const NODE_WEBSOCKET = 'ws';

/**
 * The runtime's WebSocket, or `ws` (an optional peer dependency) in Node 20, which has none.
 * A URL target in a runtime with neither needs `createWebSocket`.
 */
async function defaultWebSocket(): Promise<(url: string) => WebSocketLike> {
  const Global = (globalThis as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (Global) return (url) => new Global(url);
  let ws: { WebSocket: new (url: string) => WebSocketLike };
  try {
    ws = (await import(NODE_WEBSOCKET)) as typeof ws;
  } catch {
    throw new DbError('UNSUPPORTED', 'no WebSocket in this runtime: install `ws`, or pass `createWebSocket`');
  }
  return (url) => new ws.WebSocket(url);
}
