import type { PubAck } from '@nats-io/jetstream';
import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { FeedError } from './FeedError.js';

/** How long a message may wait for JetStream's acknowledgement. */
const ACK_TIMEOUT_MS = 10_000;

/**
 * Publishes to JetStream with many messages in flight on one connection, as the Go client's
 * `PublishAsync` does: each message is a core publish whose reply subject is a token under one
 * inbox, and the stream's acknowledgements (`PubAck` JSON, or an error) come back on one
 * subscription. `JetStreamClient.publish` makes every message a request of its own, and the
 * nats.js client builds an Error with a stack trace as each request ends (12 % of the feed
 * publisher's CPU in a profile). Timed by hand, 100,000 products alone: 2.6 s by request,
 * 1.56 s pipelined.
 */
export class PublishPipeline {
  private readonly inbox = `${createInbox()}.`;
  private readonly waiting = new Map<
    number,
    { resolve: (ack: PubAck) => void; reject: (e: Error) => void; at: number }
  >();
  private readonly sub: Subscription;
  private readonly sweeper: ReturnType<typeof setInterval>;
  private next = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly now: () => number = Date.now,
  ) {
    this.sub = nc.subscribe(`${this.inbox}*`, { callback: (_err, msg) => this.answered(msg) });
    // One timer for every message in flight, not one each.
    this.sweeper = setInterval(() => this.expire(), 1_000);
    this.sweeper.unref();
  }

  /** Publishes `data` to `subject` with `Nats-Msg-Id` `msgID`; resolves once the stream holds it. */
  publish(subject: string, data: Uint8Array, msgID: string): Promise<PubAck> {
    const token = ++this.next;
    const h = headers();
    h.set('Nats-Msg-Id', msgID);
    return new Promise<PubAck>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, at: this.now() });
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}${token}`, headers: h });
      } catch (e) {
        this.waiting.delete(token);
        reject(e as Error);
      }
    });
  }

  /** Stops listening; what is still in flight is rejected. */
  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
    this.fail(() => true, 'the publisher closed before JetStream acknowledged');
  }

  private answered(msg: Msg): void {
    const token = Number(msg.subject.slice(this.inbox.length));
    const w = this.waiting.get(token);
    if (!w) return; // answered after it expired
    this.waiting.delete(token);
    // No stream listens on the subject: the server says so with a 503 status.
    if (msg.headers?.code === 503) {
      w.reject(new FeedError('UNAVAILABLE', 'no JetStream stream takes this subject'));
      return;
    }
    try {
      const ack = msg.json<PubAck & { error?: { description?: string } }>();
      if (ack.error)
        w.reject(new FeedError('UNAVAILABLE', `JetStream refused a message: ${ack.error.description}`));
      else w.resolve(ack);
    } catch {
      w.reject(new FeedError('UNAVAILABLE', 'JetStream answered a publish with something not JSON'));
    }
  }

  private expire(): void {
    const before = this.now() - ACK_TIMEOUT_MS;
    this.fail((at) => at < before, `JetStream did not acknowledge within ${ACK_TIMEOUT_MS} ms`);
  }

  private fail(which: (at: number) => boolean, why: string): void {
    for (const [token, w] of this.waiting)
      if (which(w.at)) {
        this.waiting.delete(token);
        w.reject(new FeedError('UNAVAILABLE', why));
      }
  }
}
