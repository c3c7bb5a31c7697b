import { DeliverPolicy, type JetStreamClient } from '@nats-io/jetstream';
import { contentId, type FeedRecord, recordJson } from './FeedRecord.js';
import type { FeedStream } from './FeedStream.js';

/** How a publish is going: records read, how many were stored, how many the stream had already. */
export interface PublishProgress {
  readonly published: number;
  readonly stored: number;
  readonly duplicates: number;
}

/** Publishes in flight at once: enough to keep JetStream busy, bounded so memory is. */
const IN_FLIGHT = 512;

/**
 * Publishes feed records to a feed's stream, one message per product on its own subject, and
 * only what changed: first it reads the content id of every product's current message (one
 * pass over the stream, headers only), then it skips each record whose content is the current
 * one, so publishing the same feed twice stores it once and an unchanged product costs the
 * consumers nothing. A changed record's `Nats-Msg-Id` names its content and the stream
 * sequence of the message it replaces (`<content>.<sequence>`): a publish retried after a lost
 * acknowledgement is stored once (JetStream's duplicate window), while a price changed back to
 * an earlier value — the same content as an earlier message, but replacing another — is stored,
 * not taken for that earlier message. Resolves once JetStream has acknowledged every message
 * (each is durable then).
 */
export async function publishFeed(
  js: JetStreamClient,
  stream: FeedStream,
  records: AsyncIterable<FeedRecord> | Iterable<FeedRecord>,
  onProgress?: (p: PublishProgress) => void,
): Promise<PublishProgress> {
  const current = await currentContent(js, stream);
  let published = 0;
  let stored = 0;
  let duplicates = 0;
  const inFlight = new Set<Promise<void>>();
  const encoder = new TextEncoder();
  const publishAll = async () => {
    for await (const r of records) {
      published++;
      const content = await contentId(r);
      const previous = current.get(r.id);
      if (previous?.content === content) {
        duplicates++;
        onProgress?.({ published, stored, duplicates });
        continue;
      }
      const msgID = `${content}.${previous?.seq ?? 0}`;
      // A feed that lists a product twice: its second record compares with its first.
      const entry = { content, seq: previous?.seq ?? 0 };
      current.set(r.id, entry);
      const sent = js
        .publish(stream.subject(r.id), encoder.encode(JSON.stringify(recordJson(r))), { msgID })
        .then((ack) => {
          entry.seq = ack.seq;
          if (ack.duplicate) duplicates++;
          else stored++;
          onProgress?.({ published, stored, duplicates });
        });
      const tracked = sent.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  };
  try {
    await publishAll();
  } catch (e) {
    // A publish failed (or the feed is bad): the others settle before the error is told.
    await Promise.allSettled(inFlight);
    throw e;
  }
  return { published, stored, duplicates };
}

/** Each product's current message: its content id (from its `Nats-Msg-Id`) and stream sequence. */
async function currentContent(
  js: JetStreamClient,
  stream: FeedStream,
): Promise<Map<string, { content: string; seq: number }>> {
  const out = new Map<string, { content: string; seq: number }>();
  const consumer = await js.consumers.get(stream.name, {
    filter_subjects: `${stream.name}.product.>`,
    deliver_policy: DeliverPolicy.LastPerSubject,
    headers_only: true,
  });
  try {
    let pending = (await consumer.info()).num_pending;
    while (pending > 0) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, 10_000), expires: 5_000 });
      let taken = 0;
      for await (const m of batch) {
        taken++;
        const id = m.headers?.get('Nats-Msg-Id');
        out.set(stream.idOf(m.subject), { content: id?.split('.')[0] ?? '', seq: m.seq });
        pending = m.info.pending;
      }
      if (taken === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
  return out;
}
