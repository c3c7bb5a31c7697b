import { VersionVector } from '@concord/crdt';
import { type Change, type ChangeEvent, type Database, decodeChanges, encodeChanges } from '@concord/db';
import {
  type ConsumerMessages,
  JetStreamApiCodes,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Log } from './SyncServer.js';

export interface ChangeLogOptions {
  /** This node's database: the log's changes go into it, and what it commits goes to the log. */
  readonly db: Database;
  readonly nc: NatsConnection;
  /** The deployment (`--schema`): its nodes share the stream `<deployment>_changes`. */
  readonly deployment: string;
  readonly log?: Log;
  /** How long a failed publish waits before it is tried again (default 500 ms). */
  readonly retryMs?: number;
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
 * write again, to whichever node it reaches next. A node starting replays the stream into its
 * database and serves once caught up.
 */
export class ChangeLog {
  /** The dots this node took from the log: its commits of them are not published again. */
  private readonly fromLog = new VersionVector();
  /** Publishes not yet confirmed, each retried until the log holds its change. */
  private readonly pending = new Set<Promise<void>>();
  private readonly js: JetStreamClient;
  private readonly stream: string;
  private readonly subject: string;
  private readonly stopEvents: () => void;
  private messages: ConsumerMessages | undefined;
  private following: Promise<void> | undefined;
  private stopped = false;

  private constructor(private readonly o: ChangeLogOptions) {
    if (!/^[A-Za-z0-9_-]+$/.test(o.deployment))
      throw new TypeError(`a deployment name is letters, digits, - and _: ${o.deployment}`);
    this.js = jetstream(o.nc);
    this.stream = `${o.deployment}_changes`;
    this.subject = `${o.deployment}.changes`;
    this.stopEvents = o.db.onChange((e) => this.committed(e));
  }

  /** Creates the stream if needed, replays it into the database, then follows it. */
  static async start(o: ChangeLogOptions): Promise<ChangeLog> {
    const log = new ChangeLog(o);
    await log.ensureStream();
    await log.follow();
    return log;
  }

  /** Resolves once every change this node committed so far is in the log. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopEvents();
    await this.messages?.close().catch(() => undefined);
    await this.following;
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
   * Consumes the stream from its start with an ordered consumer (which JetStream's client
   * recreates after a lost link, from where it was); resolves once caught up with what the
   * stream held when the node started.
   */
  private async follow(): Promise<void> {
    const jsm = await jetstreamManager(this.o.nc);
    const last = (await jsm.streams.info(this.stream)).state.last_seq;
    const consumer = await this.js.consumers.get(this.stream);
    this.messages = await consumer.consume({ max_messages: 1000 });
    let caughtUp: () => void = () => undefined;
    const ready = new Promise<void>((r) => {
      caughtUp = r;
    });
    if (last === 0) caughtUp();
    const messages = this.messages;
    this.following = (async () => {
      let batch: JsMsg[] = [];
      for await (const m of messages) {
        batch.push(m);
        if (messages.getPending() > 0 && batch.length < 1000) continue;
        await this.apply(batch);
        if (batch[batch.length - 1]!.seq >= last) caughtUp();
        batch = [];
      }
    })().catch((e) => {
      if (!this.stopped) this.o.log?.error({ err: e }, 'the change log stopped');
    });
    await ready;
  }

  /** Applies a run of the log's messages to the database. */
  private async apply(batch: readonly JsMsg[]): Promise<void> {
    const changes: Change[] = [];
    for (const m of batch) {
      try {
        changes.push(...decodeChanges(m.data));
      } catch (e) {
        // Only nodes publish here; a message that is no change batch is skipped, said once.
        this.o.log?.error({ err: e, seq: m.seq }, 'not a change batch in the change log');
      }
    }
    for (const c of changes) this.fromLog.advance(c.dot.replica, c.dot.seq);
    if (changes.length > 0) await this.o.db.applyChanges(changes);
  }

  /** A commit of this node's database: what did not come from the log goes to it. */
  private committed(e: ChangeEvent): void {
    for (const c of e.changes) {
      if (c.dot.seq <= this.fromLog.get(c.dot.replica)) continue;
      const sent = this.publish(c);
      this.pending.add(sent);
      void sent.finally(() => this.pending.delete(sent));
    }
  }

  /** Publishes one change, again and again until the log holds it (NATS may be away a while). */
  private async publish(c: Change): Promise<void> {
    const data = encodeChanges([c]);
    const msgID = `${c.dot.replica}.${c.dot.seq}`;
    for (;;) {
      try {
        await this.js.publish(this.subject, data, { msgID });
        return;
      } catch (e) {
        if (this.stopped && this.o.nc.isClosed()) throw e;
        this.o.log?.warn({ err: e, dot: msgID }, 'publishing to the change log failed; trying again');
        await new Promise((r) => setTimeout(r, this.o.retryMs ?? 500));
      }
    }
  }
}
