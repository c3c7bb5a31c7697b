import { compareTimestamps, ORMap, type ReplicaId, replicaId, VersionVector } from '@concord/crdt';
import { type Change, type ChangeEvent, DbError, SyncError, type Transport, type Where } from '@concord/db';
import {
  core,
  type DocRef,
  type DocState,
  decodeMessage,
  encodeMessage,
  filterTerms,
  matches,
  PROTOCOL_VERSION,
  type ServerMessage,
  type SubscriptionState,
} from '@concord/db/internal';
import { both, type Principal, scope } from './Auth.js';
import { SubscriptionFilter, type Transition } from './SubscriptionFilter.js';
import type { SessionHost } from './SyncServer.js';

interface Sub {
  readonly index: number;
  readonly filter: SubscriptionFilter;
  cursor: VersionVector | undefined;
  resume: SubscriptionState['resume'];
}

/** A connected client as the server sees it (`SyncServer.peers`, the page's sync inspector). */
export interface Peer {
  readonly replica: ReplicaId;
  /** Each subscription as the server serves it: the client's filter narrowed by its grants. */
  readonly subscriptions: ReadonlyArray<{ readonly collection: string; readonly where?: Where }>;
  readonly phase: 'catching-up' | 'live';
  /** When the connection opened (the server clock, ms since the epoch). */
  readonly since: number;
}

/** A filter of at most this many conditions is run as one query (see `Session.selected`). */
const SMALL_FILTER = 16;
/** Documents matched against a large filter between two turns of the event loop. */
const MATCH_SLICE = 128;

/** Largest update message body, in changes and document states. */
const UPDATE_ITEMS = 2000;

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
  private subs: Sub[] = [];
  /** Events that happened while catching up, delivered once caught up. */
  private held: Array<{ event: ChangeEvent; at: number }> = [];
  private inbox: Promise<void> = Promise.resolve();
  private tokens: number;
  private lastRefill: number;
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
    this.tokens = host.limits.burst;
    this.lastRefill = host.now();
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
    if (!this.take()) {
      this.fail(new SyncError('RATE_LIMITED', 'too many messages'));
      return;
    }
    let m: ReturnType<typeof decodeMessage>;
    try {
      m = decodeMessage(frame, this.host.limits.maxMessageBytes);
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

  /** Token bucket: `messagesPerSecond` refill, `burst` capacity. */
  private take(): boolean {
    const now = this.host.now();
    const { messagesPerSecond, burst } = this.host.limits;
    this.tokens = Math.min(burst, this.tokens + ((now - this.lastRefill) / 1000) * messagesPerSecond);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }

  private async handle(m: ReturnType<typeof decodeMessage>): Promise<void> {
    if (m.type === 'ping') return this.send({ type: 'pong', n: m.n });
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
    this.send({
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
      for (const s of this.subs) {
        // A cursor from another server's history (or one restored from an older backup) is no cursor.
        if (s.cursor && !isAtOrBefore(s.cursor, now)) s.cursor = undefined;
        if (!s.cursor && !(await this.snapshot(s, now))) return;
      }
      const since = meet(this.subs.map((s) => s.cursor!));
      const set = await db.changesSince(since);
      if (this.isClosed()) return;
      if (set.kind === 'snapshot') {
        // The log no longer reaches back to a cursor: start those subscriptions over.
        for (const s of this.subs) {
          s.cursor = undefined;
          s.resume = undefined;
        }
        continue;
      }
      const out = this.select(set.changes, (s, c) => !s.cursor!.includes(c.dot));
      await this.sendUpdates(out, undefined);
      this.send({ type: 'synced', version: set.version });
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

  /**
   * Streams the documents subscription `s` selects, in id order and chunks of about
   * `chunkBytes`, waiting whenever the client lags; afterwards the subscription's cursor is the
   * version the stream started from (later changes come from the log). Resumes after the last
   * document a previous, interrupted stream delivered. False if the session ended meanwhile.
   */
  private async snapshot(s: Sub, now: VersionVector): Promise<boolean> {
    const db = this.host.db;
    const resume = s.resume && isAtOrBefore(s.resume.version, now) ? s.resume : undefined;
    const base = resume ? resume.version : now;
    let ids = await this.selected(s);
    if (this.isClosed()) return false;
    if (resume) ids = ids.filter((id) => id > resume.after);
    const forms = ids.map((id) => core(db).storedDocument(s.filter.collection, id)!);
    let done = resume?.done ?? 0;
    const totalDocs = done + forms.length;
    const totalBytes = forms.reduce((n, f) => n + f.length, 0);
    let bytes = 0;
    let chunk: Uint8Array[] = [];
    let chunkBytes = 0;
    const flush = async (): Promise<boolean> => {
      done += chunk.length;
      this.send({
        type: 'chunk',
        sub: s.index,
        version: base,
        docs: chunk,
        progress: { docs: done, totalDocs, bytes, totalBytes },
      });
      this.host.metrics.changesOut.inc(chunk.length);
      chunk = [];
      chunkBytes = 0;
      return this.drained();
    };
    for (const stored of forms) {
      chunk.push(stored);
      chunkBytes += stored.length;
      bytes += stored.length;
      if (chunkBytes >= this.host.limits.chunkBytes && !(await flush())) return false;
    }
    if ((chunk.length > 0 || forms.length === 0) && !(await flush())) return false;
    s.cursor = base;
    s.resume = undefined;
    return true;
  }

  /**
   * The ids of the documents subscription `s` selects. A filter of a few conditions runs as one
   * query (indexes apply); a larger one costs its conditions for every document, so it is
   * matched a slice at a time and the server answers everyone else in between — hundreds of
   * conditions over a large collection would otherwise hold the event loop for seconds.
   */
  private async selected(s: Sub): Promise<string[]> {
    const db = this.host.db;
    const { collection, where } = s.filter;
    if (!where || filterTerms(where) <= SMALL_FILTER) return core(db).documentIds(collection, where);
    const all = core(db).documentIds(collection);
    const out: string[] = [];
    for (let i = 0; i < all.length; i += MATCH_SLICE) {
      for (const id of all.slice(i, i + MATCH_SLICE))
        if (matches(core(db).documentValue(collection, id), where)) out.push(id);
      await this.host.turn();
      if (this.isClosed()) return [];
    }
    return out;
  }

  /** Waits until the client has taken most of what was sent; false if the session ended (or was ended for lagging). */
  private async drained(): Promise<boolean> {
    const low = this.host.limits.maxBuffered / 4;
    const giveUp = this.host.now() + this.host.limits.heartbeatMs;
    while (!this.isClosed() && this.transport.buffered > low) {
      if (this.host.now() > giveUp) {
        this.fail(new SyncError('SLOW_CONSUMER', 'the client stopped reading'));
        return false;
      }
      await this.host.sleep(5);
    }
    // Let other sessions and messages run between chunks.
    await this.host.turn();
    return !this.isClosed();
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
    const out = this.select(event.changes, () => true, event.docs);
    if (out.changes.length + out.docs.length + out.evict.length === 0) return;
    const moved = new VersionVector();
    for (const [r, seq] of event.version.entries()) if (this.sentVersion!.get(r) < seq) moved.advance(r, seq);
    this.sentVersion = event.version;
    if (out.changes.length + out.docs.length > UPDATE_ITEMS) void this.sendUpdates(out, moved);
    else {
      // Sessions that need the same thing of one commit share one encoding of it (fan-out).
      const frames = this.host.frames(event);
      const key = frameKey(out, moved);
      let frame = frames.get(key);
      if (!frame) {
        frame = encodeMessage({ type: 'update', ...out, version: moved });
        frames.set(key, frame);
      }
      this.host.metrics.changesOut.inc(out.changes.length + out.docs.length);
      this.sendFrame(frame);
    }
    if (this.transport.buffered > this.host.limits.maxBuffered)
      this.fail(new SyncError('SLOW_CONSUMER', `more than ${this.host.limits.maxBuffered} bytes unread`));
  }

  /**
   * What the client needs of these changes — for each document, the subscriptions' decisions
   * (SubscriptionFilter) combined: its whole state if any subscription needs it whole, else its
   * changes if any needs them, else an eviction if one saw it leave. `transitions` (live
   * delivery) are every document the commit changed, with its JSON before and after.
   */
  private select(
    changes: readonly Change[],
    wanted: (s: Sub, c: Change) => boolean,
    transitions?: ChangeEvent['docs'],
  ): { changes: Change[]; docs: DocState[]; evict: DocRef[] } {
    const byDoc = new Map<string, Changed>();
    for (const c of changes) {
      if (!this.subs.some((s) => s.filter.collection === c.collection && wanted(s, c))) continue;
      const e = changed(byDoc, c.collection, c.docId);
      (c.dot.replica === this.replica ? e.own : e.changes).push(c);
    }
    for (const d of transitions ?? [])
      if (this.subs.some((s) => s.filter.collection === d.collection))
        changed(byDoc, d.collection, d.docId).transition = { before: d.before, after: d.after };
    const out = { changes: [] as Change[], docs: [] as DocState[], evict: [] as DocRef[] };
    for (const e of byDoc.values()) {
      const current = core(this.host.db).documentValue(e.collection, e.id);
      let state = false;
      let deltas = false;
      let evict = false;
      for (const s of this.subs) {
        if (s.filter.collection !== e.collection) continue;
        const d = s.filter.decide(
          e.changes.filter((c) => wanted(s, c)),
          current,
          e.own.some((c) => wanted(s, c)),
          e.transition,
        );
        state ||= d === 'state';
        deltas ||= d === 'changes';
        evict ||= d === 'evict';
      }
      if (state) {
        const stored = core(this.host.db).storedDocument(e.collection, e.id);
        if (stored) out.docs.push({ collection: e.collection, id: e.id, stored });
      } else if (deltas) out.changes.push(...e.changes);
      else if (evict) out.evict.push({ collection: e.collection, id: e.id });
    }
    return out;
  }

  private async sendUpdates(
    out: { changes: Change[]; docs: DocState[]; evict: DocRef[] },
    version: VersionVector | undefined,
  ): Promise<void> {
    this.host.metrics.changesOut.inc(out.changes.length + out.docs.length);
    const { changes, docs, evict } = out;
    // Large catch-ups go in pieces: no message near the size limit, and other sessions run between.
    while (changes.length > UPDATE_ITEMS || docs.length > UPDATE_ITEMS) {
      this.send({
        type: 'update',
        changes: changes.splice(0, UPDATE_ITEMS),
        docs: docs.splice(0, UPDATE_ITEMS),
        evict: [],
        version: undefined,
      });
      if (!(await this.drained())) return;
    }
    this.send({ type: 'update', changes, docs, evict, version });
  }

  /**
   * The client's changes: each must be in its own replica's name and new (a resent one must be
   * identical to what the server holds), then admitted (`Admission`). Refused ones are applied
   * as empty changes — the dot is used, nothing of it is stored — and the client is told, with
   * the document to roll back to. Changes that wait for a predecessor hold at most
   * `limits.maxPendingBytes` for this client.
   */
  private async push(changes: readonly Change[]): Promise<void> {
    const db = this.host.db;
    const principal = this.principal!;
    const held = db.version().get(this.replica!);
    const fresh: Change[] = [];
    const rejects: Array<{ change: Change; error: SyncError }> = [];
    let next = held;
    for (const c of changes) {
      if (c.dot.replica !== this.replica)
        throw new SyncError(
          'BAD_REPLICA',
          `a change in the name of ${c.dot.replica} on ${this.replica}'s connection`,
        );
      if (c.dot.seq <= next) {
        const logged =
          c.dot.seq <= held ? await core(db).loggedChange(c.dot) : fresh.find((a) => a.dot.seq === c.dot.seq);
        if (!logged || sameChange(logged, c)) continue;
        // The client's storage went back in time (a backup restored, a copy): it takes a new id.
        if (!logged.ops.equals(ORMap.empty()))
          throw new SyncError(
            'FORKED',
            `change ${c.dot.seq} of ${c.dot.replica} differs from the one the server holds`,
          );
        rejects.push({ change: c, error: new SyncError('REJECTED', 'this change was refused before') });
        continue;
      }
      next = Math.max(next, c.dot.seq);
      fresh.push(c);
    }
    const outcomes = await this.host.admission.judge(principal, fresh);
    const apply = outcomes.map(({ change, error }) =>
      error ? refused(change, this.host.now(), error.code !== 'BAD_ID') : change,
    );
    for (const o of outcomes) {
      if (!o.error) continue;
      rejects.push({ change: o.change, error: o.error });
      this.host.metrics.changesRejected.inc({ code: o.error.code });
    }
    if (apply.length > 0) {
      try {
        await db.applyChanges(apply, { maxHeldBytes: this.host.limits.maxPendingBytes });
      } catch (e) {
        if (e instanceof DbError && e.code === 'BUFFER_FULL') throw new SyncError('BUFFER_FULL', e.message);
        if (e instanceof DbError) throw new SyncError('BAD_MESSAGE', e.message);
        throw e;
      }
      this.host.metrics.changesIn.inc(outcomes.filter((o) => !o.error).length);
    }
    await this.host.admission.amend(outcomes);
    for (const { change, error } of rejects) {
      this.send({
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
    this.send({ type: 'ack', seq: db.version().get(this.replica!) });
  }

  private send(m: ServerMessage): void {
    if (this.isClosed() || this.transport.state !== 'open') return;
    this.sendFrame(encodeMessage(m));
  }

  private sendFrame(frame: Uint8Array): void {
    if (this.isClosed() || this.transport.state !== 'open') return;
    this.host.metrics.bytesOut.inc(frame.length);
    try {
      this.transport.send(frame);
    } catch (e) {
      // The link broke under us; its close ends the session.
      if (!(e instanceof DbError && e.code === 'CLOSED')) throw e;
    }
  }

  /** Ends the session: an `error` message saying why, then a close with the matching code. */
  fail(e: SyncError): void {
    if (this.isClosed()) return;
    this.host.metrics.errors.inc({ code: e.code });
    this.host.log.info({ code: e.code, replica: this.replica, reason: e.message }, 'sync session ended');
    this.send({ type: 'error', code: e.code, message: e.message });
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
    const left = when - Date.now();
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
      this.send({ type: 'ping', n: ++this.pingCount });
      this.scheduleHeartbeat();
    }, ms);
  }

  /** Waits for what is being handled, then ends the session (server shutdown). */
  async shutdown(): Promise<void> {
    await this.inbox;
    this.fail(new SyncError('SHUTDOWN', 'the server is stopping'));
  }
}

/** One document a commit (or a catch-up) changed: others' changes, the client's own, and its before/after. */
interface Changed {
  readonly collection: string;
  readonly id: string;
  readonly changes: Change[];
  readonly own: Change[];
  transition?: Transition;
}

function changed(byDoc: Map<string, Changed>, collection: string, id: string): Changed {
  const key = `${collection}\u0000${id}`;
  let e = byDoc.get(key);
  if (!e) {
    e = { collection, id, changes: [], own: [] };
    byDoc.set(key, e);
  }
  return e;
}

/** What identifies an update's content: the dots, documents and version entries it carries. */
function frameKey(
  out: { changes: Change[]; docs: DocState[]; evict: DocRef[] },
  version: VersionVector,
): string {
  let key = '';
  for (const c of out.changes) key += `${c.dot.replica}:${c.dot.seq},`;
  key += '|';
  for (const d of out.docs) key += `${d.collection}\u0000${d.id},`;
  key += '|';
  for (const d of out.evict) key += `${d.collection}\u0000${d.id},`;
  key += '|';
  for (const [r, seq] of version.entries()) key += `${r}:${seq},`;
  return key;
}

/**
 * What the server keeps of a refused change: its dot, so the replica's sequence has no gap, and
 * nothing else — not a timestamp ahead of the server's clock, nor ids no storage can keep
 * (`storable` false: a placeholder name stands for them).
 */
function refused(c: Change, now: number, storable: boolean): Change {
  const hlc = c.hlc.wall > now ? { wall: now, logical: 0, replica: c.hlc.replica } : c.hlc;
  const [collection, docId] = storable ? [c.collection, c.docId] : ['-', '-'];
  return { dot: c.dot, hlc, collection, docId, ops: ORMap.empty() };
}

/** Two changes with one dot carry the same content (a dot names one write, so equal ops are equal dots). */
function sameChange(a: Change, b: Change): boolean {
  return (
    a.collection === b.collection &&
    a.docId === b.docId &&
    compareTimestamps(a.hlc, b.hlc) === 0 &&
    a.ops.equals(b.ops)
  );
}

function isAtOrBefore(a: VersionVector, b: VersionVector): boolean {
  const c = a.compare(b);
  return c === 'before' || c === 'equal';
}

/** The version every one of `vvs` has reached. */
function meet(vvs: readonly VersionVector[]): VersionVector {
  const out = new VersionVector();
  const [first, ...rest] = vvs;
  if (!first) return out;
  for (const [r, seq] of first.entries()) out.advance(r, Math.min(seq, ...rest.map((v) => v.get(r))));
  return out;
}
