import { Database, type SyncErrorEvent } from '@concord/db';
import { core } from '@concord/db/internal';
import { HttpServer, SyncServer } from '@concord/server';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { until } from './support.js';

/**
 * A collection's schema on the server (issue 17): the server's database declares it, and every
 * write it admits — pushed over sync or sent over REST — must pass it, refused with the schema's
 * message as a validation hook's refusal is.
 */
const Product = z.object({ name: z.string().min(1), price: z.number().nonnegative() });

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function serve(): Promise<HttpServer> {
  const db = await Database.open({ collections: { products: { schema: Product } } });
  const http = await HttpServer.listen({ sync: new SyncServer({ db }), port: 0 });
  cleanup.push(async () => {
    await http.close();
    await db.close();
  });
  return http;
}

describe('a collection schema on the server', () => {
  it('refuses a pushed change that fails it, with the schema’s message; the client rolls back', async () => {
    const http = await serve();
    // The client has no schema of its own (an older app version, or a hostile one).
    const db = await Database.open();
    const sync = db.sync(`ws://127.0.0.1:${http.port}/sync`, { subscriptions: [{ collection: 'products' }] });
    cleanup.push(async () => {
      await sync.close();
      await db.close();
    });
    const errors: SyncErrorEvent[] = [];
    sync.on('error', (e) => errors.push(e));
    await db.collection('products').upsert({ _id: 'ok', name: 'Milk', price: 1 });
    await db.collection('products').upsert({ _id: 'bad', name: '', price: -2 });
    await until(() => errors.some((e) => e.dot), 'the rejection');
    expect(errors.find((e) => e.dot)).toMatchObject({ code: 'REJECTED' });
    expect(errors.find((e) => e.dot)?.message).toMatch(/schema: name: .*; price: /);
    await sync.synced();
    expect(core(http.sync.db).documentValue('products', 'ok')).toMatchObject({ price: 1 });
    expect(core(http.sync.db).documentValue('products', 'bad')).toBeUndefined();
    expect(await db.collection('products').get('bad')).toBeUndefined();
  });

  it('refuses a REST write that fails it with 422 and the message', async () => {
    const http = await serve();
    const put = (id: string, body: unknown) =>
      fetch(`${http.url}/api/collections/products/${id}`, { method: 'PUT', body: JSON.stringify(body) });
    expect((await put('a', { name: 'Bread', price: 2 })).status).toBe(200);
    const refused = await put('b', { name: 'Bread', price: 'free' });
    expect(refused.status).toBe(422);
    expect(JSON.stringify(await refused.json())).toMatch(/schema: price: /);
    expect(core(http.sync.db).documentValue('products', 'b')).toBeUndefined();
  });
});
