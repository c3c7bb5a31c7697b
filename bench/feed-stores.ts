// Child process of the feed suite: `feed-stores.ts <sync url> <n> <first> <count> <hour>` opens
// store clients `first`…`first + count - 1`, each following its assortment of the n-product
// catalogue (a range of ASSORTMENT products, by partial replication), and says `ready`. On
// `go` it waits for every store to hold each price the hourly update `hour` changed in its
// assortment, and prints one JSON line: each store's completion time (epoch ms, so the parent
// can measure from its own first publish) and the bytes the stores received meanwhile.
import { createInterface } from 'node:readline';
import { Database, type WebSocketLike, WebSocketTransport } from '@concord/db';
import { WebSocket } from 'ws';
import { changedIndexes, priceOf, skuOf } from './retail.suite.js';

/** Each store's assortment: a range of this many consecutive products. */
export const ASSORTMENT = 1000;
/** Store s's assortment: products lo…hi - 1. */
export function assortment(s: number, n: number): { lo: number; hi: number } {
  const ranges = Math.max(1, Math.floor(n / ASSORTMENT));
  const lo = (s % ranges) * ASSORTMENT;
  return { lo, hi: Math.min(n, lo + ASSORTMENT) };
}
const epoch = () => performance.timeOrigin + performance.now();

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [url, nArg, firstArg, countArg, hourArg] = process.argv.slice(2);
  const [n, first, count, hour] = [nArg, firstArg, countArg, hourArg].map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const received = { bytes: 0 };
  const transport = async () => {
    const t = await WebSocketTransport.connect(url!, (u) => new WebSocket(u) as unknown as WebSocketLike);
    t.onMessage((frame) => {
      received.bytes += frame.length;
    });
    return t;
  };
  const stores: { db: Database; close: () => Promise<void> }[] = [];
  const open = async (s: number) => {
    const db = await Database.open();
    const { lo, hi } = assortment(s, n);
    const sync = db.sync(transport, {
      subscriptions: [{ collection: 'products', where: { _id: { $gte: skuOf(lo), $lt: skuOf(hi) } } }],
    });
    await sync.synced();
    return { db, close: () => sync.close() };
  };
  // Fifty at a time: the stores of a morning, not a thundering herd (issue 19 measures that).
  for (let s = first; s < first + count; s += 50)
    stores.push(
      ...(await Promise.all(Array.from({ length: Math.min(50, first + count - s) }, (_, k) => open(s + k)))),
    );
  const changed = changedIndexes(n);
  const waits = stores.map((store, k) => {
    const { lo, hi } = assortment(first + k, n);
    const want = new Map(changed.filter((i) => i >= lo && i < hi).map((i) => [skuOf(i), priceOf(i, hour)]));
    return new Promise<number>((resolve) => {
      if (want.size === 0) return resolve(epoch());
      const off = store.db.onChange((e) => {
        for (const d of e.docs) if (want.get(d.docId) === d.after?.price) want.delete(d.docId);
        if (want.size > 0) return;
        off();
        resolve(epoch());
      });
    });
  });
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log('ready');
  await lines.next(); // go
  received.bytes = 0;
  const done = await Promise.all(waits);
  console.log(JSON.stringify({ done, bytes: received.bytes }));
  for (const s of stores) await s.close();
  for (const s of stores) await s.db.close();
  process.exit(0);
}
