import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { FeedStream } from './FeedStream.js';

/** A product's current message: its content id (from its `Nats-Msg-Id`) and stream sequence. */
export interface Current {
  content: string;
  seq: number;
}

/** Bytes of the index a message carries: well under NATS's default 1 MB payload limit. */
const CHUNK_BYTES = 512 * 1024;

interface Head {
  /** Every product message up to this stream sequence is in the index. */
  readonly upTo: number;
  /** The stream sequences of the index's chunks, in order. */
  readonly chunks: readonly number[];
}

/**
 * What a feed's stream holds for each product — the content id and sequence of its latest
 * message — which a publisher needs to skip unchanged products. Read from the stream's headers,
 * that is a message per product (a second of the hourly update's two, on this machine, for
 * 100,000 products); so each publish leaves the map in the stream itself, deflated in chunks on
 * `<stream>.index.<n>` with a head on `<stream>.index.head` naming the chunks' sequences and
 * the stream sequence the map is complete up to. The next publisher reads the head, the chunks,
 * and only the product messages after that sequence. A head whose chunks were since replaced
 * (another publisher writing its index), or anything unreadable, and the map is read from the
 * headers again: the index only ever saves time.
 */
export class ContentIndex {
  private constructor(
    readonly current: Map<string, Current>,
    /** The stream's last sequence when read: the map holds every product message up to it. */
    readonly readAt: number,
  ) {}

  static async read(js: JetStreamClient, stream: FeedStream): Promise<ContentIndex> {
    const jsm = await js.jetstreamManager();
    const readAt = (await jsm.streams.info(stream.name)).state.last_seq;
    const saved = await loadSaved(jsm, stream).catch(() => undefined);
    const current = saved?.current ?? new Map<string, Current>();
    await scan(js, stream, current, saved ? saved.upTo + 1 : undefined);
    return new ContentIndex(current, readAt);
  }

  /**
   * Saves the map after a publish whose messages the stream stored at `published`. If they
   * are the stream's next sequences after `readAt` — no one else wrote meanwhile — the map is
   * complete up to the last of them; else only up to `readAt` (the next reader reads the rest).
   */
  async save(js: JetStreamClient, stream: FeedStream, published: readonly number[]): Promise<void> {
    let upTo = this.readAt;
    const sorted = [...published].sort((a, b) => a - b);
    if (sorted.every((seq, i) => seq === this.readAt + 1 + i)) upTo = this.readAt + sorted.length;
    const rows: Array<[string, string, number]> = [];
    for (const [id, c] of this.current) if (c.seq <= upTo) rows.push([id, c.content, c.seq]);
    const packed = deflateRawSync(JSON.stringify(rows));
    const chunks: number[] = [];
    for (let i = 0, n = 0; i < packed.length || n === 0; i += CHUNK_BYTES, n++) {
      const ack = await js.publish(`${stream.name}.index.${n}`, packed.subarray(i, i + CHUNK_BYTES));
      chunks.push(ack.seq);
    }
    const head: Head = { upTo, chunks };
    await js.publish(`${stream.name}.index.head`, JSON.stringify(head));
  }
}

/** The saved map and the sequence it is complete up to; throws if any part is gone or unreadable. */
async function loadSaved(
  jsm: JetStreamManager,
  stream: FeedStream,
): Promise<{ current: Map<string, Current>; upTo: number } | undefined> {
  const headMsg = await jsm.streams.getMessage(stream.name, { last_by_subj: `${stream.name}.index.head` });
  if (!headMsg) return undefined;
  const head = headMsg.json<Head>();
  const parts: Uint8Array[] = [];
  for (const [n, seq] of head.chunks.entries()) {
    const m = await jsm.streams.getMessage(stream.name, { seq });
    if (m?.subject !== `${stream.name}.index.${n}`) throw new Error('the index was replaced');
    parts.push(m.data);
  }
  const rows = JSON.parse(inflateRawSync(Buffer.concat(parts)).toString('utf8')) as Array<
    [string, string, number]
  >;
  const current = new Map<string, Current>();
  for (const [id, content, seq] of rows) current.set(id, { content, seq });
  return { current, upTo: head.upTo };
}

/**
 * Reads product messages' headers into `current`: every product's latest (from the stream's
 * start), or every message from sequence `from` on, in order, the later winning.
 */
async function scan(
  js: JetStreamClient,
  stream: FeedStream,
  current: Map<string, Current>,
  from: number | undefined,
): Promise<void> {
  const consumer = await js.consumers.get(stream.name, {
    filter_subjects: `${stream.name}.product.>`,
    ...(from === undefined
      ? { deliver_policy: DeliverPolicy.LastPerSubject }
      : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from }),
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
        current.set(stream.idOf(m.subject), { content: id?.split('.')[0] ?? '', seq: m.seq });
        pending = m.info.pending;
      }
      if (taken === 0) break;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
