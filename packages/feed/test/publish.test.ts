import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { FeedError, FeedStream, publishFeed, readFeed, readFeedStream } from '@concord/feed';
import { requireNats } from '@concord/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Publishing a feed to the machine's NATS JetStream (a stream of its own per test). */
let nc: NatsConnection;
const dir = mkdtempSync(join(tmpdir(), 'concord-feed-'));
const streams: string[] = [];
let n = 0;

beforeAll(async () => {
  nc = await connect({ servers: await requireNats() });
});
afterAll(async () => {
  if (nc) {
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function freshStream(): Promise<FeedStream> {
  const stream = new FeedStream(`feed_test_${process.pid}_${n++}`);
  streams.push(stream.name);
  await stream.ensure(await jetstreamManager(nc));
  return stream;
}

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('publishing a feed', () => {
  it.each(['connection', 'JetStream client'])(
    'stores one message per product, once per content: the same feed twice is stored once (given a %s)',
    async (given) => {
      const stream = await freshStream();
      // The connection's messages go pipelined, the client's one request each: the same result.
      const js = given === 'connection' ? nc : jetstream(nc);
      const feed = file(
        'products.jsonl',
        [
          { _id: 'sku-1', name: 'Milk', price: 1.99 },
          { _id: 'sku 2.x*', name: 'Bread', price: 2.49 },
          { _id: 'sku-3', name: 'Wine', price: 9 },
        ]
          .map((p) => JSON.stringify(p))
          .join('\n'),
      );
      expect(await publishFeed(js, stream, readFeed(feed))).toEqual({
        published: 3,
        stored: 3,
        duplicates: 0,
      });
      expect(await publishFeed(js, stream, readFeed(feed))).toEqual({
        published: 3,
        stored: 0,
        duplicates: 3,
      });
      // Key order does not make another content; a changed price does.
      const again = file(
        'again.jsonl',
        `${JSON.stringify({ price: 1.99, name: 'Milk', _id: 'sku-1' })}\n${JSON.stringify({ _id: 'sku-3', name: 'Wine', price: 8.5 })}\n`,
      );
      expect(await publishFeed(js, stream, readFeed(again))).toEqual({
        published: 2,
        stored: 1,
        duplicates: 1,
      });
      const info = await (await jetstreamManager(nc)).streams.info(stream.name, {
        subjects_filter: `${stream.name}.product.>`,
      });
      // One message per product: the stream holds the catalogue's current state.
      expect(Object.values(info.state.subjects ?? {})).toEqual([1, 1, 1]);
      const last = await (await jetstreamManager(nc)).streams.getMessage(stream.name, {
        last_by_subj: stream.subject('sku-3'),
      });
      expect(last?.json()).toEqual({ _id: 'sku-3', name: 'Wine', price: 8.5 });
      expect(stream.idOf(stream.subject('sku 2.x*'))).toBe('sku 2.x*');
    },
  );

  it('the index a publish leaves is read with what was stored since; a broken one is ignored', async () => {
    const stream = await freshStream();
    const js = jetstream(nc);
    const feed = [
      { id: 'a', product: { price: 1 } },
      { id: 'b', product: { price: 2 } },
      { id: 'c', product: { price: 3 } },
    ];
    expect(await publishFeed(nc, stream, feed)).toMatchObject({ stored: 3 });
    const head = await (await jetstreamManager(nc)).streams.getMessage(stream.name, {
      last_by_subj: `${stream.name}.index.head`,
    });
    expect(head?.json()).toMatchObject({ upTo: 3 });
    // Someone else changes b without a publisher (no index written): the next publish sees it.
    await js.publish(stream.subject('b'), new TextEncoder().encode('{"_id":"b","price":9}'), {
      msgID: 'elsewhere',
    });
    expect(await publishFeed(nc, stream, feed)).toEqual({ published: 3, stored: 1, duplicates: 2 });
    expect(await publishFeed(nc, stream, feed)).toEqual({ published: 3, stored: 0, duplicates: 3 });
    // A head naming a chunk that cannot be read: the headers are read instead, same answer.
    const garbage = await js.publish(`${stream.name}.index.0`, new Uint8Array([1, 2, 3]));
    await js.publish(`${stream.name}.index.head`, JSON.stringify({ upTo: 1_000, chunks: [garbage.seq] }));
    expect(await publishFeed(nc, stream, [...feed, { id: 'd', product: { price: 4 } }])).toEqual({
      published: 4,
      stored: 1,
      duplicates: 3,
    });
  });

  it('a stream deleted midway fails the publish with UNAVAILABLE, given a connection or a client', async () => {
    for (const target of [nc, jetstream(nc)]) {
      const stream = await freshStream();
      async function* records() {
        for (let i = 0; i < 1_000; i++) {
          // Midway, the stream goes: JetStream answers the pipeline's messages "no responders".
          if (i === 300) await (await jetstreamManager(nc)).streams.delete(stream.name);
          yield { id: `p${i}`, product: { price: i } };
        }
      }
      const failed = await publishFeed(target, stream, records()).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(FeedError);
      expect(failed).toMatchObject({ code: 'UNAVAILABLE' });
    }
  });

  it('reads CSV with a header row, typed cells, and tombstones', async () => {
    const stream = await freshStream();
    const feed = file(
      'products.csv',
      '_id,name,price,onSale,_deleted\nsku-1,Milk,1.99,false,\nsku-2,"Bread, white",2.49,true,\nsku-3,,,,true\n',
    );
    const records = [];
    for await (const r of readFeed(feed)) records.push(r);
    expect(records).toEqual([
      { id: 'sku-1', product: { name: 'Milk', price: 1.99, onSale: false } },
      { id: 'sku-2', product: { name: 'Bread, white', price: 2.49, onSale: true } },
      { id: 'sku-3', product: undefined },
    ]);
    expect(await publishFeed(jetstream(nc), stream, records)).toMatchObject({ stored: 3 });
  });

  it('a line that is no product is BAD_RECORD with its line number', async () => {
    const bad = file('bad.jsonl', '{"_id":"a","price":1}\n{"price":2}\n');
    const read = async () => {
      for await (const _ of readFeed(bad));
    };
    await expect(read()).rejects.toThrow(FeedError);
    await expect(read()).rejects.toThrow(/bad\.jsonl:2: no _id/);
  });

  it('a CSV row of the wrong width is BAD_RECORD; a stream that fails fails the read', async () => {
    const rows = async (input: Readable) => {
      for await (const _ of readFeedStream(input, 'csv', 'upload'));
    };
    const wide = rows(Readable.from(['_id,price\nsku-1,1\nsku-2,2,extra\n']));
    await expect(wide).rejects.toThrow(FeedError);
    await expect(rows(Readable.from(['_id,price\nsku-1,1\nsku-2,2,extra\n']))).rejects.toThrow(/upload:3:/);
    const cut = new PassThrough();
    const reading = rows(cut);
    cut.write('_id,price\nsku-1,1\n');
    cut.destroy(new Error('connection reset'));
    await expect(reading).rejects.toThrow('connection reset');
  });
});
