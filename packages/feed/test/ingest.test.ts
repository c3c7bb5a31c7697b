import { Database, encodeChanges } from '@concord/db';
import { core } from '@concord/db/internal';
import { CatalogueIngest, FeedConsumer, FeedStream, feedRecord, publishFeed } from '@concord/feed';
import { HttpServer, SyncServer } from '@concord/server';
import { requireNats, SeededRng, until } from '@concord/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

/** The feed diffed into Concord and broadcast to a store, over the machine's NATS and real WebSockets. */
let nc: NatsConnection;
const name = `feed_ingest_${process.pid}`;

beforeAll(async () => {
  nc = await connect({ servers: await requireNats() });
});
afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(name).catch(() => undefined);
  await nc?.close();
});

const Product = z.object({ name: z.string(), price: z.number().nonnegative(), store: z.string() });
const catalogue = (n: number, changed = -1) =>
  Array.from({ length: n }, (_, i) =>
    feedRecord(
      { _id: `sku-${i}`, name: `Product ${i}`, price: i === changed ? 100 + i : i, store: `s${i % 2}` },
      'test',
    ),
  );

describe('the feed into Concord', () => {
  it('records only real differences, reaches the stores, drops tombstones, dead-letters what the schema refuses', async () => {
    const db = await Database.open({ collections: { products: { schema: Product } } });
    const http = await HttpServer.listen({ sync: new SyncServer({ db }), port: 0 });
    const store = await Database.open();
    const sync = store.sync(`ws://127.0.0.1:${http.port}/sync`, {
      subscriptions: [{ collection: 'products', where: { store: 's0' } }],
    });
    const stream = new FeedStream(name);
    const ingest = new CatalogueIngest(db);
    const consumer = await FeedConsumer.start(nc, stream, 'concord', (b) => ingest.apply(b), {
      check: (r) => ingest.check(r),
    });
    const js = jetstream(nc);
    const own = () => db.version().get(db.replicaId);
    try {
      await publishFeed(js, stream, catalogue(200));
      await until(
        async () => (await consumer.lag()) === 0 && (await db.collection('products').count()) === 200,
        'ingest',
      );
      const afterFirst = own();
      expect(afterFirst).toBe(200); // one change per product
      await until(async () => (await store.collection('products').count()) === 100, 'the store’s products');

      // The hourly feed again, 1% changed: exactly those changes, and only they reach the store.
      const feed = catalogue(200);
      feed[4] = catalogue(200, 4)[4]!;
      feed[7] = catalogue(200, 7)[7]!;
      expect(await publishFeed(js, stream, feed)).toMatchObject({ stored: 2, duplicates: 198 });
      // Applied as they arrive: the two may come in two batches.
      await until(
        async () =>
          (await store.collection('products').get('sku-4'))?.price === 104 &&
          (await db.collection('products').get('sku-7'))?.price === 107,
        'the new prices',
      );
      expect(own()).toBe(afterFirst + 2);

      // A tombstone; a product the schema refuses goes to the dead letters and blocks nothing.
      await publishFeed(js, stream, [
        feedRecord({ _id: 'sku-0', _deleted: true }, 'test'),
        feedRecord({ _id: 'bad', name: 'Broken', price: -5, store: 's0' }, 'test'),
        feedRecord({ _id: 'sku-200', name: 'New', price: 1, store: 's0' }, 'test'),
      ]);
      await until(
        async () => (await store.collection('products').get('sku-200')) !== undefined,
        'the new product',
      );
      await until(
        async () => (await store.collection('products').get('sku-0')) === undefined,
        'the tombstone',
      );
      expect(await db.collection('products').get('bad')).toBeUndefined();
      expect(consumer.progress.deadLetters).toBe(1);
    } finally {
      await consumer.stop();
      await sync.close();
      await store.close();
      await http.close();
      await db.close();
    }
  });

  it('dead-letters a product whose change is larger than the change log carries, and takes the rest', async () => {
    // A sync node's limit is one NATS message; 8 KiB here. Changes are measured deflated, as the
    // change log publishes them: random hex (two characters a byte) does not deflate below half.
    const max = 8 * 1024;
    const rng = new SeededRng(7);
    const random = (bytes: number) => Buffer.from(rng.bytes(bytes)).toString('hex');
    const db = await Database.open();
    const stream = new FeedStream(`${name}_large`);
    const ingest = new CatalogueIngest(db, 'products', { maxChangeBytes: max });
    const consumer = await FeedConsumer.start(nc, stream, 'concord', (b) => ingest.apply(b), {
      check: (r) => ingest.check(r),
    });
    const product = (id: string, description: string) =>
      feedRecord({ _id: id, name: id, price: 1, description }, 'test');
    try {
      await publishFeed(jetstream(nc), stream, [
        product('small', 'x'),
        product('large', random(12 * 1024)),
        product('near', random(6 * 1024)),
      ]);
      await until(
        async () => (await consumer.lag()) === 0 && consumer.progress.deadLetters === 1,
        'the feed',
      );
      expect((await db.collection('products').find()).map((p) => p._id)).toEqual(['near', 'small']);
      // A product grown past the limit by a later feed keeps what it had.
      await publishFeed(jetstream(nc), stream, [product('small', random(12 * 1024))]);
      await until(async () => consumer.progress.deadLetters === 2, 'the grown product');
      expect(await db.collection('products').get('small')).toMatchObject({ description: 'x' });
    } finally {
      await consumer.stop();
      await (await jetstreamManager(nc)).streams.delete(`${name}_large`).catch(() => undefined);
      await db.close();
    }
  });

  it("a product's change, encoded, stays under twice its JSON: what the size check drafts by", async () => {
    const rng = new SeededRng(11);
    const hex = (bytes: number) => Buffer.from(rng.bytes(bytes)).toString('hex');
    const shapes: Record<string, Record<string, unknown>> = {
      product: { name: hex(12), price: 0.99, brand: hex(4), sku: 'SKU-1', barcode: '4006381333931' },
      tinyFields: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, rng.int(10)])),
      oneLetterKeys: Object.fromEntries(
        Array.from({ length: 26 }, (_, i) => [String.fromCharCode(97 + i), 0]),
      ),
      nested: { a: { b: { c: { d: 1, e: [1, 2, 3, [4, 5]] } } }, f: [{ g: 1 }, { h: hex(3) }] },
      list: { l: Array.from({ length: 2000 }, () => rng.int(10)) },
    };
    const db = await Database.open();
    for (const [id, fields] of Object.entries(shapes)) {
      const doc = { _id: id, ...fields };
      const [change] = core(db).draft((tx) => tx.upsert('products', doc, { mode: 'replace' }));
      const json = Buffer.byteLength(JSON.stringify(doc));
      expect(encodeChanges([change!]).length, id).toBeLessThan(2 * json);
    }
    await db.close();
  });
});
