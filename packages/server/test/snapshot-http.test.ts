import { createHash } from 'node:crypto';
import 'fake-indexeddb/auto';
import { Database, IndexedDbStorage, SyncError } from '@concord/db';
import { type Authenticate, HttpServer, SyncServer } from '@concord/server';
import { LinkProxy } from '@concord/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { contents, metric, storeProducts as products } from './support.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function serve(authenticate?: Authenticate): Promise<{ server: HttpServer; db: Database }> {
  const db = await Database.open();
  await db.collection('products').upsertMany(products(3000));
  // Small chunks: the snapshot is several of them.
  const sync = new SyncServer({
    db,
    limits: { chunkBytes: 16 * 1024 },
    ...(authenticate ? { authenticate } : {}),
  });
  const server = await HttpServer.listen({ sync, port: 0 });
  cleanup.push(async () => {
    await server.close();
    await db.close();
  });
  return { server, db };
}

async function store(
  url: string,
  options: { token?: string; chunksOverHttp?: boolean } = {},
  replica?: Database,
) {
  replica ??= await Database.open();
  const chunks: string[] = [];
  const sync = replica.sync(url, { subscriptions: [{ collection: 'products' }], ...options });
  sync.on('progress', (p) => chunks.push(`${p.docs}/${p.totalDocs}`));
  cleanup.push(async () => {
    await sync.close();
    await replica.close();
  });
  return { replica, sync, chunks };
}

/** A store synced to the end: the snapshot is built (and kept), so stores after it are sent its chunks' names. */
async function built(url: string, token?: string): Promise<void> {
  const first = await store(url, token ? { token } : {});
  await first.sync.synced();
}

describe('initial syncs as immutable chunks over HTTP', () => {
  it('a snapshot too small to be worth a request travels on the WebSocket', async () => {
    const { server, db } = await serve();
    await db.collection('labels').upsert({ _id: 'l1', store: 's1' });
    const url = `ws://127.0.0.1:${server.port}/sync`;
    // Built, then asked again: a large one would be offered by name; these are not.
    for (let i = 0; i < 2; i++)
      for (const collection of ['labels', 'nothing']) {
        const replica = await Database.open();
        const sync = replica.sync(url, { subscriptions: [{ collection }] });
        await sync.synced();
        expect(await replica.collection(collection).count()).toBe(collection === 'labels' ? 1 : 0);
        await sync.close();
        await replica.close();
      }
    expect(await metric(server, 'concord_snapshots_cached_total')).toBe(2);
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(0);
    // The products' snapshot, once built, is still offered by name.
    await built(url);
    const later = await store(url);
    await later.sync.synced();
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(1);
  });

  it('a store on IndexedDB keeps the chunks as they came, deflated, and reopens offline with every product', async () => {
    const { server, db } = await serve();
    const url = `ws://127.0.0.1:${server.port}/sync`;
    // The first store takes the chunks on the WebSocket, the second fetches them by name.
    for (const name of ['idb-first', 'idb-later']) {
      const replica = await Database.open({ storage: await IndexedDbStorage.open(name) });
      const { sync } = await store(url, {}, replica);
      await sync.synced();
      await sync.close();
      await replica.close();
      // Each chunk is one record holding its frame, not the documents' stored forms.
      const runs = await new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const get = open.result.transaction('runs').objectStore('runs').getAll();
          get.onsuccess = () => {
            open.result.close();
            resolve(get.result);
          };
        };
      });
      expect(runs.length).toBeGreaterThan(3);
      expect(runs.every((r) => r.packed instanceof Uint8Array && r.states === undefined)).toBe(true);
      // Each frame in a buffer of its own, not the larger one it was a view of when it came.
      expect(
        runs.every((r) => (r.packed as Uint8Array).buffer.byteLength === (r.packed as Uint8Array).length),
      ).toBe(true);
      const reopened = await Database.open({ storage: await IndexedDbStorage.open(name) });
      expect(await contents(reopened, 'products')).toEqual(await contents(db, 'products'));
      // Written to after reopening: its state is read from the frame it came in.
      await reopened.collection('products').update('sku-0042', (p) => ({ ...p, price: 1 }));
      expect((await reopened.collection('products').get('sku-0042'))?.price).toBe(1);
      await reopened.close();
    }
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(1);
  });

  it('the first store streams the snapshot as it is built; later ones fetch its chunks by name', async () => {
    const { server } = await serve();
    const url = `ws://127.0.0.1:${server.port}/sync`;
    // The snapshot is built for the first store, which takes its chunks as they are made, on
    // the WebSocket (there is nothing to name yet).
    const first = await store(url);
    await first.sync.synced();
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(0);
    // Once built, stores are sent its chunks' names and fetch them.
    const a = await store(url);
    const b = await store(url);
    await Promise.all([a.sync.synced(), b.sync.synced()]);
    for (const s of [first, a, b]) expect(await contents(s.replica, 'products')).toEqual(products(3000));
    expect(a.chunks.length).toBeGreaterThan(3);
    expect(first.chunks).toEqual(a.chunks);
    expect(await metric(server, 'concord_snapshots_built_total')).toBe(1);
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(2);
    expect(await metric(server, 'concord_snapshot_chunks_served_total')).toBe(2 * a.chunks.length);

    // The chunks as a CDN sees them.
    const hash = [
      ...(server.sync.snapshots as unknown as { byHash: Map<string, Uint8Array> }).byHash.keys(),
    ][0]!;
    const res = await fetch(`http://127.0.0.1:${server.port}/sync/chunks/${hash}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe(`"${hash}"`);
    const body = new Uint8Array(await res.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(hash);
    const again = await fetch(`http://127.0.0.1:${server.port}/sync/chunks/${hash}`, {
      headers: { 'if-none-match': `"${hash}"` },
    });
    expect(again.status).toBe(304);
    // A page on another origin may fetch them, token and all.
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const preflight = await fetch(`http://127.0.0.1:${server.port}/sync/chunks/${hash}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
    const unknown = await fetch(`http://127.0.0.1:${server.port}/sync/chunks/${'0'.repeat(64)}`);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('NOT_FOUND');

    // A client that asks for none gets the snapshot on the WebSocket.
    const c = await store(url, { chunksOverHttp: false });
    await c.sync.synced();
    expect(await c.replica.collection('products').count()).toBe(3000);
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(2);
  });

  it('with tokens checked, a chunk needs the read scope it was named to and is cached privately', async () => {
    const authenticate: Authenticate = async (token) => {
      const store = { 'store-token': 's1', 'other-store': 's2' }[token];
      if (!store) throw new SyncError('UNAUTHORIZED', 'unknown token');
      return {
        subject: store,
        grants: [{ collection: 'products', read: true, where: { stores: { $contains: store } } }],
      };
    };
    const { server } = await serve(authenticate);
    await built(`ws://127.0.0.1:${server.port}/sync`, 'store-token');
    const a = await store(`ws://127.0.0.1:${server.port}/sync`, { token: 'store-token' });
    await a.sync.synced();
    expect(await a.replica.collection('products').count()).toBe(1500);
    const hash = [
      ...(server.sync.snapshots as unknown as { byHash: Map<string, Uint8Array> }).byHash.keys(),
    ][0]!;
    const chunkUrl = `http://127.0.0.1:${server.port}/sync/chunks/${hash}`;
    expect((await fetch(chunkUrl)).status).toBe(401);
    expect((await fetch(chunkUrl, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    // A valid token of another store, which may not read these products: as if there were no such chunk.
    const other = await fetch(chunkUrl, { headers: { authorization: 'Bearer other-store' } });
    expect([other.status, (await other.json()).error.code]).toEqual([404, 'NOT_FOUND']);
    const ok = await fetch(chunkUrl, { headers: { authorization: 'Bearer store-token' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
  });

  it('a client that cannot fetch chunks (blocked, unreachable) takes the snapshot on the WebSocket', async () => {
    const { server } = await serve();
    await built(`ws://127.0.0.1:${server.port}/sync`);
    const realFetch = globalThis.fetch;
    // What a page on an origin the network blocks sees: fetch fails, the WebSocket works.
    globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
      String(input).includes('/sync/chunks/')
        ? Promise.reject(new TypeError('Failed to fetch'))
        : realFetch(input, init)) as typeof fetch;
    cleanup.push(async () => {
      globalThis.fetch = realFetch;
    });
    const a = await store(`ws://127.0.0.1:${server.port}/sync`);
    const errors: string[] = [];
    a.sync.on('error', (e) => errors.push(e.code));
    await a.sync.synced();
    expect(await contents(a.replica, 'products')).toEqual(products(3000));
    expect(errors).toEqual(['UNAVAILABLE']);
    expect(await metric(server, 'concord_snapshots_http_total')).toBe(1);
  });

  it('a store cut off midway resumes after the last chunk it applied, and ends equal', async () => {
    const { server } = await serve();
    await built(`ws://127.0.0.1:${server.port}/sync`);
    const proxy = await LinkProxy.start(`ws://127.0.0.1:${server.port}`);
    cleanup.push(() => proxy.close());
    const a = await store(`${proxy.url()}/sync`);
    let cut = false;
    a.sync.on('progress', () => {
      if (cut) return;
      cut = true;
      proxy.cut();
      setImmediate(() => proxy.heal());
    });
    await a.sync.synced();
    expect(await contents(a.replica, 'products')).toEqual(products(3000));
    expect(cut).toBe(true);
    // The rest was built for this store alone, after what it had.
    expect(await metric(server, 'concord_snapshots_built_total')).toBe(2);
  });
});
