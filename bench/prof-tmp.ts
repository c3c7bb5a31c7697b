import { deflateRawSync } from 'node:zlib';
import { Database, encodeSnapshot, encodeChanges, type Change } from '@concord/db';
import { catalogue, changedIndexes, priceOf } from './retail.suite.js';
const products = catalogue(20000);
const db = await Database.open();
await db.collection('products').upsertMany(products as never);
const snap = encodeSnapshot(db.snapshot());
const v = db.version();
await db.transaction((tx) => { for (const i of changedIndexes(20000)) tx.upsert('products', { _id: products[i]!._id, price: priceOf(i, 1) }); });
const cs = await db.changesSince(v);
const delta = encodeChanges((cs as { changes: Change[] }).changes);
for (const [n, b] of [['snap', snap], ['delta', delta]] as const) {
  for (const level of [1, 6, 9]) { const t = performance.now(); const z = deflateRawSync(b, { level }); console.log(n, b.length, 'level', level, z.length, (performance.now() - t).toFixed(1), 'ms'); }
}
console.log(JSON.stringify(products).length, deflateRawSync(JSON.stringify(products)).length);
