import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { HttpServer, SyncServer } from '@concord/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contents, until } from './support.js';

let dir: string;
let http: HttpServer;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'concord-http-'));
});
afterEach(async () => {
  await http?.close();
  await http?.sync.db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<HttpServer> {
  const db = await Database.open({ storage: await SqliteStorage.open(join(dir, 'server.db')) });
  const sync = new SyncServer({ db });
  http = await HttpServer.listen({ sync, port: 0 });
  return http;
}

describe('HTTP and WebSocket on one port', () => {
  it('three clients over real WebSockets with SQLite files edit concurrently and converge with the server', async () => {
    const server = await start();
    const url = `ws://127.0.0.1:${server.port}/sync`;
    const clients = await Promise.all(
      [1, 2, 3].map(async (n) => {
        const db = await Database.open({ storage: await SqliteStorage.open(join(dir, `client-${n}.db`)) });
        return { db, sync: db.sync(url, { subscriptions: [{ collection: 'products' }] }) };
      }),
    );
    await Promise.all(
      clients.map(async ({ db }, n) => {
        for (let i = 0; i < 20; i++)
          await db.collection('products').upsert({ _id: `p${i % 7}`, [`by${n}`]: i, price: n * 100 + i });
      }),
    );
    await Promise.all(clients.map((c) => c.sync.synced()));
    const expected = await contents(server.sync.db, 'products');
    expect(expected).toHaveLength(7);
    for (const c of clients)
      await until(
        async () => JSON.stringify(await contents(c.db, 'products')) === JSON.stringify(expected),
        'convergence',
      );
    for (const c of clients) {
      await c.sync.close();
      await c.db.close();
    }
  });

  it('a REST write is a change like any other: synced clients receive it', async () => {
    const server = await start();
    const db = await Database.open();
    const sync = db.sync(`ws://127.0.0.1:${server.port}/sync`, {
      subscriptions: [{ collection: 'products' }],
    });
    await sync.synced();
    const res = await fetch(`${server.url}/api/collections/products/rest-1`, {
      method: 'PUT',
      body: JSON.stringify({ price: 7 }),
    });
    expect(res.status).toBe(200);
    await until(
      async () => (await db.collection('products').get('rest-1'))?.price === 7,
      'the REST write reaches the client',
    );
    await fetch(`${server.url}/api/collections/products/rest-1`, { method: 'DELETE' });
    await until(
      async () => (await db.collection('products').get('rest-1')) === undefined,
      'the removal reaches the client',
    );
    await sync.close();
    await db.close();
  });

  it('healthz, metrics and REST queries', async () => {
    const server = await start();
    const res = await fetch(`${server.url}/healthz`);
    expect(await res.json()).toMatchObject({ status: 'ok' });
    await fetch(`${server.url}/api/collections/products/a`, {
      method: 'PUT',
      body: JSON.stringify({ price: 3, category: 'dairy' }),
    });
    await fetch(`${server.url}/api/collections/products/b`, {
      method: 'PUT',
      body: JSON.stringify({ price: 1, category: 'dairy' }),
    });
    await fetch(`${server.url}/api/collections/products/c`, {
      method: 'PUT',
      body: JSON.stringify({ price: 2, category: 'bakery' }),
    });
    const patched = await fetch(`${server.url}/api/collections/products/a`, {
      method: 'PATCH',
      body: JSON.stringify({ price: 4 }),
    });
    expect(await patched.json()).toEqual({ _id: 'a', price: 4, category: 'dairy' });
    const where = encodeURIComponent(JSON.stringify({ category: 'dairy' }));
    const list = await (
      await fetch(`${server.url}/api/collections/products?where=${where}&sort=-price&limit=5`)
    ).json();
    expect(list.map((d: { _id: string }) => d._id)).toEqual(['a', 'b']);
    expect((await fetch(`${server.url}/api/collections/products/c`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${server.url}/api/collections/products/c`)).status).toBe(404);
    const bad = await fetch(
      `${server.url}/api/collections/products?where=${encodeURIComponent('{"price":{"$foo":1}}')}`,
    );
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('BAD_QUERY');
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('concord_connections');
    expect(metrics).toContain('concord_changes_in_total');
  });
});
