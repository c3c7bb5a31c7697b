import { Database } from '@concord/db';
import { HttpServer, SyncServer } from '@concord/server';
import { afterEach, describe, expect, it } from 'vitest';
import { contents, metric, storeProducts as products } from './support.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/**
 * A server holding `n` products in small chunks (16 KB of stored forms): the snapshot is many
 * frames, a turn of the event loop between them while it is built.
 */
async function serve(n: number): Promise<{ db: Database; server: HttpServer; url: string }> {
  const db = await Database.open();
  await db.collection('products').upsertMany(products(n));
  const server = await HttpServer.listen({
    sync: new SyncServer({ db, limits: { chunkBytes: 16 * 1024 } }),
    port: 0,
  });
  cleanup.push(async () => {
    await server.close();
    await db.close();
  });
  return { db, server, url: `ws://127.0.0.1:${server.port}/sync` };
}

/** A replica syncing `where` of the products, closed after the test. */
async function replicaOf(
  url: string,
  options: { where?: Record<string, unknown>; chunksOverHttp?: boolean } = {},
) {
  const replica = await Database.open();
  const sync = replica.sync(url, {
    subscriptions: [{ collection: 'products', ...(options.where ? { where: options.where } : {}) }],
    ...(options.chunksOverHttp === false ? { chunksOverHttp: false } : {}),
  });
  cleanup.push(async () => {
    await sync.close();
    await replica.close();
  });
  return { replica, sync };
}

describe('initial syncs built once (SnapshotCache)', () => {
  it('stores syncing one assortment at once get the frames the first one built; a write builds anew', async () => {
    const { db, server, url } = await serve(3000);
    const store = async (id: string) => {
      const s = await replicaOf(url, { where: { stores: { $contains: id } } });
      await s.sync.synced();
      return s;
    };
    const s1 = await Promise.all(Array.from({ length: 5 }, () => store('s1')));
    const s2 = await store('s2');
    expect(await metric(server, 'concord_snapshots_built_total')).toBe(2);
    expect(await metric(server, 'concord_snapshots_cached_total')).toBe(4);
    const expected = products(3000).filter((p) => p.stores.includes('s1'));
    for (const { replica } of s1) expect(await contents(replica, 'products')).toEqual(expected);
    expect(await s2.replica.collection('products').count()).toBe(3000);

    // A write moves the server on: the next store's snapshot is built again, and holds it.
    await db.collection('products').update('sku-0000', (d) => {
      d.price = 9.99;
    });
    const late = await store('s1');
    expect(await metric(server, 'concord_snapshots_built_total')).toBe(3);
    expect((await late.replica.collection('products').get('sku-0000'))?.price).toBe(9.99);
    // The stores synced earlier got the write live.
    for (const { replica } of s1)
      await expect.poll(async () => (await replica.collection('products').get('sku-0000'))?.price).toBe(9.99);
  });

  it('a build stops once every client it was for has left, and is built anew for the next', async () => {
    // Hundreds of chunks: the build outlasts the client's goodbye by far.
    const { server, url } = await serve(20_000);
    const leaving = await replicaOf(url, { chunksOverHttp: false });
    await new Promise<void>((resolve) => leaving.sync.on('progress', () => resolve()));
    await leaving.sync.close();
    await expect.poll(() => metric(server, 'concord_snapshots_abandoned_total')).toBe(1);

    const staying = await replicaOf(url, { chunksOverHttp: false });
    const progress: Array<{ bytes: number; totalBytes: number }> = [];
    staying.sync.on('progress', (p) => progress.push(p));
    await staying.sync.synced();
    expect(await staying.replica.collection('products').count()).toBe(20_000);
    // Stored forms are read as chunks are made: the total is estimated until the last chunk.
    const total = progress.at(-1)!.totalBytes;
    expect(progress.at(-1)!.bytes).toBe(total);
    expect(progress.length).toBeGreaterThan(100);
    for (const p of progress) expect(Math.abs(p.totalBytes - total) / total).toBeLessThan(0.05);
    expect(await metric(server, 'concord_snapshots_built_total')).toBe(2);
    expect(await metric(server, 'concord_snapshots_abandoned_total')).toBe(1);
  });

  it('a document removed or moved out of the assortment while the build runs is not sent', async () => {
    // The build reads the last products' stored forms (ids sort as sku-0000 … sku-9999 last)
    // hundreds of chunks after the client has its first.
    const { db, url } = await serve(20_000);
    const { replica: store, sync } = await replicaOf(url, {
      where: { stores: { $contains: 's1' } },
      chunksOverHttp: false,
    });
    const seen = new Map<string, unknown>();
    store.onChange((e) => {
      for (const d of e.docs) if (d.after) seen.set(d.docId, d.after.stores);
    });
    const errors: string[] = [];
    sync.on('error', (e) => errors.push(e.code));
    let first = true;
    sync.on('progress', () => {
      if (!first) return;
      first = false;
      void db.collection('products').remove('sku-9998');
      void db.collection('products').update('sku-9996', (d) => {
        d.stores = ['s2'];
      });
      void db.collection('products').update('sku-9994', (d) => {
        d.price = 0.5;
      });
    });
    await sync.synced();
    await expect.poll(async () => (await store.collection('products').get('sku-9994'))?.price).toBe(0.5);
    expect(first).toBe(false);
    expect(errors).toEqual([]);
    // Never held with its new assortment (another store's product), and gone at the end.
    expect(seen.get('sku-9996')).not.toEqual(['s2']);
    expect(await store.collection('products').get('sku-9996')).toBeUndefined();
    expect(await store.collection('products').get('sku-9998')).toBeUndefined();
    expect(await store.collection('products').count()).toBe(10_000 - 2);
  });
});
