// Head office and two stores (seed 000): the sync server holds the catalogue, each store's
// device replicates its own store's products only, keeps working while the network is down,
// and catches up — both ways — when it comes back. Run: npx tsx examples/store-sync.ts
import { Database, type Doc } from '@concord/db';
import { HttpServer, SyncServer } from '@concord/server';

const hq = await Database.open();
const server = await HttpServer.listen({ sync: new SyncServer({ db: hq }), port: 0 });
const url = `ws://127.0.0.1:${server.port}/sync`;

await hq.collection('products').upsertMany([
  { _id: 'milk', name: 'Milk 1l', price: 1.09, storeId: 1 },
  { _id: 'bread', name: 'Rye bread', price: 2.49, storeId: 1 },
  { _id: 'tea', name: 'Green tea', price: 3.99, storeId: 2 },
]);

const store = async (storeId: number) => {
  const db = await Database.open();
  const sync = db.sync(url, { subscriptions: [{ collection: 'products', where: { storeId } }] });
  await sync.synced();
  return { db, sync };
};
const show = async (label: string, db: Database) => {
  const docs = (await db.collection('products').find({ sort: { _id: 'asc' } })) as Doc[];
  console.log(
    `${label.padEnd(16)} ${docs.map((d) => `${d._id} ${d.price}${d.label ? ` [${d.label}]` : ''}`).join(', ')}`,
  );
};

const s1 = await store(1);
const s2 = await store(2);
await show('store 1', s1.db);
await show('store 2', s2.db);

// Store 1's connection drops. Its label printer keeps working; head office changes prices.
await s1.sync.close();
await s1.db.collection('products').update('milk', (d) => {
  d.label = 'printed';
});
await hq.collection('products').upsert({ _id: 'bread', price: 2.29 });
await hq.collection('products').upsert({ _id: 'tea', storeId: 1 }); // the tea moves to store 1
await show('store 1 offline', s1.db);

// Back online: only what changed travels, in both directions.
const back = s1.db.sync(url, { subscriptions: [{ collection: 'products', where: { storeId: 1 } }] });
await back.synced();
// Store 2 hears live that the tea left it (the server evicts it there).
while (await s2.db.collection('products').get('tea')) await new Promise((r) => setTimeout(r, 5));
await show('store 1 online', s1.db);
await show('store 2', s2.db);
await show('head office', hq);

await back.close();
await s2.sync.close();
await server.close();
