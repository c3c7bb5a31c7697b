import { describe, expect, it } from 'vitest';
import { client, contents, serverWith, until } from './support.js';

const products = [{ collection: 'products' }];

describe('sync over in-memory transports', () => {
  it('two clients and a server converge; synced() waits for acknowledgement', async () => {
    const server = await serverWith();
    const a = await client(server, { subscriptions: products });
    const b = await client(server, { subscriptions: products });
    await a.db.collection('products').upsert({ _id: 'p1', name: 'Milk', price: 1.99 });
    await a.sync.synced();
    expect(await server.db.collection('products').get('p1')).toMatchObject({ price: 1.99 });
    await until(async () => (await b.db.collection('products').get('p1')) !== undefined, 'b gets p1');
    await b.db.collection('products').update('p1', (d) => {
      d.price = 2.09;
    });
    await b.sync.synced();
    await until(
      async () => (await a.db.collection('products').get('p1'))?.price === 2.09,
      'a gets the update',
    );
    expect(await contents(a.db, 'products')).toEqual(await contents(server.db, 'products'));
    expect(await contents(b.db, 'products')).toEqual(await contents(server.db, 'products'));
    expect(a.sync.status).toBe('live');
    await a.sync.close();
    await b.sync.close();
    await server.close();
  });

  it('a fresh client gets the collection as a chunked snapshot with progress, then live changes', async () => {
    const server = await serverWith({ limits: { chunkBytes: 2000 } });
    const docs = Array.from({ length: 300 }, (_, i) => ({
      _id: `sku-${String(i).padStart(4, '0')}`,
      price: i,
      name: `product ${i}`,
    }));
    await server.db.collection('products').upsertMany(docs);
    const c = await client(server, { subscriptions: products });
    const progress: number[] = [];
    c.sync.on('progress', (p) => {
      progress.push(p.docs);
      expect(p.totalDocs).toBe(300);
    });
    await c.sync.synced();
    expect(await contents(c.db, 'products')).toEqual(await contents(server.db, 'products'));
    expect(progress.length).toBeGreaterThan(3);
    expect(progress[progress.length - 1]).toBe(300);
    expect(progress).toEqual([...progress].sort((x, y) => x - y));
    await server.db.collection('products').upsert({ _id: 'sku-0001', price: 99 });
    await until(async () => (await c.db.collection('products').get('sku-0001'))?.price === 99, 'live change');
    await c.sync.close();
    await server.close();
  });
});
