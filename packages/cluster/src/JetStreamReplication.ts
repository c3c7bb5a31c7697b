import { VersionVector } from '@concord/crdt';
import {
  type ConsumerMessages,
  JetStreamApiCodes,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ClusterError } from './ClusterError.js';
import type { EventReplication, ReplicationEndpoint } from './EventReplication.js';
import type { JournalEvent } from './ReplicatedEvent.js';
import { realTimers, type Timers } from './Timers.js';

/** How often a follower checks that its consumer still delivers. */
const STALL_CHECK_MS = 1000;

export interface JetStreamReplicationOptions {
  /** A connection to NATS with JetStream; the caller's to close. */
  readonly nc: NatsConnection;
  /** Names this deployment's streams, so several share one NATS server (letters, digits, - and _). */
  readonly deployment: string;
  /** This replica's id, and every replica's: one stream each. */
  readonly replica: string;
  readonly replicas: readonly string[];
  /** Delay before a failed publish or a lost consumer is tried again (default 500 ms). */
  readonly retryMs?: number;
  readonly timers?: Timers;
}

interface Follow {
  messages: ConsumerMessages | undefined;
  /** The stream sequence of the last message delivered, and at the last stall check. */
  applied: number;
  appliedAtCheck: number;
}

interface Attached {
  readonly endpoint: ReplicationEndpoint;
  readonly follows: Map<string, Follow>;
  /** This replica's last event the broker holds (by origin seq). */
  published: number;
  publishing: Promise<void>;
  retry: unknown;
  watchdog: unknown;
}

/**
 * Replicated event sourcing through NATS JetStream, where a broker exists: each replica
 * publishes its own events to a stream of its own (`<deployment>_res_<replica>`, one subject
 * per persistence id, `Nats-Msg-Id` = persistence id and seq, so a retried publish is stored
 * once), and follows the other replicas' streams with ordered consumers. The broker keeps
 * every replica's events durably, so a replica that was down, or cut off, reads what it missed
 * from the streams without any other replica being up.
 */
export class JetStreamReplication implements EventReplication {
  private readonly js: JetStreamClient;
  private readonly attached = new Map<string, Attached>();
  private readonly timers: Timers;
  private stopped = false;

  private constructor(
    private readonly o: JetStreamReplicationOptions,
    private readonly jsm: JetStreamManager,
  ) {
    this.js = jetstream(o.nc);
    this.timers = o.timers ?? realTimers;
  }

  /** Creates this replica's stream if it does not exist. */
  static async start(o: JetStreamReplicationOptions): Promise<JetStreamReplication> {
    if (!/^[A-Za-z0-9_-]+$/.test(o.deployment)) {
      throw new ClusterError(
        'BAD_ARGUMENT',
        `a deployment name is letters, digits, - and _: ${o.deployment}`,
      );
    }
    for (const r of o.replicas) {
      if (!/^[A-Za-z0-9_-]+$/.test(r))
        throw new ClusterError('BAD_ARGUMENT', `a replica id here is letters, digits, - and _: ${r}`);
    }
    const replication = new JetStreamReplication(o, await jetstreamManager(o.nc));
    await replication.ensureStream(o.replica);
    return replication;
  }

  attach(endpoint: ReplicationEndpoint): () => void {
    const a: Attached = {
      endpoint,
      follows: new Map(),
      published: -1,
      publishing: Promise.resolve(),
      retry: undefined,
      watchdog: undefined,
    };
    a.watchdog = this.timers.setInterval(() => void this.checkProgress(a), STALL_CHECK_MS);
    this.attached.set(endpoint.persistenceId, a);
    this.catchUpPublishing(a);
    for (const r of this.o.replicas) {
      if (r === this.o.replica) continue;
      const follow: Follow = { messages: undefined, applied: 0, appliedAtCheck: 0 };
      a.follows.set(r, follow);
      void this.follow(a, r, follow);
    }
    return () => {
      this.attached.delete(endpoint.persistenceId);
      this.timers.clearTimeout(a.retry);
      this.timers.clearInterval(a.watchdog);
      for (const f of a.follows.values()) void f.messages?.close().catch(() => undefined);
    };
  }

  publish(endpoint: ReplicationEndpoint, events: readonly JournalEvent[]): void {
    const a = this.attached.get(endpoint.persistenceId);
    if (!a) return;
    // In order, after what is already going out; a failure republishes everything after the
    // last event the broker confirmed.
    a.publishing = a.publishing.then(() => this.send(a, events));
  }

  /** Stops following and publishing (the connection is the caller's to close). */
  async close(): Promise<void> {
    this.stopped = true;
    for (const a of this.attached.values()) {
      this.timers.clearTimeout(a.retry);
      this.timers.clearInterval(a.watchdog);
      for (const f of a.follows.values()) await f.messages?.close().catch(() => undefined);
    }
    await Promise.all([...this.attached.values()].map((a) => a.publishing));
    this.attached.clear();
  }

  private streamOf(replica: string): string {
    return `${this.o.deployment}_res_${replica}`;
  }

  private subject(replica: string, persistenceId: string): string {
    return `${this.o.deployment}.res.${replica}.${Buffer.from(persistenceId, 'utf8').toString('base64url')}`;
  }

  private async ensureStream(replica: string): Promise<void> {
    const name = this.streamOf(replica);
    try {
      await this.jsm.streams.info(name);
    } catch (e) {
      if ((e as { code?: unknown }).code !== JetStreamApiCodes.StreamNotFound) throw e;
      await this.jsm.streams
        .add({ name, subjects: [`${this.o.deployment}.res.${replica}.>`] })
        .catch(async (err) => {
          await this.jsm.streams.info(name).catch(() => Promise.reject(err));
        });
    }
  }

  private async send(a: Attached, events: readonly JournalEvent[]): Promise<void> {
    if (a.published < 0) return; // not known yet: catching up sends these too
    const pid = a.endpoint.persistenceId;
    try {
      for (const e of events) {
        if (e.origin !== this.o.replica || e.seq <= a.published) continue;
        await this.js.publish(this.subject(this.o.replica, pid), JSON.stringify(e), {
          msgID: `${pid}:${e.seq}`,
        });
        a.published = e.seq;
      }
    } catch {
      // Nothing more goes out until catching up has learnt what the broker holds: a later
      // event stored before an earlier one would leave a hole its followers wait on forever.
      a.published = -1;
      this.retryLater(a);
    }
  }

  /** Learns the last event of this replica the broker holds, then publishes every later one. */
  private catchUpPublishing(a: Attached): void {
    a.publishing = a.publishing.then(async () => {
      if (this.stopped || !this.attached.has(a.endpoint.persistenceId)) return;
      try {
        const last = await this.jsm.streams
          .getMessage(this.streamOf(this.o.replica), {
            last_by_subj: this.subject(this.o.replica, a.endpoint.persistenceId),
          })
          .catch((e: { code?: unknown }) => {
            if (e.code === JetStreamApiCodes.NoMessageFound || e.code === 404) return null;
            throw e;
          });
        a.published = last ? (JSON.parse(new TextDecoder().decode(last.data)) as JournalEvent).seq : 0;
      } catch {
        a.published = -1;
        this.retryLater(a);
        return;
      }
      const upTo = new VersionVector();
      for (const [r, n] of a.endpoint.version().entries())
        upTo.advance(r, r === this.o.replica ? a.published : n);
      await this.send(a, await a.endpoint.eventsAfter(upTo, Number.MAX_SAFE_INTEGER));
    });
  }

  /**
   * A consumer that stopped delivering while its stream holds more (after NATS restarts, a
   * pull the client never learns is dead) is closed; `follow` starts another after the last
   * message delivered.
   */
  private async checkProgress(a: Attached): Promise<void> {
    for (const [r, f] of a.follows) {
      try {
        const last = await this.jsm.streams.getMessage(this.streamOf(r), {
          last_by_subj: this.subject(r, a.endpoint.persistenceId),
        });
        const stalled = last !== null && last.seq > f.applied && f.applied === f.appliedAtCheck;
        f.appliedAtCheck = f.applied;
        if (stalled) await f.messages?.close();
      } catch {
        // No such message or stream yet, or NATS away: the next check sees.
      }
    }
  }

  private retryLater(a: Attached): void {
    if (this.stopped) return;
    this.timers.clearTimeout(a.retry);
    a.retry = this.timers.setTimeout(() => this.catchUpPublishing(a), this.o.retryMs ?? 500);
  }

  /**
   * Follows replica `r`'s events for this entity with an ordered consumer, in stream order (its
   * origin order), delivering them in batches; any failure starts a new consumer after the
   * last message delivered. Events whose causal past came through another stream wait inside
   * the entity until it does.
   */
  private async follow(a: Attached, r: string, f: Follow): Promise<void> {
    const pid = a.endpoint.persistenceId;
    while (!this.stopped && this.attached.get(pid) === a) {
      try {
        const consumer = await this.js.consumers.get(this.streamOf(r), {
          filter_subjects: this.subject(r, pid),
          ...(f.applied > 0 ? { opt_start_seq: f.applied + 1 } : {}),
        });
        const messages = await consumer.consume({ max_messages: 1000, expires: 5_000 });
        f.messages = messages;
        if (this.stopped) await messages.close();
        let batch: JournalEvent[] = [];
        let last = f.applied;
        for await (const m of messages) {
          if (m.seq <= f.applied) continue;
          try {
            batch.push(JSON.parse(m.string()) as JournalEvent);
          } catch {
            // Only replicas publish here; a message that is no event is skipped.
          }
          last = m.seq;
          if (messages.getPending() > 0 && batch.length < 1000) continue;
          await a.endpoint.deliver(batch);
          f.applied = last;
          batch = [];
        }
        if (batch.length > 0) await a.endpoint.deliver(batch);
        f.applied = last;
      } catch {
        // The stream does not exist yet (that replica never started), or NATS is away.
      }
      if (!this.stopped)
        await new Promise((resolve) =>
          this.timers.setTimeout(() => resolve(undefined), this.o.retryMs ?? 500),
        );
    }
  }
}
