import { Database } from '@concord/db';
import { catalogue } from './retail.suite.js';
const products = catalogue(20000);
for (let i = 0; i < 4; i++) {
  const t = performance.now();
  const db = await Database.open();
  await db.collection('products').upsertMany(products as never);
  console.log('build', performance.now() - t, JSON.stringify((globalThis as any).T));
  (globalThis as any).T = {};
}
