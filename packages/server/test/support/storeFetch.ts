// A store device in a process of its own (attachments.test.ts): opens its SQLite replica, syncs
// with the server at argv[2], and reads the attachment of product p1 until a read completes, at
// most `attempts` times (the first may be cut), hashing it as it streams. Prints one JSON line:
// the outcome of each attempt (and each failure's message) and the most memory it held (V8 heap
// and array buffers, sampled after collecting garbage, above what it held before reading).
import { createHash } from 'node:crypto';
import { type AttachmentRef, Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';

const [url, file, attempts] = process.argv.slice(2) as [string, string, string];
const db = await Database.open({ storage: await SqliteStorage.open(file) });
const sync = db.sync(url, { subscriptions: [{ collection: 'products' }] });
await sync.synced();
const image = (await db.collection('products').get('p1'))!.image as AttachmentRef;
const held = () => {
  globalThis.gc!();
  const m = process.memoryUsage();
  return [m.heapUsed, m.arrayBuffers] as const;
};
const [heap0, buffers0] = held();
let peak = 0;
let peakHeap = 0;
let peakBuffers = 0;
const sample = () => {
  const [heap, buffers] = held();
  peak = Math.max(peak, heap - heap0 + buffers - buffers0);
  peakHeap = Math.max(peakHeap, heap - heap0);
  peakBuffers = Math.max(peakBuffers, buffers - buffers0);
};
const sampler = setInterval(sample, 20);
const outcomes: string[] = [];
const failures: string[] = [];
for (let i = 0; i < Number(attempts); i++) {
  try {
    const h = createHash('sha256');
    for await (const piece of db.attachments.read(image)) h.update(piece);
    outcomes.push(h.digest('hex'));
    break;
  } catch (e) {
    outcomes.push((e as { code?: string }).code ?? String(e));
    failures.push((e as Error).message);
  }
}
clearInterval(sampler);
sample();
await sync.close();
let offline: string;
try {
  const h = createHash('sha256');
  for await (const piece of db.attachments.read(image)) h.update(piece);
  offline = h.digest('hex');
} catch (e) {
  offline = (e as { code?: string }).code ?? String(e);
}
await db.close();
console.log(JSON.stringify({ outcomes, failures, peak, peakHeap, peakBuffers, offline }));
