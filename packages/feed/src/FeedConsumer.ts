import {
  AckPolicy,
  type Consumer,
  type ConsumerMessages,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { FeedError } from './FeedError.js';
import { type FeedRecord, feedRecord } from './FeedRecord.js';
import type { FeedStream } from './FeedStream.js';

/** One message taken from a feed: its record and the stream sequence that stored it. */
export interface FeedMessage {
  readonly record: FeedRecord;
  readonly seq: number;
}

/**
 * The latest message of each product in a batch (by stream sequence): what applying the batch
 * must leave, whatever order redeliveries brought its messages in.
 */
export function latestPerProduct(batch: readonly FeedMessage[]): FeedMessage[] {
  const latest = new Map<string, FeedMessage>();
  for (const m of batch) {
    const seen = latest.get(m.record.id);
    if (!seen || seen.seq < m.seq) latest.set(m.record.id, m);
  }
  return [...latest.values()];
}

/** What a consumer has done so far (its `/metrics`). */
export interface ConsumerStats {
  readonly applied: number;
  readonly redelivered: number;
  readonly deadLetters: number;
}

/** How long a message may stay unacknowledged before JetStream delivers it again. */
const ACK_WAIT_MS = 30_000;

/**
 * A durable JetStream consumer of a feed that applies messages in batches: `apply` takes a
 * batch of records and makes its effect durable; only then is every message of it
 * acknowledged. A message that is no feed
 * record goes to the stream's dead-letter subject with its reason, and is terminated: it never
 * blocks the stream. A batch whose `apply` fails is left unacknowledged, to be delivered again.
 */
export class FeedConsumer {
  private running = true;
  private loop: Promise<void> | undefined;
  private messages: ConsumerMessages | undefined;
  private stats = { applied: 0, redelivered: 0, deadLetters: 0 };
  /** Messages taken and not yet handed to `handle`, and the run of `handle`s draining them. */
  private queue: JsMsg[] = [];
  private draining: Promise<void> | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly stream: FeedStream,
    private readonly consumer: Consumer,
    private readonly apply: (batch: readonly FeedMessage[]) => Promise<void>,
    private readonly batch: number,
    private readonly check: (record: FeedRecord) => string | undefined | Promise<string | undefined>,
  ) {}

  /** Creates (or reuses) durable consumer `name` on `stream` and starts applying. */
  static async start(
    nc: NatsConnection,
    stream: FeedStream,
    name: string,
    apply: (batch: readonly FeedMessage[]) => Promise<void>,
    options: {
      readonly batch?: number;
      /** How long a delivered message may stay unacknowledged before it is delivered again (default 30 s). */
      readonly ackWaitMs?: number;
      /** Why a record cannot be applied (it then goes to the dead letters); undefined if it can. */
      readonly check?: (record: FeedRecord) => string | undefined | Promise<string | undefined>;
    } = {},
  ): Promise<FeedConsumer> {
    const jsm = await jetstreamManager(nc);
    await stream.ensure(jsm);
    await jsm.consumers.add(stream.name, {
      durable_name: name,
      ack_policy: AckPolicy.Explicit,
      ack_wait: (options.ackWaitMs ?? ACK_WAIT_MS) * 1_000_000,
      filter_subject: `${stream.name}.product.>`,
      max_ack_pending: 10_000,
    });
    const consumer = await jetstream(nc).consumers.get(stream.name, name);
    const c = new FeedConsumer(
      nc,
      stream,
      consumer,
      apply,
      options.batch ?? 2000,
      options.check ?? (() => undefined),
    );
    c.loop = c.run();
    return c;
  }

  get progress(): ConsumerStats {
    return { ...this.stats };
  }

  /** How many messages of the stream this consumer has not acknowledged yet (its lag). */
  async lag(): Promise<number> {
    const info = await this.consumer.info();
    return info.num_pending + info.num_ack_pending;
  }

  /** Stops after the batch in hand (whose messages are then acknowledged or left for redelivery). */
  async stop(): Promise<void> {
    this.running = false;
    await this.messages?.close().catch(() => undefined);
    await this.loop;
  }

  /**
   * Pulls and applies at once: the next pull is asked for as soon as the last one's messages
   * have arrived, while they are still being applied (waiting for them to be applied first left
   * the consumers two seconds behind a full feed's publish). At most two pulls' messages are
   * held. Pulls and not `consume()`: under a full feed, a consume of 1,000 was seen to stall for
   * its whole 30 s expiry.
   */
  private async run(): Promise<void> {
    while (this.running) {
      try {
        this.messages = await this.consumer.fetch({ max_messages: this.batch, expires: 1_000 });
        for await (const m of this.messages) this.take(m);
      } catch {
        // NATS went away for a moment: the client reconnects; fetch again.
      }
      if (this.queue.length >= this.batch) await this.draining;
    }
    await this.draining;
    // Stopping: whoever consumes next takes these at once, not after the ack wait.
    for (const m of this.queue) m.nak();
    this.queue = [];
  }

  /**
   * Queues a message and applies what is queued in batches of what has arrived: a lone price
   * change is applied at once, not when the pull fills or expires (that held the last changes
   * of an hourly update up to the pull's 1 s expiry); while a batch is applied, the next
   * gathers.
   */
  private take(m: JsMsg): void {
    if (!this.running) {
      m.nak();
      return;
    }
    this.queue.push(m);
    this.draining ??= (async () => {
      try {
        while (this.queue.length > 0 && this.running) {
          const batch = this.queue;
          this.queue = [];
          await this.handle(batch);
        }
      } catch {
        // A dead letter could not be published (NATS away): the batch is delivered again.
      } finally {
        this.draining = undefined;
      }
    })();
  }

  private async handle(messages: readonly JsMsg[]): Promise<void> {
    const good: FeedMessage[] = [];
    const taken: JsMsg[] = [];
    for (const m of messages) {
      if (m.info.deliveryCount > 1) this.stats.redelivered++;
      let record: FeedRecord;
      try {
        record = feedRecord(m.json(), `${m.subject} #${m.seq}`);
      } catch (e) {
        await this.deadLetter(m, e instanceof FeedError ? e.message : `not JSON: ${String(e)}`);
        continue;
      }
      const refused = await this.check(record);
      if (refused !== undefined) {
        await this.deadLetter(m, `${record.id}: ${refused}`);
        continue;
      }
      good.push({ record, seq: m.seq });
      taken.push(m);
    }
    if (good.length === 0) return;
    try {
      await this.apply(good);
    } catch (e) {
      if (isRecordFault(e) && good.length > 1) {
        // One record the batch cannot take: each alone, the bad one to the dead letters.
        for (let i = 0; i < good.length; i++) await this.applyOne(good[i]!, taken[i]!);
        return;
      }
      if (isRecordFault(e)) return this.deadLetter(taken[0]!, (e as Error).message);
      // Not applied (the store is down, say): left for JetStream to deliver again.
      for (const m of taken) m.nak(1_000);
      return;
    }
    await this.acknowledge(taken);
    this.stats.applied += good.length;
  }

  private async applyOne(message: FeedMessage, m: JsMsg): Promise<void> {
    try {
      await this.apply([message]);
    } catch (e) {
      if (isRecordFault(e)) return this.deadLetter(m, (e as Error).message);
      m.nak(1_000);
      return;
    }
    await this.acknowledge([m]);
    this.stats.applied++;
  }

  /**
   * Acknowledges applied messages: a plain ack each, then one round trip (`flush`) that returns
   * once the server has read them — NATS handles a connection's messages in order. Not
   * `ackAck`: a request per message cost the consumer more than applying it (the client builds
   * two stack-traced errors per request), and an ack lost with the link only brings a
   * redelivery that the consumers' idempotence makes harmless.
   */
  private async acknowledge(messages: readonly JsMsg[]): Promise<void> {
    for (const m of messages) m.ack();
    await this.nc.flush().catch(() => undefined);
  }

  /** Publishes `m` to the dead-letter subject with its reason, then tells JetStream never to deliver it again. */
  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    const h = headers();
    h.set('Concord-Reason', reason.slice(0, 500));
    h.set('Concord-Subject', m.subject);
    h.set('Concord-Seq', String(m.seq));
    await jetstream(this.nc).publish(this.stream.deadLetter(m.seq), m.data, { headers: h });
    m.term();
    this.stats.deadLetters++;
  }
}

/** A failure that is the record's own (`FeedError BAD_RECORD`): applying it again can never succeed. */
function isRecordFault(e: unknown): boolean {
  return e instanceof FeedError && e.code === 'BAD_RECORD';
}
