import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, type SyncClient, type WebSocketLike, WebSocketTransport } from '@concord/db';
import { core } from '@concord/db/internal';
import { SqliteStorage } from '@concord/db/sqlite';
import { concordServe, kill9, requirePostgres, SeededRng, seeds } from '@concord/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { run } from './support/processes.js';
import { contents, until } from './support.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'concord-proc-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const list = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/api/collections/products?sort=_id`)).json();

describe('processes: concord serve, devices with SQLite files', () => {
  it('three clients edit concurrently; one goes offline, edits, restarts its process, reconnects; all converge with the server', async () => {
    const { child, port } = await concordServe(['--port', '0', '--data', join(dir, 'server.db')]);
    const url = `ws://127.0.0.1:${port}/sync`;
    try {
      const live = await Promise.all(
        [1, 2].map(async (n) => {
          const db = await Database.open({ storage: await SqliteStorage.open(join(dir, `client-${n}.db`)) });
          return { db, sync: db.sync(url, { subscriptions: [{ collection: 'products' }] }) };
        }),
      );
      await live[0]!.db.collection('products').upsert({ _id: 'shared', price: 1 });
      await live[0]!.sync.synced();
      const device = join(dir, 'device.db');
      JSON.parse(await run('device.ts', [device, 'sync', url]));
      // The device is offline (its process is not even running) while the others keep editing.
      const edits = Promise.all(
        live.map(async ({ db }, n) => {
          for (let i = 0; i < 25; i++)
            await db.collection('products').upsert({ _id: `c${n}-${i % 5}`, price: i, n });
          await db.collection('products').update('shared', (d) => {
            d[`by${n}`] = true;
          });
        }),
      );
      await run('device.ts', [device, 'offline', '10']);
      await edits;
      await Promise.all(live.map((c) => c.sync.synced()));
      const deviceView = JSON.parse(await run('device.ts', [device, 'sync', url]));
      await until(
        async () => (await list(port)).length === deviceView.length,
        'the device’s changes on the server',
        10_000,
      );
      const server = await list(port);
      expect(deviceView).toEqual(server);
      expect(server.find((d: { _id: string }) => d._id === 'shared')).toMatchObject({
        price: 1,
        by0: true,
        by1: true,
        offline: true,
      });
      expect(server.filter((d: { _id: string }) => d._id.startsWith('offline-'))).toHaveLength(10);
      for (const c of live)
        await until(
          async () => JSON.stringify(await contents(c.db, 'products')) === JSON.stringify(server),
          'live clients converge',
        );
      for (const c of live) {
        await c.sync.close();
        await c.db.close();
      }
    } finally {
      await kill9(child);
    }
  });

  it('concord serve --web serves the page beside the API; concord demo fills kv, products and stores once', async () => {
    const web = join(dir, 'web');
    mkdirSync(web);
    writeFileSync(join(web, 'index.html'), '<h1>the page</h1>');
    const { child, port } = await concordServe([
      '--port',
      '0',
      '--data',
      join(dir, 'server.db'),
      '--web',
      web,
    ]);
    const http = `http://127.0.0.1:${port}`;
    try {
      const page = await fetch(`${http}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toBe('<h1>the page</h1>');
      expect((await fetch(`${http}/missing.png`)).status).toBe(404);
      const api = await fetch(`${http}/api/nothing`);
      expect(api.status).toBe(404);
      expect(await api.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });

      const demo = ['../../src/cli.ts', ['demo', '--url', `ws://127.0.0.1:${port}/sync`]] as const;
      expect(await run(...demo)).toContain('7 key-value entries, 24 products and 3 stores written');
      expect(await run(...demo)).toContain('0 key-value entries, 0 products and 0 stores written');
      expect(await (await fetch(`${http}/api/collections`)).json()).toEqual([
        { name: 'kv', documents: 7 },
        { name: 'products', documents: 24 },
        { name: 'stores', documents: 3 },
      ]);

      const db = await Database.open();
      const sync = db.sync(`ws://127.0.0.1:${port}/sync`, {
        subscriptions: [{ collection: 'products', where: { category: 'dairy' } }],
      });
      await sync.synced();
      expect(await db.collection('products').count()).toBe(4);
      expect(await (await fetch(`${http}/api/peers`)).json()).toEqual([
        {
          replica: db.replicaId,
          subscriptions: [{ collection: 'products', where: { category: 'dairy' } }],
          phase: 'live',
          since: expect.any(Number),
        },
      ]);
      await sync.close();
      await db.close();
    } finally {
      await kill9(child);
    }
  });

  it('concord serve --postgres keeps its documents in PostgreSQL across a restart', async () => {
    const schema = `concord_serve_${process.pid}_${Date.now()}`;
    const pg = await requirePostgres();
    let { child, port } = await concordServe(['--port', '0', '--postgres', pg, '--schema', schema]);
    try {
      const db = await Database.open();
      const sync = db.sync(`ws://127.0.0.1:${port}/sync`, { subscriptions: [{ collection: 'products' }] });
      await db.collection('products').upsert({ _id: 'pg-1', price: 3 });
      await sync.synced();
      await sync.close();
      await db.close();
      await kill9(child);
      ({ child, port } = await concordServe(['--port', '0', '--postgres', pg, '--schema', schema]));
      expect(await list(port)).toEqual([{ _id: 'pg-1', price: 3 }]);
    } finally {
      await kill9(child);
      const { default: pgModule } = await import('pg');
      const client = new pgModule.Client({ connectionString: pg });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    }
  });

  it.each(seeds(1))(
    'kill -9 the server while clients write: every acknowledged change survives, clients resend the rest, all converge (seed %i)',
    async (seed) => {
      const rng = new SeededRng(seed);
      const data = join(dir, 'server.db');
      let { child, port } = await concordServe(['--port', '0', '--data', data]);
      const url = () => `ws://127.0.0.1:${port}/sync`;
      const clients: Array<{ db: Database; sync: SyncClient }> = [];
      for (let n = 0; n < 3; n++) {
        const db = await Database.open({ storage: await SqliteStorage.open(join(dir, `c${n}.db`)) });
        // The URL is looked up on every connection attempt: the restarted server gets a new port.
        const sync = db.sync(
          () => WebSocketTransport.connect(url(), (u) => new WebSocket(u) as unknown as WebSocketLike),
          {
            subscriptions: [{ collection: 'products' }],
            backoff: { minMs: 20, maxMs: 200 },
          },
        );
        clients.push({ db, sync });
      }
      let writing = true;
      const writers = clients.map(async ({ db }, n) => {
        for (let i = 0; writing; i++) {
          await db.collection('products').upsert({ _id: `c${n}-${i}`, price: i });
          await new Promise((r) => setTimeout(r, 2));
        }
      });
      try {
        await until(() => clients.every((c) => c.sync.acknowledged > 20), 'acknowledged writes', 20_000);
        await new Promise((r) => setTimeout(r, rng.int(300)));
        await kill9(child);
        const acked = clients.map((c) => c.sync.acknowledged);
        const dead = await Database.open({ storage: await SqliteStorage.open(data) });
        for (const [n, c] of clients.entries()) {
          expect(
            dead.version().get(c.db.replicaId),
            `client ${n}: acknowledged ${acked[n]}`,
          ).toBeGreaterThanOrEqual(acked[n]!);
          for (let i = 0; i < acked[n]!; i++)
            expect(core(dead).documentValue('products', `c${n}-${i}`), `c${n}-${i}`).toBeDefined();
        }
        await dead.close();
        ({ child, port } = await concordServe(['--port', '0', '--data', data]));
        await new Promise((r) => setTimeout(r, 100));
        writing = false;
        await Promise.all(writers);
        await Promise.all(clients.map((c) => c.sync.synced()));
        const server = await list(port);
        expect(server.length).toBe(clients.reduce((n, c) => n + c.db.version().get(c.db.replicaId), 0));
        for (const c of clients)
          await until(
            async () => JSON.stringify(await contents(c.db, 'products')) === JSON.stringify(server),
            'convergence',
            10_000,
          );
      } catch (e) {
        throw new Error(
          `server crash test failed — replay with: SEED=${seed} npx vitest run packages/server/test/processes.test.ts\n${(e as Error).message}`,
        );
      } finally {
        writing = false;
        for (const c of clients) {
          await c.sync.close();
          await c.db.close();
        }
        await kill9(child);
      }
    },
  );
});
