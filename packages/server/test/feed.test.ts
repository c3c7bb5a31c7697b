import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { FeedStream, feedRecord, publishFeed } from '@concord/feed';
import { FeedIngest, type Grant, HttpServer, jwtAuthenticator, SyncServer } from '@concord/server';
import {
  concordServe,
  kill9,
  ownNatsServer,
  requireNats,
  requirePostgres,
  SeededRng,
  seeds,
} from '@concord/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from './support/processes.js';
import { until } from './support.js';

/**
 * Seed 000's pipeline as a user runs it: `concord feed publish` and `concord serve --nats …
 * --ingest products --postgres …` as processes, against the machine's NATS and PostgreSQL, with
 * a store's client syncing over WebSockets.
 */
const name = `feed_cli_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'concord-feed-cli-'));
afterAll(async () => {
  const nc = await connect({ servers: await requireNats() });
  await (await jetstreamManager(nc)).streams.delete(name).catch(() => undefined);
  await (await jetstreamManager(nc)).streams.delete(`${name}_kill`).catch(() => undefined);
  // With --postgres and --nats, concord serve is a node of deployment <schema>: its change log.
  await (await jetstreamManager(nc)).streams.delete(`${name}_changes`).catch(() => undefined);
  await nc.close();
  const c = new pg.Client({ connectionString: await requirePostgres() });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await c.end();
  rmSync(dir, { recursive: true, force: true });
});

const feed = (changed = -1) =>
  Array.from({ length: 100 }, (_, i) =>
    JSON.stringify({
      _id: `sku-${i}`,
      name: `Product ${i}`,
      price: i === changed ? 99.5 : i,
      store: `s${i % 2}`,
    }),
  ).join('\n');

/** `concord feed publish <file>` as a user runs it, to this file's stream; resolves with its output. */
const publish = (file: string, nats: string) =>
  run('../../src/cli.ts', ['feed', 'publish', file, '--nats', nats, '--stream', name]);

describe('concord feed publish → concord serve --ingest → SQL and the stores', () => {
  it('projects the feed into SQL and the catalogue, and sends a store only what changed', async () => {
    const nats = await requireNats();
    const postgres = await requirePostgres();
    const file = join(dir, 'products.jsonl');
    writeFileSync(file, feed());
    const published = await publish(file, nats);
    expect(published).toMatch(/published 100 products .*: 100 stored, 0 unchanged/);

    const { child, port } = await concordServe([
      '--data',
      join(dir, 'cli.db'),
      '--port',
      '0',
      '--nats',
      nats,
      '--ingest',
      'products',
      '--stream',
      name,
      '--postgres',
      postgres,
      '--schema',
      name,
      '--columns',
      'name:text,price:numeric',
    ]);
    const store = await Database.open();
    const sync = store.sync(`ws://127.0.0.1:${port}/sync`, {
      subscriptions: [{ collection: 'products', where: { store: 's0' } }],
    });
    const sql = new pg.Client({ connectionString: postgres });
    await sql.connect();
    try {
      await until(
        async () => (await store.collection('products').count()) === 50,
        'the store’s 50 products',
        20_000,
      );
      await until(
        async () => (await sql.query(`SELECT count(*)::int AS n FROM "${name}".products`)).rows[0].n === 100,
        'the SQL rows',
        20_000,
      );
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as Record<
        string,
        unknown
      >;
      expect(health).toMatchObject({ status: 'ok', feed: { nats: 'connected' } });
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(
        /concord_feed_lag\{consumer="concord"\} 0/,
      );

      // The hourly feed again with one price changed: stored once, and the store gets it.
      writeFileSync(file, feed(10));
      const again = await publish(file, nats);
      expect(again).toMatch(/: 1 stored, 99 unchanged/);
      await until(
        async () => (await store.collection('products').get('sku-10'))?.price === 99.5,
        'the new price',
        20_000,
      );
      await until(
        async () =>
          (await sql.query(`SELECT price::float8 AS p FROM "${name}".products WHERE id = 'sku-10'`)).rows[0]
            .p === 99.5,
        'the new SQL price',
      );
      // 100 products, then one changed price: 101 catalogue changes, none for the 99 unchanged.
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(
        /concord_feed_changes 101\n/,
      );
    } finally {
      await sql.end();
      await sync.close();
      await store.close();
      await kill9(child);
    }
  });
});

describe('POST /api/feed: the head office uploads its feed to the server that ingests it', () => {
  it('publishes JSON Lines and CSV, stores only what changed, refuses bad feeds with their reason', async () => {
    const nats = await requireNats();
    const stream = `${name}_http`;
    const { child, port } = await concordServe([
      ...['--data', join(dir, 'http.db'), '--port', '0'],
      ...['--nats', nats, '--ingest', 'products', '--stream', stream],
    ]);
    const post = (body: string, type: string) =>
      fetch(`http://127.0.0.1:${port}/api/feed`, { method: 'POST', headers: { 'content-type': type }, body });
    const price = async (id: string) =>
      (
        (await (await fetch(`http://127.0.0.1:${port}/api/collections/products/${id}`)).json()) as {
          price?: number;
        }
      ).price;
    try {
      const first = await post(feed(), 'application/x-ndjson');
      expect(first.status).toBe(200);
      expect(await first.json()).toEqual({ published: 100, stored: 100, duplicates: 0 });
      await until(async () => (await price('sku-99')) === 99, 'the uploaded catalogue', 20_000);

      // The same feed again stores nothing; a CSV with one price changed stores that one.
      expect(await (await post(feed(), 'application/x-ndjson')).json()).toEqual({
        published: 100,
        stored: 0,
        duplicates: 100,
      });
      const csv = `_id,name,price,store\nsku-7,Product 7,7.25,s1\nsku-8,Product 8,8,s0\n`;
      expect(await (await post(csv, 'text/csv; charset=utf-8')).json()).toEqual({
        published: 2,
        stored: 1,
        duplicates: 1,
      });
      await until(async () => (await price('sku-7')) === 7.25, 'the CSV price', 20_000);

      // A line that is no product: 400 with its line; a body of another type: 415.
      const bad = await post(
        `${JSON.stringify({ _id: 'sku-1', price: 1 })}\nnot json\n`,
        'application/x-ndjson',
      );
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: { code: 'BAD_RECORD', message: 'the feed:2: not JSON' } });
      const untyped = await post('{}', 'application/json');
      expect(untyped.status).toBe(415);
      expect(((await untyped.json()) as { error: { code: string } }).error.code).toBe('BAD_FORMAT');
      expect((await fetch(`http://127.0.0.1:${port}/api/feed`)).status).toBe(405);
    } finally {
      await kill9(child);
      const nc = await connect({ servers: nats });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });
});

describe('POST /api/feed: who may upload, and how much', () => {
  it('takes a token that may write the whole collection, refuses a feed over the limit, answers 404 without a feed', async () => {
    const nats = await requireNats();
    const stream = `${name}_limits`;
    const secret = 'feed-upload-secret-of-enough-length';
    const sign = (grants: Grant[]) =>
      new SignJWT({ grants })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('hq')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(secret));
    const db = await Database.open();
    const sync = new SyncServer({
      db,
      authenticate: jwtAuthenticator({ secret }),
      limits: { maxFeedBytes: 2000 },
    });
    const metrics = sync.metrics;
    const ingest = await FeedIngest.start({ db, nats, stream, collection: 'products', metrics });
    const server = await HttpServer.listen({ sync, port: 0, feed: ingest });
    const plain = await HttpServer.listen({ sync: new SyncServer({ db: await Database.open() }), port: 0 });
    const post = (url: string, token: string, body: string) =>
      fetch(`${url}/api/feed`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${token}` },
        body,
      });
    try {
      const hq = await sign([{ collection: 'products', read: true, write: true }]);
      const store = await sign([{ collection: 'products', read: true, write: true, where: { store: 's1' } }]);
      const small = JSON.stringify({ _id: 'sku-1', name: 'Milk', price: 1.09 });
      expect(await (await post(server.url, hq, small)).json()).toEqual({
        published: 1,
        stored: 1,
        duplicates: 0,
      });
      const scoped = await post(server.url, store, small);
      expect(scoped.status).toBe(403);
      expect(((await scoped.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
      expect((await post(server.url, '', small)).status).toBe(401);
      const big = Array.from({ length: 100 }, (_, i) => JSON.stringify({ _id: `sku-${i}`, price: i })).join(
        '\n',
      );
      const tooLarge = await post(server.url, hq, big);
      expect(tooLarge.status).toBe(413);
      expect(((await tooLarge.json()) as { error: { code: string } }).error.code).toBe('TOO_LARGE');
      const none = await fetch(`${plain.url}/api/feed`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: small,
      });
      expect(none.status).toBe(404);
      expect(((await none.json()) as { error: { code: string } }).error.code).toBe('NO_FEED');
      await until(async () => (await db.collection('products').get('sku-1'))?.price === 1.09, 'the product');
    } finally {
      await server.close();
      await plain.close();
      await ingest.stop();
      await db.close();
      const nc = await connect({ servers: nats });
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
      await nc.close();
    }
  });
});

describe('concord serve --ingest killed mid-ingest', () => {
  it.each(seeds(1))(
    'seed %i: SIGKILLed 20 times, it loses nothing and applies nothing twice',
    async (seed) => {
      const rng = new SeededRng(seed);
      const nats = await requireNats();
      const nc = await connect({ servers: nats });
      const stream = new FeedStream(`${name}_kill`);
      await stream.ensure(await jetstreamManager(nc));
      const data = join(dir, 'killed.db');
      // A message a killed process had taken is delivered again after the ack wait: 2 s here.
      const args = [
        '--ack-wait',
        '2000',
        '--port',
        '0',
        '--data',
        data,
        '--nats',
        nats,
        '--ingest',
        'products',
        '--stream',
        stream.name,
      ];
      let server = await concordServe(args);
      const lag = async () => {
        const health = (await (await fetch(`http://127.0.0.1:${server.port}/healthz`)).json()) as {
          feed?: { concord?: { lag: number | null } };
        };
        return health.feed?.concord?.lag;
      };
      const truth = new Map<string, number | undefined>();
      let differences = 0;
      try {
        for (let round = 0; round < 4; round++) {
          const records = Array.from({ length: 500 }, (_, i) => {
            const id = `p${i}`;
            const before = truth.get(id);
            const r = rng.int(10);
            const next = r === 0 ? undefined : r < 4 ? rng.int(1000) : (before ?? i);
            if (next !== before) differences++;
            truth.set(id, next);
            return feedRecord(
              next === undefined ? { _id: id, _deleted: true } : { _id: id, price: next },
              'feed',
            );
          });
          await publishFeed(jetstream(nc), stream, records);
          // Five kills while this feed is taken in, each at a random moment, then a restart.
          for (let k = 0; k < 5; k++) {
            await new Promise((r) => setTimeout(r, rng.int(250)));
            await kill9(server.child);
            server = await concordServe(args);
          }
          await until(async () => (await lag()) === 0, `feed ${round} taken in`, 30_000);
        }
      } finally {
        await kill9(server.child);
        await nc.close();
      }
      const db = await Database.open({ storage: await SqliteStorage.open(data) });
      try {
        const want = [...truth]
          .filter(([, price]) => price !== undefined)
          .map(([id, price]) => ({ _id: id, price }))
          .sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
        const held = await db.collection('products').find();
        held.sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
        expect(held, `replay with SEED=${seed}`).toEqual(want);
        // A batch committed but not acknowledged before a kill is delivered again: no change then.
        expect(db.version().get(db.replicaId), `replay with SEED=${seed}`).toBe(differences);
      } finally {
        await db.close();
      }
    },
    180_000,
  );
});

describe('concord serve --ingest while NATS restarts', () => {
  it('reports degraded while NATS is down, reconnects when it is back, and goes on ingesting', async () => {
    // A NATS server of this test's own (the machine's serves the other tests meanwhile).
    const { url, start: startNats } = await ownNatsServer(join(dir, 'nats-store'));
    let nats = await startNats();
    const stream = new FeedStream('restart');
    const publish = async (from: number) => {
      const nc = await connect({ servers: url });
      await stream.ensure(await jetstreamManager(nc));
      const records = Array.from({ length: 100 }, (_, i) =>
        feedRecord({ _id: `p${from + i}`, price: i }, 'feed'),
      );
      await publishFeed(jetstream(nc), stream, records);
      await nc.close();
    };
    await publish(0);
    const server = await concordServe([
      '--data',
      join(dir, 'restart.db'),
      '--port',
      '0',
      '--nats',
      url,
      '--ingest',
      'products',
      '--stream',
      'restart',
    ]);
    const health = async () => (await fetch(`http://127.0.0.1:${server.port}/healthz`)).status;
    const count = async () => ((await list(server.port)) as unknown[]).length;
    try {
      await until(async () => (await count()) === 100, 'the first feed');
      await kill9(nats);
      await until(async () => (await health()) === 503, '/healthz to say degraded');
      nats = await startNats();
      await until(async () => (await health()) === 200, '/healthz to recover', 30_000);
      await publish(100);
      await until(async () => (await count()) === 200, 'the feed published after the restart', 30_000);
    } finally {
      await kill9(server.child);
      await kill9(nats);
    }
  }, 120_000);
});

const list = async (port: number) =>
  (await fetch(`http://127.0.0.1:${port}/api/collections/products?sort=_id`)).json();
