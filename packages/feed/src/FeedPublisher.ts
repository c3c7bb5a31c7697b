import type { JetStreamClient } from '@nats-io/jetstream';
import { contentId, type FeedRecord, recordJson } from './FeedRecord.js';
import type { FeedStream } from './FeedStream.js';

/** How a publish is going: records sent, how many JetStream stored, how many it had already. */
export interface PublishProgress {
  readonly published: number;
  readonly stored: number;
  readonly duplicates: number;
}

/** Publishes in flight at once: enough to keep JetStream busy, bounded so memory is. */
const IN_FLIGHT = 512;

/**
 * Publishes feed records to a feed's stream, one message per product on its own subject, with a
 * `Nats-Msg-Id` naming its content: publishing the same feed twice stores it once, and a
 * product that did not change between two feeds costs the consumers nothing. Resolves once
 * JetStream has acknowledged every message (each is durable then).
 */
export async function publishFeed(
  js: JetStreamClient,
  stream: FeedStream,
  records: AsyncIterable<FeedRecord> | Iterable<FeedRecord>,
  onProgress?: (p: PublishProgress) => void,
): Promise<PublishProgress> {
  let published = 0;
  let stored = 0;
  let duplicates = 0;
  const inFlight = new Set<Promise<void>>();
  const encoder = new TextEncoder();
  try {
    await publishAll();
  } catch (e) {
    // A publish failed (or the feed is bad): the others settle before the error is told.
    await Promise.allSettled(inFlight);
    throw e;
  }
  return { published, stored, duplicates };

  async function publishAll(): Promise<void> {
    for await (const r of records) {
      const sent = js
        .publish(stream.subject(r.id), encoder.encode(JSON.stringify(recordJson(r))), {
          msgID: await contentId(r),
        })
        .then((ack) => {
          if (ack.duplicate) duplicates++;
          else stored++;
          onProgress?.({ published, stored, duplicates });
        });
      published++;
      const tracked = sent.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }
}
