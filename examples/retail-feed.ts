// Seed 000's pipeline: the head office publishes its catalogue to NATS JetStream; one consumer
// keeps a plain SQL table, another diffs the feed into the sync server's catalogue, which two
// stores replicate. An hour later the whole feed comes again with 1% of prices changed: only
// that 1% is stored, changed, and sent to the stores.
// Needs NATS with JetStream (127.0.0.1:4222) and PostgreSQL (127.0.0.1:5432, database test).
// Run: node --conditions=source --import tsx examples/retail-feed.ts
import { Database } from '@concord/db';
import {
  CatalogueIngest,
  FeedConsumer,
  FeedStream,
  feedRecord,
  publishFeed,
  SqlProjection,
} from '@concord/feed';
import { HttpServer, SyncServer } from '@concord/server';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

const name = `retail_example_${process.pid}`;
const nc = await connect({
  servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
  noAsyncTraces: true, // a publish's stack trace costs more than the publish
});
const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test',
});
const stream = new FeedStream(name);
await stream.ensure(await jetstreamManager(nc));

// The sync server and its two consumers.
const hq = await Database.open();
const server = await HttpServer.listen({ sync: new SyncServer({ db: hq }), port: 0 });
const ingest = new CatalogueIngest(hq);
const projection = new SqlProjection(pool, { schema: name, columns: { name: 'text', price: 'numeric' } });
await projection.ensure();
const consumers = [
  await FeedConsumer.start(nc, stream, 'concord', (b) => ingest.apply(b), { check: (r) => ingest.check(r) }),
  await FeedConsumer.start(nc, stream, 'sql', (b) => projection.apply(b), {
    check: (r) => projection.check(r),
  }),
];

// Two stores, each replicating its own products.
const stores = await Promise.all(
  [1, 2].map(async (store) => {
    const db = await Database.open();
    const sync = db.sync(`ws://127.0.0.1:${server.port}/sync`, {
      subscriptions: [{ collection: 'products', where: { store } }],
    });
    let received = 0;
    db.onChange((e) => (received += e.docs.length));
    return { store, db, sync, received: () => received };
  }),
);

const catalogue = (changed: (i: number) => boolean) =>
  Array.from({ length: 1000 }, (_, i) =>
    feedRecord(
      { _id: `sku-${i}`, name: `Product ${i}`, price: changed(i) ? i + 0.5 : i, store: 1 + (i % 2) },
      'feed',
    ),
  );
const settle = async () => {
  for (const c of consumers) while ((await c.lag()) > 0) await new Promise((r) => setTimeout(r, 20));
  for (const s of stores) await s.sync.synced();
  // What the server sent on the last commits is still on the wire: wait until the stores are quiet.
  let seen = -1;
  while (seen !== stores.reduce((n, s) => n + s.received(), 0)) {
    seen = stores.reduce((n, s) => n + s.received(), 0);
    await new Promise((r) => setTimeout(r, 100));
  }
};

const first = await publishFeed(
  nc,
  stream,
  catalogue(() => false),
);
await settle();
console.log(`feed: ${first.published} products, ${first.stored} stored`);
for (const s of stores)
  console.log(`store ${s.store}: ${await s.db.collection('products').count()} products`);
console.log(`SQL rows: ${await projection.count()}`);

const before = stores.map((s) => s.received());
const changes = hq.version().get(hq.replicaId);
const hourly = await publishFeed(
  nc,
  stream,
  // 1% changed, in both stores: sku-7, 207, … (store 2) and sku-100, 300, … (store 1).
  catalogue((i) => i % 200 === 7 || i % 200 === 100),
);
await settle();
console.log(
  `hourly feed: ${hourly.published} products, ${hourly.stored} stored, ${hourly.duplicates} unchanged`,
);
console.log(`catalogue changes: ${hq.version().get(hq.replicaId) - changes}`);
for (const [i, s] of stores.entries())
  console.log(
    `store ${s.store} received: ${s.received() - before[i]!} products, sku-7 ${(await s.db.collection('products').get('sku-7'))?.price ?? '-'}, sku-100 ${(await s.db.collection('products').get('sku-100'))?.price ?? '-'}`,
  );

for (const c of consumers) await c.stop();
for (const s of stores) {
  await s.sync.close();
  await s.db.close();
}
await server.close();
await hq.close();
await (await jetstreamManager(nc)).streams.delete(name);
await nc.close();
await pool.query(`DROP SCHEMA "${name}" CASCADE`);
await pool.end();
