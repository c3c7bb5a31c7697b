// A client device as its own process: `device.ts <sqlite file> offline <n>` writes n products
// with no network and exits; `device.ts <sqlite file> sync <url>` syncs until caught up and
// acknowledged, prints its products as JSON and exits.
import { Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';

const [file, mode, arg] = process.argv.slice(2);
const db = await Database.open({ storage: await SqliteStorage.open(file!) });
const products = db.collection('products');
if (mode === 'offline') {
  for (let i = 0; i < Number(arg); i++)
    await products.upsert({ _id: `offline-${i}`, price: i, by: 'device' });
  await products
    .update('shared', (d) => {
      d.offline = true;
    })
    .catch(() => products.upsert({ _id: 'shared', offline: true }));
} else {
  const sync = db.sync(arg!, {
    subscriptions: [{ collection: 'products' }],
    backoff: { minMs: 10, maxMs: 100 },
  });
  await sync.synced();
  console.log(JSON.stringify(await products.find({ sort: { _id: 'asc' } })));
  await sync.close();
}
await db.close();
