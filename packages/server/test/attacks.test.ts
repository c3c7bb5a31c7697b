import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Change,
  counter,
  Database,
  MAX_DOCUMENT_BYTES,
  map,
  SyncError,
  type SyncErrorEvent,
} from '@concord/db';
import {
  core,
  decodeMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  type ServerMessage,
} from '@concord/db/internal';
import { PostgresStorage } from '@concord/db/postgres';
import { SqliteStorage } from '@concord/db/sqlite';
import {
  type Authenticate,
  type Grant,
  HttpServer,
  SyncServer,
  type SyncServerOptions,
} from '@concord/server';
import { requirePostgres } from '@concord/testkit';
import { SimClock } from '@concord/testkit/simulation';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { until } from './support.js';

/**
 * Regression tests for the defects found by attacking a running server (issue 16), each over
 * real WebSockets and HTTP on loopback. Tokens are their principals' names.
 */
const PRINCIPALS: Record<string, { grants: Grant[]; operator?: boolean }> = {
  admin: { grants: [{ collection: '*', read: true, write: true }], operator: true },
  alice: { grants: [{ collection: '*', read: true, write: true }] },
  mallory: { grants: [{ collection: '*', read: true, write: true }] },
  store1: { grants: [{ collection: 'products', read: true, write: true, where: { store: 's1' } }] },
  reader: { grants: [{ collection: 'products', read: true }] },
  writeOnly: { grants: [{ collection: 'products', write: true, where: { store: 's1' } }] },
  capped: { grants: [{ collection: 'stock', read: true, write: true, where: { n: { $lt: 5 } } }] },
};
const authenticate: Authenticate = async (token) => {
  const p = PRINCIPALS[token];
  if (!p) throw new SyncError('UNAUTHORIZED', 'unknown token');
  return { subject: token, ...p };
};

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function serve(options: Partial<SyncServerOptions> = {}, db?: Database): Promise<HttpServer> {
  const sync = new SyncServer({ db: db ?? (await Database.open()), authenticate, ...options });
  const http = await HttpServer.listen({ sync, port: 0 });
  cleanup.push(async () => {
    await http.close();
    await sync.db.close();
  });
  return http;
}

async function device(
  http: HttpServer,
  token: string,
  collection: string,
  db?: Database,
  extra: Record<string, unknown> = {},
) {
  const d = db ?? (await Database.open());
  const errors: SyncErrorEvent[] = [];
  const sync = d.sync(`ws://127.0.0.1:${http.port}/sync`, {
    token,
    subscriptions: [{ collection }],
    backoff: { minMs: 5, maxMs: 50 },
    ...extra,
  });
  sync.on('error', (e) => errors.push(e));
  cleanup.push(async () => {
    await sync.close();
    await d.close();
  });
  return { db: d, sync, errors };
}

const api = (http: HttpServer, path: string, token: string, init: RequestInit = {}) =>
  fetch(`${http.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}` } });

/** A raw WebSocket peer: sends frames, collects decoded replies, tells when the server closes. */
async function raw(http: HttpServer) {
  const ws = new WebSocket(`ws://127.0.0.1:${http.port}/sync`);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  const got: ServerMessage[] = [];
  ws.on('message', (b: Buffer) => {
    try {
      got.push(decodeMessage(new Uint8Array(b)) as ServerMessage);
    } catch (e) {
      got.push({ type: 'error', code: 'BAD_MESSAGE', message: `undecodable: ${e}` });
    }
  });
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  return {
    got,
    closed,
    send: (m: Parameters<typeof encodeMessage>[0]) => ws.send(encodeMessage(m)),
    hello: (token: string, replica: string, collection = 'products', where?: Record<string, unknown>) =>
      ws.send(
        encodeMessage({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          replica,
          token,
          subscriptions: [where ? { collection, where } : { collection }],
        }),
      ),
    close: () => ws.close(),
  };
}

describe('issue 16: data leaks and data loss', () => {
  it('1. a refused write rolls back to absent where the writer may not read the server’s document', async () => {
    const http = await serve();
    await http.sync.db.collection('products').upsert({ _id: 'p2', store: 's2', secret: 'p2-secret' });
    await http.sync.db.collection('B').upsert({ _id: 'b1', secret: 'b1-secret' });
    const cases: Array<[string, string]> = [
      ['store1', 'products'],
      ['reader', 'products'],
    ];
    for (const [token, collection] of cases) {
      const c = await device(http, token, collection);
      await c.db.collection('products').upsert({ _id: 'p2', store: 's2', mine: 1 });
      await c.db.collection('B').upsert({ _id: 'b1', mine: 1 });
      await until(() => c.errors.filter((e) => e.dot).length === 2, `${token}'s two rejections`);
      // The reader may read p2, so it gets the server's p2 back; store1 may not.
      const p2 = await c.db.collection('products').get('p2');
      if (token === 'reader') expect(p2).toMatchObject({ secret: 'p2-secret' });
      else expect(p2, token).toBeUndefined();
      expect(await c.db.collection('B').get('b1'), token).toBeUndefined();
      expect(core(http.sync.db).documentValue('products', 'p2')).toMatchObject({ secret: 'p2-secret' });
    }
    // A principal that may read what it was refused to write gets the server's document back.
    const admin = await device(http, 'admin', 'products');
    http.sync.validate('products', () => ({ ok: false, reason: 'frozen' }));
    await admin.db.collection('products').upsert({ _id: 'p2', store: 's2', price: 9 });
    await until(() => admin.errors.some((e) => e.code === 'REJECTED'), 'the hook’s refusal');
    expect(await admin.db.collection('products').get('p2')).toEqual({
      _id: 'p2',
      secret: 'p2-secret',
      store: 's2',
    });
  });

  it('2. a replica id is bound, durably, to the principal that first used it; /api/peers is for operators', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'concord-bind-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'server.db');
    let http = await serve({}, await Database.open({ storage: await SqliteStorage.open(file) }));
    const victim = await device(http, 'alice', 'notes', await Database.open({ replicaId: 'victim-replica' }));
    await victim.db.collection('notes').upsert({ _id: 'n1', text: 'mine' });
    await victim.sync.synced();
    expect((await api(http, '/api/peers', 'alice')).status).toBe(403);
    const peers = await api(http, '/api/peers', 'admin');
    expect(peers.status).toBe(200);
    expect(((await peers.json()) as Array<{ replica: string }>).map((p) => p.replica)).toContain(
      'victim-replica',
    );

    // The server restarts: the binding is in its storage.
    await victim.sync.close();
    await http.close();
    await http.sync.db.close();
    cleanup.splice(0);
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    http = await serve({}, await Database.open({ storage: await SqliteStorage.open(file) }));
    const attacker = await raw(http);
    attacker.hello('mallory', 'victim-replica', 'notes');
    expect(await attacker.closed).toBe(new SyncError('BAD_REPLICA', '').closeCode);
    expect(attacker.got.find((m) => m.type === 'error')).toMatchObject({ code: 'BAD_REPLICA' });
    expect(attacker.got.some((m) => m.type === 'welcome')).toBe(false);
    // The victim still syncs under its id, and its next writes are kept.
    const back = await device(http, 'alice', 'notes', victim.db);
    await back.db.collection('notes').upsert({ _id: 'n2', text: 'also mine' });
    await back.sync.synced();
    expect(core(http.sync.db).documentValue('notes', 'n2')).toMatchObject({ text: 'also mine' });
  });

  it.each([3, 8])(
    '3. a device restored from a backup writes %i documents: kept under a new replica id, lost ones fetched back',
    async (written) => {
      const dir = mkdtempSync(join(tmpdir(), 'concord-restore-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'device.db');
      const http = await serve();
      const session = async (fn: (db: Database) => Promise<void>) => {
        const d = await device(
          http,
          'alice',
          'notes',
          await Database.open({ storage: await SqliteStorage.open(file) }),
        );
        await fn(d.db);
        await d.sync.synced();
        await d.sync.close();
        await d.db.close();
      };
      const write = (db: Database, from: number, n: number, tag: string) =>
        db
          .collection('notes')
          .upsertMany(Array.from({ length: n }, (_, i) => ({ _id: `n${from + i}`, tag })));
      await session((db) => write(db, 0, 5, 'first'));
      for (const f of ['', '-wal', '-shm'])
        if (existsSync(file + f)) copyFileSync(file + f, join(dir, `backup${f}`));
      await session((db) => write(db, 5, 5, 'lost'));
      for (const f of ['', '-wal', '-shm']) {
        rmSync(file + f, { force: true });
        if (existsSync(join(dir, `backup${f}`))) copyFileSync(join(dir, `backup${f}`), file + f);
      }

      const restored = await device(
        http,
        'alice',
        'notes',
        await Database.open({ storage: await SqliteStorage.open(file) }),
      );
      const before = restored.db.replicaId;
      await write(restored.db, 100, written, 'after restore');
      await restored.sync.synced();
      await until(async () => (await restored.db.collection('notes').count()) === 10 + written, 'every note');
      expect(restored.errors.map((e) => e.code)).toContain('FORKED');
      expect(restored.db.replicaId).not.toBe(before);
      expect(restored.sync.pending).toBe(0);
      const server = http.sync.db.collection('notes');
      expect(await server.count()).toBe(10 + written);
      expect(await server.count({ where: { tag: 'after restore' } })).toBe(written);
      expect(await server.count({ where: { tag: 'lost' } })).toBe(5);
      expect(await restored.db.collection('notes').find({ sort: { _id: 'asc' } })).toEqual(
        await server.find({ sort: { _id: 'asc' } }),
      );
    },
  );

  it('4. increments in flight survive their document leaving and re-entering a filtered subscription', async () => {
    const http = await serve();
    const products = http.sync.db.collection('products');
    await products.upsert({ _id: 'd', store: 's1', n: counter(1) });
    // A's frames to the server are held in flight while `hold` is set.
    let hold = false;
    const held: Array<() => void> = [];
    const a = await device(http, 'alice', 'products', undefined, {
      subscriptions: [{ collection: 'products', where: { store: 's1' } }],
      createWebSocket: (url: string) => {
        const ws = new WebSocket(url);
        const send = ws.send.bind(ws);
        ws.send = ((data: Uint8Array) => (hold ? held.push(() => send(data)) : send(data))) as typeof ws.send;
        return ws;
      },
    });
    await a.sync.synced();
    const increment = (by: number) =>
      a.db.collection('products').update('d', (draft) => {
        draft.n = (draft.n as number) + by;
      });
    hold = true;
    await increment(2);
    // Another principal moves d out of A's subscription and back.
    const caughtUp = () =>
      (a.sync.serverVersion?.get(http.sync.db.replicaId) ?? 0) >=
      http.sync.db.version().get(http.sync.db.replicaId);
    for (const store of ['s2', 's1']) {
      const r = await api(http, '/api/collections/products/d', 'admin', {
        method: 'PATCH',
        body: JSON.stringify({ store }),
      });
      expect(r.status).toBe(200);
      await until(caughtUp, `A told of the move to ${store}`);
    }
    await increment(1);
    hold = false;
    for (const f of held.splice(0)) f();
    await a.sync.synced();
    expect(core(http.sync.db).documentValue('products', 'd')).toMatchObject({ n: 4 });
    expect(await a.db.collection('products').get('d')).toMatchObject({ n: 4, store: 's1' });

    // Evicted with an increment in flight: kept until the server holds it, then dropped.
    hold = true;
    await increment(1);
    const r = await api(http, '/api/collections/products/d', 'admin', {
      method: 'PATCH',
      body: JSON.stringify({ store: 's2' }),
    });
    expect(r.status).toBe(200);
    await until(caughtUp, 'A told of the move to s2');
    expect(await a.db.collection('products').get('d')).toMatchObject({ n: 5, store: 's1' });
    hold = false;
    for (const f of held.splice(0)) f();
    await a.sync.synced();
    await until(async () => (await a.db.collection('products').get('d')) === undefined, 'the eviction');
    expect(core(http.sync.db).documentValue('products', 'd')).toMatchObject({ n: 5, store: 's2' });

    // A writes to the document it no longer holds: its dots in it are not reused (a reused dot
    // would remove the counter it incremented under that dot).
    await a.db.collection('products').upsert({ _id: 'd', store: 's1' });
    await a.sync.synced();
    expect(core(http.sync.db).documentValue('products', 'd')).toMatchObject({ n: 5, store: 's1' });
    await until(async () => (await a.db.collection('products').get('d'))?.n === 5, 'd back on A');
  });
});

describe('issue 16: one client cannot take the server down', () => {
  it('5. changes held for a missing predecessor are capped in bytes per client and freed when it leaves', async () => {
    const http = await serve({ limits: { maxPendingBytes: 3 * 1024 * 1024 } });
    const source = await Database.open({ replicaId: 'gappy' });
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 6; i++)
      await source.collection('products').upsert({ _id: `g${i}`, big: `${i}${big}` });
    const changes = (await core(source).ownChanges(0)).slice(1); // seq 2..6: all wait for seq 1
    const within = await raw(http);
    within.hello('alice', 'gappy');
    await until(() => within.got.some((m) => m.type === 'welcome'), 'welcome');
    within.send({ type: 'push', changes: changes.slice(0, 2) });
    await until(() => within.got.some((m) => m.type === 'ack'), 'ack');
    expect(core(http.sync.db).peers.pendingBytes).toBeGreaterThan(2 * 1024 * 1024);
    within.close();
    await within.closed;
    await until(
      () => core(http.sync.db).peers.pendingBytes === 0,
      'held changes freed when the session ends',
    );

    const over = await raw(http);
    over.hello('alice', 'gappy');
    await until(() => over.got.some((m) => m.type === 'welcome'), 'welcome');
    over.send({ type: 'push', changes });
    expect(await over.closed).toBe(new SyncError('BUFFER_FULL', '').closeCode);
    expect(over.got.find((m) => m.type === 'error')).toMatchObject({ code: 'BUFFER_FULL' });
    expect(core(http.sync.db).peers.pendingBytes).toBe(0);
    await source.close();
  });

  it('6. a filter over the query limits is BAD_QUERY at once; hostile filters never stall /healthz', async () => {
    const http = await serve({ limits: { messagesPerSecond: 1e6, burst: 1e6 } });
    await http.sync.db
      .collection('products')
      .upsertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: `p${i}`, store: `s${i % 7}`, price: i })));
    const huge = { $or: Array.from({ length: 150_000 }, (_, i) => ({ price: i })) };
    const hostile = await raw(http);
    hostile.hello('alice', 'hostile-1', 'products', huge);
    expect(await hostile.closed).toBe(new SyncError('BAD_QUERY', '').closeCode);
    expect(hostile.got.find((m) => m.type === 'error')).toMatchObject({ code: 'BAD_QUERY' });
    const wide = { $or: Array.from({ length: 300 }, (_, i) => ({ price: i })) };
    const rest = await api(
      http,
      `/api/collections/products?where=${encodeURIComponent(JSON.stringify(wide))}`,
      'alice',
    );
    expect(rest.status).toBe(400);
    expect(await rest.json()).toMatchObject({ error: { code: 'BAD_QUERY' } });

    // Large filters allowed, from ten connections at once, while /healthz is asked.
    const widest = { $or: Array.from({ length: 60 }, (_, i) => ({ price: { $in: [i * 3, -1] } })) };
    const peers = await Promise.all(Array.from({ length: 10 }, () => raw(http)));
    for (const [i, p] of peers.entries()) p.hello('alice', `wide-${i}`, 'products', { ...widest });
    // The bound: a health check answers within a second while the filters are matched
    // (sessions take turns slice by slice; ~0.1 s measured alone, 0.5 s before turns).
    let slowest = 0;
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
      slowest = Math.max(slowest, performance.now() - t0);
    }
    await until(
      () => peers.every((p) => p.got.some((m) => m.type === 'synced')),
      'every hostile session synced',
    );
    expect(slowest).toBeLessThan(1000);
    for (const p of peers) p.close();
  });

  it('7. one document size limit on every write path; a client stops retrying what cannot heal', async () => {
    const http = await serve();
    const over = 'y'.repeat(MAX_DOCUMENT_BYTES);
    const half = 'z'.repeat(MAX_DOCUMENT_BYTES / 2 + 10);
    // Local writes: refused whole, nothing written.
    const local = await Database.open();
    await expect(local.collection('big').upsert({ _id: 'b', v: over })).rejects.toMatchObject({
      code: 'TOO_LARGE',
    });
    expect(local.version().get(local.replicaId)).toBe(0);
    await local.close();
    // REST: two PATCHes that make one document too large — the second is refused.
    const patch = (body: unknown) =>
      api(http, '/api/collections/big/d', 'alice', { method: 'PATCH', body: JSON.stringify(body) });
    expect((await patch({ a: half })).status).toBe(200);
    const second = await patch({ b: half });
    expect(second.status).toBe(413);
    expect(await second.json()).toMatchObject({ error: { code: 'TOO_LARGE' } });
    // A push that would make the server's document too large is refused on its own.
    const pusher = await device(http, 'alice', 'other');
    await pusher.db.collection('big').upsert({ _id: 'd', c: half });
    await pusher.db.collection('big').upsert({ _id: 'small', v: 1 });
    await pusher.sync.synced();
    expect(pusher.errors.map((e) => e.code)).toEqual(['TOO_LARGE']);
    expect(core(http.sync.db).documentValue('big', 'small')).toMatchObject({ v: 1 });
    expect(Object.keys(core(http.sync.db).documentValue('big', 'd')!).sort()).toEqual(['_id', 'a']);
    // A fresh client gets every document of the collection.
    const fresh = await device(http, 'alice', 'big');
    await fresh.sync.synced();
    expect((await fresh.db.collection('big').find()).map((d) => d._id).sort()).toEqual(['d', 'small']);
    // One whose message limit is below a document's size fails once, and says why.
    const tight = await device(http, 'alice', 'big', undefined, { maxMessageBytes: 1024 * 1024 });
    await until(() => tight.sync.status === 'failed', 'the client to give up');
    expect(tight.sync.lastError?.code).toBe('TOO_LARGE');
    await expect(tight.sync.synced()).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('7b. a change larger than the change log carries is refused on its own, on push and over REST', async () => {
    const http = await serve({ limits: { maxChangeBytes: 64 * 1024 } });
    // Random bytes: deflate cannot shrink them under the limit.
    const big = randomBytes(96 * 1024).toString('base64');
    const pusher = await device(http, 'alice', 'big');
    await pusher.db.collection('big').upsert({ _id: 'd', v: big });
    await pusher.db.collection('big').upsert({ _id: 'small', v: 1 });
    await pusher.sync.synced();
    expect(pusher.errors.map((e) => e.code)).toEqual(['TOO_LARGE']);
    expect(pusher.errors[0]!.message).toMatch(/over the 65536/);
    expect(await pusher.db.collection('big').get('d')).toBeUndefined();
    expect(core(http.sync.db).documentValue('big', 'd')).toBeUndefined();
    expect(core(http.sync.db).documentValue('big', 'small')).toMatchObject({ v: 1 });
    const put = await api(http, '/api/collections/big/r', 'alice', {
      method: 'PUT',
      body: JSON.stringify({ v: big }),
    });
    expect(put.status).toBe(413);
    expect(await put.json()).toMatchObject({ error: { code: 'TOO_LARGE' } });
    expect(core(http.sync.db).documentValue('big', 'r')).toBeUndefined();
    // Under the limit, the same size of text that deflates well is taken.
    await pusher.db.collection('big').upsert({ _id: 'e', v: 'x'.repeat(96 * 1024) });
    await pusher.sync.synced();
    expect(core(http.sync.db).documentValue('big', 'e')).toBeDefined();
  });

  it('7c. a change whose hooks amend it past a limit is refused, on push and over REST', async () => {
    const http = await serve({ limits: { maxChangeBytes: 64 * 1024 } });
    // Random bytes, over the change log's message; repeated ones, a document over 4 MiB of JSON.
    const blobs: Record<string, string> = {
      message: randomBytes(96 * 1024).toString('base64'),
      document: 'x'.repeat(5 * 1024 * 1024),
    };
    http.sync.validate('big', ({ after }) => {
      const blob = blobs[after?.stamp as string];
      return blob ? { ok: true, amend: { blob } } : { ok: true, amend: { checked: true } };
    });
    const pusher = await device(http, 'alice', 'big');
    await pusher.db.collection('big').upsert({ _id: 'a', stamp: 'message' });
    await pusher.db.collection('big').upsert({ _id: 'b', stamp: 'document' });
    await pusher.db.collection('big').upsert({ _id: 'c', stamp: 'plain' });
    await pusher.sync.synced();
    expect(pusher.errors.map((e) => [e.code, e.message.match(/amendment/) !== null])).toEqual([
      ['TOO_LARGE', true],
      ['TOO_LARGE', true],
    ]);
    expect(await pusher.db.collection('big').get('a')).toBeUndefined();
    expect(core(http.sync.db).documentValue('big', 'a')).toBeUndefined();
    expect(core(http.sync.db).documentValue('big', 'b')).toBeUndefined();
    expect(core(http.sync.db).documentValue('big', 'c')).toMatchObject({ stamp: 'plain', checked: true });
    const put = await api(http, '/api/collections/big/r', 'alice', {
      method: 'PUT',
      body: JSON.stringify({ stamp: 'message' }),
    });
    expect(put.status).toBe(413);
    expect(await put.json()).toMatchObject({ error: { code: 'TOO_LARGE' } });
    expect(core(http.sync.db).documentValue('big', 'r')).toBeUndefined();
  });

  it('8. a client that sends its headers byte by byte is cut off at the headers timeout', async () => {
    const http = await serve({ limits: { headersTimeoutMs: 300, requestTimeoutMs: 600 } });
    const sockets = Array.from({ length: 20 }, () => connect(http.port, '127.0.0.1'));
    const closed = sockets.map((s) => new Promise<void>((r) => s.once('close', () => r())));
    for (const s of sockets) {
      s.on('error', () => undefined);
      s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    }
    // They never finish their headers; the server closes every one of them (the test's own timeout bounds this).
    await Promise.all(closed);
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
  });
});

describe('issue 16: bad input that wedges a client', () => {
  it('9. ids PostgreSQL cannot keep are BAD_ID on every path; a bad change never blocks the outbox', async () => {
    const schema = `attack_ids_${process.pid}`;
    const url = await requirePostgres();
    const db = await Database.open({
      storage: await PostgresStorage.open({ connectionString: url, schema }),
    });
    cleanup.push(async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    });
    const http = await serve({}, db);
    for (const path of [
      '/api/collections/products/a%00b',
      `/api/collections/products/${'i'.repeat(2000)}`,
      '/api/collections/a%00/x',
    ]) {
      const res = await api(http, path, 'alice', { method: 'PUT', body: '{}' });
      expect(res.status, path.slice(0, 40)).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'BAD_ID' } });
    }
    const local = await Database.open({ replicaId: 'ids-replica' });
    await expect(local.collection('products').upsert({ _id: 'a\u0000b' })).rejects.toMatchObject({
      code: 'BAD_ID',
    });
    await expect(local.collection('products').upsert({ _id: 'x'.repeat(1025) })).rejects.toMatchObject({
      code: 'BAD_ID',
    });
    await expect(local.collection('products').upsert({ _id: '\ud800' })).rejects.toMatchObject({
      code: 'BAD_ID',
    });
    await expect(Database.open({ replicaId: 'r\u0000' })).rejects.toMatchObject({ code: 'BAD_REPLICA_ID' });
    // A peer that pushes one (it cannot come from a Concord client): refused alone, the rest kept.
    await local.collection('products').upsert({ _id: 'good-1', v: 1 });
    await local.collection('products').upsert({ _id: 'bad', v: 2 });
    await local.collection('products').upsert({ _id: 'good-2', v: 3 });
    const [g1, bad, g2] = await core(local).ownChanges(0);
    const forged: Change = {
      dot: bad!.dot,
      hlc: bad!.hlc,
      collection: 'products',
      docId: 'b\u0000d',
      ops: bad!.ops,
    };
    const peer = await raw(http);
    peer.hello('alice', 'ids-replica');
    await until(() => peer.got.some((m) => m.type === 'welcome'), 'welcome');
    peer.send({ type: 'push', changes: [g1!, forged, g2!] });
    await until(
      () => peer.got.some((m) => m.type === 'ack'),
      `ack, got ${JSON.stringify(peer.got.map((m) => m.type))}`,
    );
    expect(peer.got.find((m) => m.type === 'reject')).toMatchObject({ code: 'BAD_ID', dot: { seq: 2 } });
    expect(peer.got.find((m) => m.type === 'ack')).toMatchObject({ seq: 3 });
    expect(core(http.sync.db).documentValue('products', 'good-2')).toMatchObject({ v: 3 });
    peer.close();
    await local.close();
  });

  it('10. a document nested too deep is refused at write time; no unhandled rejection anywhere in sync', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    cleanup.push(() => void process.off('unhandledRejection', onUnhandled));
    const http = await serve();
    const c = await device(http, 'alice', 'deep');
    await c.db.collection('deep').upsert({ _id: 'before', v: 1 });
    let nested: unknown = { leaf: 1 };
    for (let i = 0; i < 64; i++) nested = map({ a: nested });
    await expect(c.db.collection('deep').upsert({ _id: 'd', nested })).rejects.toMatchObject({
      code: 'TOO_DEEP',
    });
    let json: unknown = 1;
    for (let i = 0; i < 40; i++) json = { a: json };
    await expect(c.db.collection('deep').upsert({ _id: 'j', json })).rejects.toMatchObject({
      code: 'TOO_DEEP',
    });
    expect(await c.db.collection('deep').get('d')).toBeUndefined();
    // Thirty levels are fine, and sync on.
    let ok: unknown = { leaf: 1 };
    for (let i = 0; i < 30; i++) ok = map({ a: ok });
    await c.db.collection('deep').upsert({ _id: 'ok', ok });
    await c.sync.synced();
    expect(core(http.sync.db).documentValue('deep', 'before')).toMatchObject({ v: 1 });
    expect(core(http.sync.db).documentValue('deep', 'ok')).toBeDefined();
    await SimClock.settle(); // turns of the event loop: a rejection left unhandled is told by now
    expect(unhandled).toEqual([]);
  });

  it('11. a device clock ten minutes ahead is told, corrected, and its writes get through', async () => {
    const http = await serve();
    const ahead = 10 * 60_000;
    const db = await Database.open({ now: () => Date.now() + ahead });
    await db.collection('notes').upsert({ _id: 'offline-1', v: 1 });
    await db.collection('notes').upsert({ _id: 'offline-2', v: 2 });
    const c = await device(http, 'alice', 'notes', db);
    await c.sync.synced();
    await until(() => c.sync.pending === 0, 'the writes made again to be acknowledged');
    const drift = c.errors.find((e) => e.code === 'CLOCK_DRIFT' && e.offsetMs !== undefined);
    expect(drift?.offsetMs).toBeLessThan(-ahead + 5_000);
    expect(drift?.offsetMs).toBeGreaterThan(-ahead - 5_000);
    expect(c.sync.clockOffset).toBe(drift?.offsetMs);
    // The two writes made with the wrong clock were refused for it, then written again by value.
    expect(core(http.sync.db).documentValue('notes', 'offline-1')).toMatchObject({ v: 1 });
    expect(core(http.sync.db).documentValue('notes', 'offline-2')).toMatchObject({ v: 2 });
    await db.collection('notes').upsert({ _id: 'later', v: 3 });
    await c.sync.synced();
    expect(core(http.sync.db).documentValue('notes', 'later')).toMatchObject({ v: 3 });
    expect(c.sync.pending).toBe(0);
  });
});

describe('issue 16: smaller leaks and errors; one way in for writes', () => {
  it('12. write-only grants read nothing, out-of-scope deletes answer as reads do, bad percent-encoding is 400', async () => {
    const http = await serve();
    await http.sync.db.collection('products').upsertMany([
      { _id: 'p1', store: 's1', secret: 'one' },
      { _id: 'p2', store: 's2', secret: 'two' },
    ]);
    const patch = await api(http, '/api/collections/products/p1', 'writeOnly', {
      method: 'PATCH',
      body: '{}',
    });
    expect(patch.status).toBe(204);
    expect(await patch.text()).toBe('');
    expect((await api(http, '/api/collections/products/p1', 'writeOnly')).status).toBe(403);
    const get = await api(http, '/api/collections/products/p2', 'store1');
    const del = await api(http, '/api/collections/products/p2', 'store1', { method: 'DELETE' });
    expect(get.status).toBe(404);
    expect(del.status).toBe(404);
    expect(await del.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(core(http.sync.db).documentValue('products', 'p2')).toBeDefined();
    const bad = await api(http, '/api/collections/products/%E0%A4%A', 'alice');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'BAD_PATH' } });
  });

  it('a hook that amends, and a grant filtered on a counter, behave alike over REST and over sync', async () => {
    const http = await serve();
    http.sync.validate('stock', ({ after }) =>
      after ? { ok: true, amend: { checked: true } } : { ok: true },
    );
    await http.sync.db.collection('stock').upsert({ _id: 'rest', n: counter(3) });
    await http.sync.db.collection('stock').upsert({ _id: 'sync', n: counter(3) });
    // REST: amended; a write that takes the counter out of the grant's filter is refused.
    const ok = await api(http, '/api/collections/stock/rest', 'capped', { method: 'PATCH', body: '{"n":4}' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ n: 4, checked: true });
    const refused = await api(http, '/api/collections/stock/rest', 'capped', {
      method: 'PATCH',
      body: '{"n":9}',
    });
    expect(refused.status).toBe(403);
    // Sync: the same.
    const c = await device(http, 'capped', 'stock');
    await c.sync.synced();
    await c.db.collection('stock').update('sync', (d) => {
      (d as { n: number }).n += 1;
    });
    await c.sync.synced();
    await until(() => core(http.sync.db).documentValue('stock', 'sync')?.checked === true, 'the amendment');
    expect(core(http.sync.db).documentValue('stock', 'sync')).toMatchObject({ n: 4, checked: true });
    await until(
      async () => (await c.db.collection('stock').get('sync'))?.checked === true,
      'the amendment synced',
    );
    await c.db.collection('stock').update('sync', (d) => {
      (d as { n: number }).n += 5;
    });
    await until(() => c.errors.some((e) => e.code === 'FORBIDDEN'), 'the refusal');
    expect(core(http.sync.db).documentValue('stock', 'sync')).toMatchObject({ n: 4 });
    await until(async () => (await c.db.collection('stock').get('sync'))?.n === 4, 'the rollback');
  });
});
