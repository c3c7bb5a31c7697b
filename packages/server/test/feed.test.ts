import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '@concord/db';
import { requireNats, requirePostgres } from '@concord/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { kill9, run, serve } from './support/processes.js';
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

describe('concord feed publish → concord serve --ingest → SQL and the stores', () => {
  it('projects the feed into SQL and the catalogue, and sends a store only what changed', async () => {
    const nats = await requireNats();
    const postgres = await requirePostgres();
    const file = join(dir, 'products.jsonl');
    writeFileSync(file, feed());
    const published = await run('../../src/cli.ts', [
      'feed',
      'publish',
      file,
      '--nats',
      nats,
      '--stream',
      name,
    ]);
    expect(published).toMatch(/published 100 products .*: 100 stored, 0 unchanged/);

    const { child, port } = await serve([
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
      const again = await run('../../src/cli.ts', [
        'feed',
        'publish',
        file,
        '--nats',
        nats,
        '--stream',
        name,
      ]);
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
    } finally {
      await sql.end();
      await sync.close();
      await store.close();
      await kill9(child);
    }
  });
});
