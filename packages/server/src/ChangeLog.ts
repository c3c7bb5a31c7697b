import { VersionVector } from '@concord/crdt';
import {
  type Change,
  type ChangeEvent,
  type Database,
  decodeChanges,
  decodeSnapshot,
  encodeChanges,
  encodeSnapshot,
} from '@concord/db';
import { core } from '@concord/db/internal';
import {
  type ConsumerMessages,
  JetStreamApiCodes,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LogCompaction } from './LogCompaction.js';
import type { LogSnapshots } from './LogSnapshots.js';
import type { Log } from './SyncServer.js';

/** How often a node checks that its change log consumer still delivers while the stream grows. */
const STALL_CHECK_MS = 3_000;
/** Bytes of a NATS message left for its headers (`Nats-Msg-Id` and the protocol's own). */
const HEADER_ROOM = 1024;

export interface ChangeLogOptions {
  /** This node's database: the log's changes go into it, and what it commits goes to the log. */
  readonly db: Database;
  readonly nc: NatsConnection;
  /** The deployment (`--schema`): its nodes share the stream `<deployment>_changes`. */
  readonly deployment: string;
  readonly log?: Log;
  /** How long a failed publish waits before it is tried again (default 500 ms). */
  readonly retryMs?: number;
  /** The deployment's compacted states, in PostgreSQL. */
  readonly snapshots: LogSnapshots;
  /**
   * How many of the log's messages come between snapshots (default 100,000). The stream keeps
   * between one and two such spans: a node starting replays at most that much, and a client's
   * cursor within it catches up by delta on a node that started since.
   */
  readonly compactEvery?: number;
}

/**
 * The change log of a deployment of several sync nodes (DESIGN.md, Scale-out): a JetStream
 * stream every node publishes the changes it commits to — a client's push once admitted, the
 * feed's upserts, REST writes, amendments — each with its dot as `Nats-Msg-Id`, so a retried
 * publish is stored once; and every node consumes, in order, into its own database, whose
 * commits its sync server fans out to its clients. Cursors are version vectors over dots, so
 * a client moves to any node and receives only what it lacks.
 *
 * A node acknowledges a write only once the log holds it (`flush`), so a node killed after
 * acknowledging loses nothing; one killed before never acknowledged, and the client sends the
 * write again, to whichever node it reaches next.
 *
 * Every `compactEvery` messages one node (they take turns, `LogSnapshots`) stores its database
 * whole in PostgreSQL with the sequence it stands for, and the stream is purged up to the older
 * of the two snapshots kept. A node starting loads the snapshot the stream's first message
 * continues, replays the tail, and serves once caught up; so does a node that finds the stream
 * trimmed past what it applied (it was cut from NATS a long while).
 */
export class ChangeLog {
  /** The dots this node took from the log: its commits of them are not published again. */
  private readonly fromLog = new VersionVector();
  /** Publishes not yet confirmed, each retried until the log holds its change. */
  private readonly pending = new Set<Promise<void>>();
  /**
   * The changes of this node's messages not yet seen back in the log, by `Nats-Msg-Id`: the
   * database holds them already, so they are not decoded again (that was an eighth of a node's
   * CPU under a full feed).
   */
  private readonly own = new Map<string, readonly Change[]>();
  private readonly js: JetStreamClient;
  private readonly stream: string;
  private readonly subject: string;
  private readonly stopEvents: () => void;
  private messages: ConsumerMessages | undefined;
  /** The stream sequence of the last message applied, and at the last progress check. */
  private applied = 0;
  private appliedAtCheck = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private following: Promise<void> | undefined;
  private stopped = false;
  /** The sequence of the deployment's newest snapshot, as last seen. */
  private newestSnapshot = 0;
  private compaction: Promise<void> | undefined;
  /**
   * The database's own log, kept for the last two spans of `compactEvery` messages or more:
   * everything the stream still holds (it keeps one to two spans, from the older of its two
   * snapshots), so a cursor the stream can bring up to date this node can by delta.
   */
  private readonly dbLog: LogCompaction;
  /** Where the current span of messages began. */
  private spanStart = 0;

  private constructor(private readonly o: ChangeLogOptions) {
    if (!/^[A-Za-z0-9_-]+$/.test(o.deployment))
      throw new TypeError(`a deployment name is letters, digits, - and _: ${o.deployment}`);
    this.js = jetstream(o.nc);
    this.stream = `${o.deployment}_changes`;
    this.subject = `${o.deployment}.changes`;
    this.stopEvents = o.db.onChange((e) => this.committed(e));
    this.dbLog = new LogCompaction(o.db, 2, o.log);
  }

  /** Creates the stream if needed, replays it into the database, then follows it. */
  static async start(o: ChangeLogOptions): Promise<ChangeLog> {
    const log = new ChangeLog(o);
    await log.ensureStream();
    log.newestSnapshot = await o.snapshots.newest();
    await log.follow();
    return log;
  }

  /** The bytes one message carries (the NATS server's `max_payload`, 1 MiB unless configured). */
  private get payload(): number {
    return this.o.nc.info?.max_payload ?? 1024 * 1024;
  }

  /**
   * The largest change the log takes in one message (`Limits.maxChangeBytes`): a node admits
   * none larger, which it could never make durable.
   */
  get maxChangeBytes(): number {
    return this.payload - HEADER_ROOM;
  }

  /** Resolves once every change this node committed so far is in the log. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /**
   * Resolves true once the database holds everything `version` names (a client's cursor from
   * another node: the log brings it here too), false once it has come no closer for
   * `timeoutMs`. A node replaying the log (just started, or back from a NATS outage) may take
   * longer than that in all while coming closer all the while: giving up then would send its
   * client everything again instead of what it lacks. A cursor from another history comes no
   * closer, however busy the node.
   */
  reaches(version: VersionVector, timeoutMs = 5_000): Promise<boolean> {
    // How many changes `version` names that the database does not hold.
    const lacking = () => {
      const now = this.o.db.version();
      let n = 0;
      for (const [replica, seq] of version.entries()) n += Math.max(0, seq - now.get(replica));
      return n;
    };
    let left = lacking();
    if (left === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer = setTimeout(() => done(false), timeoutMs);
      const off = this.o.db.onChange(() => {
        const now = lacking();
        if (now === 0) done(true);
        else if (now < left) {
          left = now;
          clearTimeout(timer);
          timer = setTimeout(() => done(false), timeoutMs);
        }
      });
      const done = (ok: boolean) => {
        off();
        clearTimeout(timer);
        resolve(ok);
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    this.stopEvents();
    await this.messages?.close().catch(() => undefined);
    await this.following;
    await this.compaction;
    await this.dbLog.settled();
    await this.flush();
  }

  private async ensureStream(): Promise<void> {
    const jsm = await jetstreamManager(this.o.nc);
    try {
      await jsm.streams.info(this.stream);
    } catch (e) {
      if ((e as { code?: unknown }).code !== JetStreamApiCodes.StreamNotFound) throw e;
      await jsm.streams.add({ name: this.stream, subjects: [this.subject] }).catch(async (err) => {
        // Another node created it meanwhile.
        await jsm.streams.info(this.stream).catch(() => Promise.reject(err));
      });
    }
  }

  /**
   * Consumes the stream in order, from its start, with an ordered consumer; resolves once caught
   * up with what the stream held when the node started. The client recreates an ordered
   * consumer after a lost link; should the consumer end anyway (NATS down longer than it
   * retries, the stream not back yet after a restart), a new one starts after the last message
   * applied — the node never stops following.
   */
  private async follow(): Promise<void> {
    const jsm = await jetstreamManager(this.o.nc);
    const last = (await jsm.streams.info(this.stream)).state.last_seq;
    let caughtUp: () => void = () => undefined;
    const ready = new Promise<void>((r) => {
      caughtUp = r;
    });
    if (last === 0) caughtUp();
    this.watchdog = setInterval(() => void this.checkProgress(), STALL_CHECK_MS);
    this.watchdog.unref();
    this.following = (async () => {
      while (!this.stopped) {
        try {
          await this.continueFromSnapshot();
          if (this.applied >= last) caughtUp();
          const consumer = await this.js.consumers.get(
            this.stream,
            this.applied > 0 ? { opt_start_seq: this.applied + 1 } : {},
          );
          // A pull expires every 5 s (heartbeats every 2.5 s): after NATS restarts, the client
          // notices a dead pull in seconds, not the default 30.
          const messages = await consumer.consume({ max_messages: 1000, expires: 5_000 });
          this.messages = messages;
          if (this.stopped) await messages.close();
          let batch: JsMsg[] = [];
          const flush = async () => {
            if (batch.length === 0) return;
            await this.apply(batch);
            this.applied = batch[batch.length - 1]!.seq;
            if (this.applied >= last) caughtUp();
            batch = [];
            this.compactIfDue();
            if (this.applied - this.spanStart >= (this.o.compactEvery ?? 100_000)) {
              this.spanStart = this.applied;
              this.dbLog.spanEnded(this.o.db.version());
            }
          };
          for await (const m of messages) {
            const next = (batch.length > 0 ? batch[batch.length - 1]!.seq : this.applied) + 1;
            if (m.seq < next) continue; // a consumer started over: already applied
            if (m.seq > next) {
              // The stream's sequences have no holes (only its start is purged), so a message
              // came that skipped others: the stream was trimmed past what this node applied,
              // or the client's ordered consumer resumed past messages it never delivered
              // (seen after NATS restarts). Start over after the last, from a snapshot if trimmed.
              this.o.log?.warn(
                { expected: next, got: m.seq },
                'the change log skipped messages; starting over',
              );
              await flush();
              break;
            }
            batch.push(m);
            if (messages.getPending() > 0 && batch.length < 1000) continue;
            await flush();
          }
          await flush();
          await messages.close().catch(() => undefined);
        } catch (e) {
          if (!this.stopped) this.o.log?.warn({ err: e }, 'following the change log failed; starting over');
        }
        if (!this.stopped) await new Promise((r) => setTimeout(r, this.o.retryMs ?? 500));
      }
    })();
    await ready;
  }

  /**
   * If the stream no longer holds the message after the last applied (it was trimmed: a node
   * starting, or one cut off from NATS meanwhile), joins the snapshot the stream continues.
   */
  private async continueFromSnapshot(): Promise<void> {
    const jsm = await jetstreamManager(this.o.nc);
    const first = (await jsm.streams.info(this.stream)).state.first_seq;
    if (first <= this.applied + 1) return;
    const s = await this.o.snapshots.continuedAt(first);
    if (!s) {
      // Trimmed by hand, or by limits someone set on the stream: what is gone is gone here.
      this.o.log?.error(
        { applied: this.applied, first },
        'the change log was trimmed past every snapshot: this node lacks what was purged',
      );
      this.applied = first - 1;
      return;
    }
    const snapshot = decodeSnapshot(s.bytes, core(this.o.db).interner);
    // Everything in it is in the log: none of it is this node's to publish. Its own messages
    // purged before they came back never will: forgotten (later ones are decoded, harmlessly).
    this.fromLog.merge(snapshot.version);
    this.own.clear();
    await this.o.db.applySnapshot(snapshot);
    this.applied = s.seq;
    this.o.log?.info({ seq: s.seq, first }, 'loaded the change log snapshot');
  }

  /**
   * Every `compactEvery` messages, unless another node is at it: the database whole goes to
   * PostgreSQL with the sequence it stands for, then the stream is purged up to the older
   * snapshot kept. The database holds at least the log up to `applied`; what more it holds
   * (this node's commits on their way) is in the log once `flush` resolves, and joining it
   * twice is harmless.
   */
  private compactIfDue(): void {
    const every = this.o.compactEvery ?? 100_000;
    if (this.compaction || this.applied - this.newestSnapshot < every) return;
    this.compaction = (async () => {
      try {
        const turn = await this.o.snapshots.takeTurn(
          (newest) => this.applied - newest >= every,
          async () => {
            const seq = this.applied;
            const snapshot = this.o.db.snapshot();
            await this.flush();
            return { seq, bytes: encodeSnapshot(snapshot) };
          },
          async (to) => {
            await (await jetstreamManager(this.o.nc)).streams.purge(this.stream, { seq: to + 1 });
          },
        );
        // Another node taking one: not due here for another span.
        if (turn.kind === 'busy') this.newestSnapshot = Math.max(this.newestSnapshot, this.applied);
        if (turn.kind === 'fresh') this.newestSnapshot = turn.newest;
        if (turn.kind !== 'stored') return;
        this.newestSnapshot = turn.seq;
        this.o.log?.info({ seq: turn.seq, trimmedTo: turn.trimTo }, 'stored a change log snapshot');
      } catch (e) {
        this.o.log?.warn(
          { err: e },
          'storing a change log snapshot or trimming the log failed; trying again later',
        );
      } finally {
        this.compaction = undefined;
      }
      // Messages that came meanwhile may make the next one due already.
      if (!this.stopped) this.compactIfDue();
    })();
  }

  /**
   * A consumer that has stopped delivering while the stream holds more (seen after NATS
   * restarts: a pull the client never learns is dead) is closed, and `follow` starts another
   * after the last message applied.
   */
  private async checkProgress(): Promise<void> {
    try {
      const jsm = await jetstreamManager(this.o.nc);
      const last = (await jsm.streams.info(this.stream)).state.last_seq;
      const stalled = last > this.applied && this.applied === this.appliedAtCheck;
      this.appliedAtCheck = this.applied;
      if (!stalled || this.stopped) return;
      this.o.log?.warn({ applied: this.applied, last }, 'the change log stalled; starting over');
      await this.messages?.close();
    } catch {
      // NATS away: the next check sees.
    }
  }

  /** Applies a run of the log's messages to the database. */
  private async apply(batch: readonly JsMsg[]): Promise<void> {
    const changes: Change[] = [];
    for (const m of batch) {
      const id = m.headers?.get('Nats-Msg-Id');
      const mine = id ? this.own.get(id) : undefined;
      if (mine) {
        this.own.delete(id!);
        for (const c of mine) this.fromLog.advance(c.dot.replica, c.dot.seq);
        continue;
      }
      try {
        changes.push(...decodeChanges(m.data, core(this.o.db).interner));
      } catch (e) {
        // Only nodes publish here; a message that is no change batch is skipped, said once.
        this.o.log?.error({ err: e, seq: m.seq }, 'not a change batch in the change log');
      }
    }
    for (const c of changes) this.fromLog.advance(c.dot.replica, c.dot.seq);
    if (changes.length > 0) await this.o.db.applyChanges(changes);
  }

  /**
   * A commit of this node's database: what did not come from the log goes to it, the commit's
   * changes in one message (in several if they exceed half NATS's payload limit). One message
   * per change made a feed's 100,000 upserts 100,000 publish round trips, the node's largest
   * cost in the feed pipeline.
   */
  private committed(e: ChangeEvent): void {
    const mine = e.changes.filter((c) => c.dot.seq > this.fromLog.get(c.dot.replica));
    if (mine.length === 0) return;
    for (const part of encodeParts(mine, this.payload / 2)) {
      const sent = this.publish(part.data, part.changes);
      this.pending.add(sent);
      void sent.finally(() => this.pending.delete(sent));
    }
    // Out now, not in the microtask the client would write it in: this node's sync server sends
    // the commit to its own clients next (on 333 WebSockets, 10 ms in the fan-out bench), and the
    // other nodes' clients waited for that before the change left for the log.
    this.o.nc.flush().catch(() => undefined);
  }

  /**
   * Publishes encoded changes, again and again until the log holds them (NATS may be away a
   * while). Its `Nats-Msg-Id` names the first change's dot and how many: a retried publish is
   * stored once; a client's changes pushed again to another node after a failover may be
   * grouped otherwise and stored twice, which nodes' idempotent apply makes harmless.
   */
  private async publish(data: Uint8Array, changes: readonly Change[]): Promise<void> {
    const first = changes[0]!;
    const n = changes.length;
    const msgID = `${first.dot.replica}.${first.dot.seq}+${n}`;
    this.own.set(msgID, changes);
    for (;;) {
      try {
        const ack = await this.js.publish(this.subject, data, { msgID });
        // Stored before, by this node or another: the log brings that one (or brought it).
        if (ack.duplicate) this.own.delete(msgID);
        return;
      } catch (e) {
        if (this.stopped && this.o.nc.isClosed()) throw e;
        this.o.log?.warn({ err: e, dot: msgID }, 'publishing to the change log failed; trying again');
        await new Promise((r) => setTimeout(r, this.o.retryMs ?? 500));
      }
    }
  }
}

/** `changes` encoded in runs of at most `limit` bytes (a single change may exceed it). */
function* encodeParts(
  changes: readonly Change[],
  limit: number,
): Generator<{ data: Uint8Array; changes: readonly Change[] }> {
  const data = encodeChanges(changes);
  if (data.length <= limit || changes.length === 1) {
    yield { data, changes };
    return;
  }
  const half = changes.length >> 1;
  yield* encodeParts(changes.slice(0, half), limit);
  yield* encodeParts(changes.slice(half), limit);
}
