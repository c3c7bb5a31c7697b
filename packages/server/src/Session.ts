import { type ReplicaId, replicaId, VersionVector } from '@concord/crdt';
import { type Change, type ChangeEvent, SyncError, type Transport, type Where } from '@concord/db';
import { core, decodeMessage, encodeMessage, PROTOCOL_VERSION } from '@concord/db/internal';
import { both, type Principal, readScope, scope } from './Auth.js';
import { Outbound, UPDATE_ITEMS } from './Outbound.js';
import { admitPush } from './PushAdmission.js';
import { frameKey, type Sub, select, selectLive } from './Selection.js';
import { streamSnapshot } from './SnapshotStream.js';
import { SubscriptionFilter } from './SubscriptionFilter.js';
import type { SessionHost } from './SyncServer.js';
import { TokenBucket } from './TokenBucket.js';
import { isAtOrBefore, meet } from './versions.js';

/** A connected client as the server sees it (`SyncServer.peers`, the page's sync inspector). */
export interface Peer {
  readonly replica: ReplicaId;
  /** Each subscription as the server serves it: the client's filter narrowed by its grants. */
  readonly subscriptions: ReadonlyArray<{ readonly collection: string; readonly where?: Where }>;
  readonly phase: 'catching-up' | 'live';
  /** When the connection opened (the server clock, ms since the epoch). */
  readonly since: number;
}

/**
 * One client connection: the handshake, catching the client up (an initial snapshot streamed
 * in chunks, then the changes since its cursor), live updates, and the client's pushes —
 * authorised, validated, applied, acknowledged. Messages are handled one at a time in order;
 * catching up runs beside them, so pushes and heartbeats are answered while a snapshot streams.
 * Anything wrong ends the session with an `error` message and a close, never the server.
 */
export class Session {
  private phase: 'hello' | 'catching-up' | 'live' | 'closed' = 'hello';
  private replica: ReplicaId | undefined;
  private principal: Principal | undefined;
  /**
   * For a client that fetches initial snapshots' chunks over HTTP (it said so in its hello), its
   * read scope (`readScope`), which the chunks named to it are served to; none for one that does not.
   */
  private httpReader: string | undefined;
  private subs: Sub[] = [];
  /** Events that happened while catching up, delivered once caught up. */
  private held: Array<{ event: ChangeEvent; at: number }> = [];
  private inbox: Promise<void> = Promise.resolve();
  private readonly bucket: TokenBucket;
  private readonly out: Outbound;
  private lastHeard: number;
  private heartbeat: unknown;
  private expiry: unknown;
  /** The server version the client was last told (by `synced`, then each live update). */
  private sentVersion: VersionVector | undefined;
  private pingCount = 0;
  private readonly since: number;

  constructor(
    private readonly host: SessionHost,
    private readonly transport: Transport,
  ) {
    this.since = host.now();
    this.bucket = new TokenBucket(host.limits.messagesPerSecond, host.limits.burst, host.now());
    this.out = new Outbound(
      host,
      transport,
      () => this.isClosed(),
      (e) => this.fail(e),
    );
    this.lastHeard = host.now();
    transport.onMessage((frame) => this.receive(frame));
    transport.onClose(() => this.ended());
    this.scheduleHeartbeat();
  }

  /** This client, once it has said hello; undefined before and after. */
  get peer(): Peer | undefined {
    if (this.phase !== 'catching-up' && this.phase !== 'live') return undefined;
    const subscriptions = this.subs.map(({ filter: { collection, where } }) =>
      where ? { collection, where } : { collection },
    );
    return { replica: this.replica!, subscriptions, phase: this.phase, since: this.since };
  }

  private isClosed(): boolean {
    return this.phase === 'closed';
  }

  private receive(frame: Uint8Array): void {
    if (this.isClosed()) return;
    this.lastHeard = this.host.now();
    this.host.metrics.bytesIn.inc(frame.length);
    if (!this.bucket.take(this.host.now())) {
      this.fail(new SyncError('RATE_LIMITED', 'too many messages'));
      return;
    }
    let m: ReturnType<typeof decodeMessage>;
    try {
      m = decodeMessage(frame, this.host.limits.maxMessageBytes, core(this.host.db).interner);
    } catch (e) {
      this.fail(e instanceof SyncError ? e : new SyncError('BAD_MESSAGE', String(e)));
      return;
    }
    this.inbox = this.inbox.then(async () => {
      if (this.isClosed()) return;
      try {
        await this.handle(m);
      } catch (e) {
        if (e instanceof SyncError) return this.fail(e);
        this.host.log.error({ err: e, replica: this.replica }, 'sync session failed');
        this.fail(new SyncError('SERVER_ERROR', 'the server failed to handle a message'));
      }
    });
  }

  private async handle(m: ReturnType<typeof decodeMessage>): Promise<void> {
    if (m.type === 'ping') return this.out.send({ type: 'pong', n: m.n });
    if (m.type === 'pong') return;
    if (this.phase === 'hello') {
      if (m.type !== 'hello') throw new SyncError('BAD_MESSAGE', `expected hello, got ${m.type}`);
      return this.hello(m);
    }
    if (m.type === 'push') return this.push(m.changes);
    throw new SyncError('BAD_MESSAGE', `unexpected ${m.type}`);
  }

  private async hello(m: Extract<ReturnType<typeof decodeMessage>, { type: 'hello' }>): Promise<void> {
    if (m.protocol !== PROTOCOL_VERSION)
      throw new SyncError(
        'UNSUPPORTED_VERSION',
        `this server speaks protocol ${PROTOCOL_VERSION}, not ${m.protocol}`,
      );
    const principal = await this.host.authenticate(m.token);
    this.principal = principal;
    this.httpReader = m.chunksOverHttp === true ? readScope(principal) : undefined;
    if (principal.expiresAt !== undefined) this.expireAt(principal.expiresAt);
    this.replica = replicaId(m.replica);
    if (this.replica === this.host.db.replicaId)
      throw new SyncError('BAD_REPLICA', 'that is the server’s replica id');
    this.subs = m.subscriptions.map((s, index) => {
      const allowed = scope(principal, s.collection, 'read');
      if (allowed === null) throw new SyncError('FORBIDDEN', `no read access to ${s.collection}`);
      return {
        index,
        filter: new SubscriptionFilter(s.collection, both(s.where, allowed)),
        cursor: s.cursor,
        resume: s.resume,
      };
    });
    await this.host.bindings.bind(this.replica, principal.subject);
    if (this.isClosed()) return;
    this.out.send({
      type: 'welcome',
      protocol: PROTOCOL_VERSION,
      server: this.host.db.replicaId,
      acked: this.host.db.version().get(this.replica),
      time: this.host.now(),
    });
    this.phase = 'catching-up';
    this.catchUp().catch((e) => {
      if (e instanceof SyncError) return this.fail(e);
      this.host.log.error({ err: e, replica: this.replica }, 'catch-up failed');
      this.fail(new SyncError('SERVER_ERROR', 'catching up failed'));
    });
  }

  /** Snapshots for subscriptions without a cursor, then every change since the oldest cursor, then live. */
  private async catchUp(): Promise<void> {
    const db = this.host.db;
    for (;;) {
      const now = db.version();
      const ahead = this.subs.find((s) => s.cursor && !isAtOrBefore(s.cursor, now));
      // A node of a deployment behind a client's cursor (from another node) catches up first.
      if (ahead && (await this.host.reaches(ahead.cursor!))) continue;
      if (this.isClosed()) return;
      for (const s of this.subs) {
        // A cursor from another server's history (or one restored from an older backup) is no cursor.
        if (s.cursor && !isAtOrBefore(s.cursor, now)) {
          // Said: a client sent its subscription whole again is what a deployment must not do
          // to a client that only changed nodes.
          this.host.log.warn(
            { replica: this.replica, collection: s.filter.collection },
            "a cursor ahead of this server's database: the subscription starts over",
          );
          s.cursor = undefined;
        }
        if (!s.cursor && !(await streamSnapshot(this.host, this.out, s, now, this.httpReader))) return;
      }
      const since = meet(this.subs.map((s) => s.cursor!));
      const set = await db.changesSince(since);
      if (this.isClosed()) return;
      if (set.kind === 'snapshot') {
        // The log no longer reaches back to a cursor: start those subscriptions over.
        this.host.log.info(
          { replica: this.replica },
          'a cursor older than the change log kept: the subscriptions start over',
        );
        for (const s of this.subs) {
          s.cursor = undefined;
          s.resume = undefined;
        }
        continue;
      }
      const out = select(
        core(db),
        this.subs,
        this.replica,
        set.changes,
        (s, c) => !s.cursor!.includes(c.dot),
      );
      await this.out.sendUpdates(out, undefined);
      this.out.send({ type: 'synced', version: set.version });
      this.sentVersion = set.version;
      for (const s of this.subs) s.cursor = set.version;
      const held = this.held;
      this.held = [];
      // A commit is wholly before the catch-up's version (and in it) or wholly after.
      for (const { event, at } of held) {
        if (isAtOrBefore(event.version, set.version)) continue;
        this.host.metrics.syncLag.observe((this.host.now() - at) / 1000);
        this.deliverNow(event);
      }
      if (this.isClosed()) return;
      this.phase = 'live';
      return;
    }
  }

  /** A database event: sent now if live, held while catching up. */
  deliver(event: ChangeEvent): void {
    if (this.phase === 'live') this.deliverNow(event);
    else if (this.phase === 'catching-up') {
      this.held.push({ event, at: this.host.now() });
      if (this.held.length > this.host.limits.maxHeldEvents)
        this.fail(new SyncError('SLOW_CONSUMER', 'too far behind while catching up'));
    }
  }

  private deliverNow(event: ChangeEvent): void {
    const fanout = this.host.fanout(event);
    const out = selectLive(core(this.host.db), this.subs, this.replica, fanout);
    if (out.changes.length + out.docs.length + out.evict.length === 0) return;
    const moved = new VersionVector();
    for (const [r, seq] of event.version.entries()) if (this.sentVersion!.get(r) < seq) moved.advance(r, seq);
    this.sentVersion = event.version;
    if (out.changes.length + out.docs.length > UPDATE_ITEMS) void this.out.sendUpdates(out, moved);
    else {
      // Sessions that need the same thing of one commit share one encoding of it (fan-out).
      const frames = fanout.frames;
      const key = frameKey(out, moved);
      let frame = frames.get(key);
      if (!frame) {
        frame = encodeMessage({ type: 'update', ...out, version: moved });
        frames.set(key, frame);
      }
      this.host.metrics.changesOut.inc(out.changes.length + out.docs.length);
      this.out.sendFrame(frame);
    }
    if (this.out.buffered > this.host.limits.maxBuffered)
      this.fail(new SyncError('SLOW_CONSUMER', `more than ${this.host.limits.maxBuffered} bytes unread`));
  }

  /** The client's changes, admitted (`admitPush`); each refusal told with the document to roll back to, then the ack. */
  private async push(changes: readonly Change[]): Promise<void> {
    const principal = this.principal!;
    const rejects = await admitPush(this.host, principal, this.replica!, changes);
    for (const { change, error } of rejects) {
      this.out.send({
        type: 'reject',
        dot: change.dot,
        code: error.code,
        message: error.message,
        doc: {
          collection: change.collection,
          id: change.docId,
          stored: this.host.admission.rollback(principal, change.collection, change.docId),
        },
      });
    }
    this.out.send({ type: 'ack', seq: this.host.db.version().get(this.replica!) });
  }

  /** Ends the session: an `error` message saying why, then a close with the matching code. */
  fail(e: SyncError): void {
    if (this.isClosed()) return;
    this.host.metrics.errors.inc({ code: e.code });
    this.host.log.info({ code: e.code, replica: this.replica, reason: e.message }, 'sync session ended');
    this.out.send({ type: 'error', code: e.code, message: e.message });
    this.transport.close({ code: e.closeCode, reason: e.message.slice(0, 120) });
    this.ended();
  }

  private ended(): void {
    if (this.isClosed()) return;
    this.phase = 'closed';
    this.held = [];
    // Changes of this client's that waited for a predecessor: it resends them when it comes back.
    if (this.replica) core(this.host.db).peers.dropPending(this.replica);
    this.host.clearTimer(this.heartbeat);
    this.host.clearTimer(this.expiry);
    this.host.forget(this);
  }

  /** The grants hold as long as the token does: then the client must come back with a new one. */
  private expireAt(when: number): void {
    const left = when - this.host.now();
    if (left <= 0) {
      this.fail(new SyncError('UNAUTHORIZED', 'the token expired'));
      return;
    }
    // Timers take at most 2^31 - 1 ms (about 24 days); a token valid for longer is checked again then.
    this.expiry = this.host.setTimer(() => this.expireAt(when), Math.min(left, 2 ** 31 - 1));
  }

  /** Pings every `heartbeatMs`; a client silent for two periods is gone. */
  private scheduleHeartbeat(): void {
    const ms = this.host.limits.heartbeatMs;
    this.heartbeat = this.host.setTimer(() => {
      if (this.isClosed()) return;
      if (this.host.now() - this.lastHeard > 2 * ms)
        return this.fail(new SyncError('TIMEOUT', 'no heartbeat'));
      this.out.send({ type: 'ping', n: ++this.pingCount });
      this.scheduleHeartbeat();
    }, ms);
  }

  /** Waits for what is being handled, then ends the session (server shutdown). */
  async shutdown(): Promise<void> {
    await this.inbox;
    this.fail(new SyncError('SHUTDOWN', 'the server is stopping'));
  }
}
