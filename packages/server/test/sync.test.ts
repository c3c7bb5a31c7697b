import { Database, MemoryStorage } from '@concord/db';
import { core } from '@concord/db/internal';
import type { SyncServer } from '@concord/server';
import pino from 'pino';
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

describe('cursors', () => {
  /** A client on `storage` that counts the changes it takes in from the server. */
  async function counting(server: SyncServer, storage: MemoryStorage) {
    const c = await client(server, { subscriptions: products }, await Database.open({ storage }));
    const got = { changes: 0 };
    c.db.onChange((e) => {
      if (e.origin === 'remote') got.changes += e.changes.length;
    });
    await c.sync.synced();
    return { ...c, got };
  }

  async function priced(server: SyncServer, c: { db: Database }, from: number, to: number) {
    for (let price = from; price <= to; price++)
      await server.db.collection('products').upsert({ _id: 'p', price });
    await until(async () => (await c.db.collection('products').get('p'))?.price === to, `price ${to}`);
  }

  it('are written every 32 live updates and when the link closes: a restart is sent only what came after', async () => {
    const server = await serverWith();
    const storage = new MemoryStorage();
    const first = await counting(server, storage);
    await priced(server, first, 1, 40);
    expect(first.got.changes).toBe(40);
    await first.sync.close();
    // A clean close wrote the cursor: the next start on this storage is sent nothing again.
    const second = await counting(server, storage);
    expect(second.got.changes).toBe(0);
    await priced(server, second, 41, 80);
    // A crash (this client never closes before the next opens the storage): the cursor written
    // at the 32nd update holds, and the 8 changes after it come again.
    const third = await counting(server, storage);
    expect(third.got.changes).toBe(8);
    expect(await contents(third.db, 'products')).toEqual(await contents(server.db, 'products'));
    await second.sync.close();
    await third.sync.close();
    await server.close();
  });
});

describe('the outbox', () => {
  it('compaction keeps the changes the server has not acknowledged; they reach it on the next sync', async () => {
    const server = await serverWith();
    const c = await client(server, { subscriptions: products });
    await c.db.collection('products').upsert({ _id: 'acked', v: 1 });
    await c.sync.synced();
    expect(c.sync.pending).toBe(0);
    expect(await c.db.outbox()).toEqual([]);
    await c.sync.close();
    for (let i = 0; i < 3; i++) await c.db.collection('products').upsert({ _id: `offline-${i}`, v: i });
    expect(c.sync.pending).toBe(3);
    expect(c.db.unacknowledged()).toBe(3);
    await c.db.compact();
    const offline = ['offline-0', 'offline-1', 'offline-2'];
    expect((await core(c.db).ownChanges(0)).map((ch) => ch.docId)).toEqual(offline);
    expect((await c.db.outbox()).map((ch) => ch.docId)).toEqual(offline);
    const again = await client(server, { subscriptions: products }, c.db);
    await again.sync.synced();
    expect(await c.db.outbox()).toEqual([]);
    expect(await contents(server.db, 'products')).toEqual(await contents(c.db, 'products'));
    await again.sync.close();
    await server.close();
  });
});

describe("the server's own change log", () => {
  it('stays within two spans of changes: a client inside it catches up by delta, one behind it from a snapshot', async () => {
    const logged = logLines();
    const server = await serverWith({ compactEvery: 10, log: logged.log });
    const p = server.db.collection('products');
    const near = await client(server, { subscriptions: products });
    const far = await client(server, { subscriptions: products });
    await p.upsert({ _id: 'first', v: 0 });
    await Promise.all([near.sync.synced(), far.sync.synced()]);
    await far.sync.close();
    const start = server.db.version();
    let middle = start;
    for (let i = 1; i <= 25; i++) {
      await p.upsert({ _id: `n${i % 7}`, v: i });
      if (i === 12) middle = server.db.version();
    }
    // 26 changes: compacted at 20 up to where the first span ended (10); 10 to 26 are kept.
    await until(async () => (await server.db.changesSince(start)).kind === 'snapshot', 'compaction');
    const tail = await server.db.changesSince(middle);
    expect(tail.kind === 'changes' && tail.changes.length).toBe(13);
    // The connected client followed every change; the one that was away comes back past the
    // horizon and starts over from a snapshot, arriving at the same documents.
    await near.sync.synced();
    const back = await client(server, { subscriptions: products }, far.db);
    await back.sync.synced();
    expect(await contents(far.db, 'products')).toEqual(await contents(server.db, 'products'));
    expect(await contents(near.db, 'products')).toEqual(await contents(server.db, 'products'));
    // Said in the server's log, for the client that started over alone: a resync costs.
    expect(logged.said('a cursor older than the change log kept: the subscriptions start over')).toEqual([
      far.db.replicaId,
    ]);
    await Promise.all([near.sync.close(), back.sync.close()]);
    await server.close();
  });

  it("says when a client's cursor is ahead of its database (another server's history) and starts it over", async () => {
    const first = await serverWith();
    await first.db.collection('products').upsert({ _id: 'a', v: 1 });
    const c = await client(first, { subscriptions: products });
    await c.sync.synced();
    await c.sync.close();
    const logged = logLines();
    const other = await serverWith({ log: logged.log });
    await other.db.collection('products').upsert({ _id: 'b', v: 2 });
    const back = await client(other, { subscriptions: products }, c.db);
    await back.sync.synced();
    expect(logged.said("a cursor ahead of this server's database: the subscription starts over")).toEqual([
      c.db.replicaId,
    ]);
    await back.sync.close();
    await Promise.all([first.close(), other.close()]);
  });
});

/** A server log that keeps its lines: `said(msg)` gives the replicas of the lines saying `msg`. */
function logLines() {
  const lines: Array<{ msg: string; replica?: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { log, said: (msg: string) => lines.filter((l) => l.msg === msg).map((l) => l.replica) };
}

describe('partial replication', () => {
  it('a store subscribed to { storeId: 1 } gets only its products, and a product moving away is evicted', async () => {
    const server = await serverWith();
    const p = server.db.collection('products');
    await p.upsertMany([
      { _id: 'a', storeId: 1, price: 1 },
      { _id: 'b', storeId: 2, price: 2 },
      { _id: 'c', storeId: 1, price: 3 },
    ]);
    const store1 = await client(server, {
      subscriptions: [{ collection: 'products', where: { storeId: 1 } }],
    });
    // Every document state the store ever held: never one of another store's.
    const held: unknown[] = [];
    store1.db.onChange((e) => {
      for (const d of e.docs) if (d.after) held.push(d.after.storeId);
    });
    await store1.sync.synced();
    const ids = async () => (await contents(store1.db, 'products')).map((d) => (d as { _id: string })._id);
    expect(await ids()).toEqual(['a', 'c']);
    await p.update('b', (d) => {
      d.price = 20;
    });
    await p.update('a', (d) => {
      d.price = 10;
    });
    await until(async () => (await store1.db.collection('products').get('a'))?.price === 10, 'a updated');
    await p.update('c', (d) => {
      d.storeId = 2;
    });
    await until(async () => (await ids()).join() === 'a', 'c evicted');
    await p.update('c', (d) => {
      d.price = 30;
    });
    await p.update('b', (d) => {
      d.storeId = 1;
    });
    await until(async () => (await ids()).join() === 'a,b', 'b arrives whole');
    expect(await store1.db.collection('products').get('b')).toEqual({ _id: 'b', storeId: 1, price: 20 });
    // b reached the store only when it moved there; c's later change never did.
    expect(await store1.db.collection('products').get('c')).toBeUndefined();
    await store1.sync.close();
    // Reconnecting catches up by the same rule: c moves back, a moves away.
    await p.update('c', (d) => {
      d.storeId = 1;
    });
    await p.update('a', (d) => {
      d.storeId = 3;
    });
    const again = await client(
      server,
      { subscriptions: [{ collection: 'products', where: { storeId: 1 } }] },
      store1.db,
    );
    await again.sync.synced();
    expect(await ids()).toEqual(['b', 'c']);
    expect(await store1.db.collection('products').get('c')).toEqual({ _id: 'c', storeId: 1, price: 30 });
    expect(held.length).toBeGreaterThan(4);
    expect(held.filter((s) => s !== 1)).toEqual([]);
    await again.sync.close();
    await server.close();
  });
});

describe('validation hooks and rejected writes', () => {
  it('a rejected change is not stored, the client is told and rolled back; later changes still apply', async () => {
    const server = await serverWith();
    server.validate('products', (p) =>
      typeof p.after?.price === 'number' && p.after.price < 0
        ? { ok: false, reason: 'price must be ≥ 0' }
        : { ok: true },
    );
    await server.db.collection('products').upsert({ _id: 'p', price: 5, name: 'Tea' });
    const c = await client(server, { subscriptions: products });
    await c.sync.synced();
    const errors: Array<{ code: string; dot?: unknown }> = [];
    c.sync.on('error', (e) => errors.push(e));
    await c.db.collection('products').update('p', (d) => {
      d.price = -1;
    });
    await c.db.collection('products').update('p', (d) => {
      d.name = 'Green tea';
    });
    await c.sync.synced();
    await until(() => errors.length === 1, 'the rejection');
    expect(errors[0]).toMatchObject({ code: 'REJECTED', dot: { seq: 1 } });
    expect(await server.db.collection('products').get('p')).toEqual({
      _id: 'p',
      price: 5,
      name: 'Green tea',
    });
    await until(async () => (await c.db.collection('products').get('p'))?.price === 5, 'rollback');
    expect(await c.db.collection('products').get('p')).toEqual({ _id: 'p', price: 5, name: 'Green tea' });
    await c.sync.close();
    await server.close();
  });

  it('a hook may amend: the server writes the amendment as its own change and everyone gets it', async () => {
    const server = await serverWith();
    server.validate('products', (p) =>
      p.after && !p.after.sku ? { ok: true, amend: { sku: `SKU-${p.id}` } } : { ok: true },
    );
    const a = await client(server, { subscriptions: products });
    const b = await client(server, { subscriptions: products });
    await a.db.collection('products').upsert({ _id: 'x', price: 1 });
    await a.sync.synced();
    for (const db of [a.db, b.db])
      await until(async () => (await db.collection('products').get('x'))?.sku === 'SKU-x', 'amended');
    await a.sync.close();
    await b.sync.close();
    await server.close();
  });
});
