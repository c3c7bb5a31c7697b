import { FeedConsumer, FeedStream, feedRecord, publishFeed, SqlProjection } from '@concord/feed';
import { requireNats, requirePostgres, until } from '@concord/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The SQL projection consumer against the machine's NATS JetStream and PostgreSQL. */
let nc: NatsConnection;
let pool: pg.Pool;
const name = `feed_proj_${process.pid}`;

beforeAll(async () => {
  nc = await connect({ servers: await requireNats() });
  pool = new pg.Pool({ connectionString: await requirePostgres() });
});
afterAll(async () => {
  await (await jetstreamManager(nc)).streams.delete(name).catch(() => undefined);
  await nc?.close();
  await pool?.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await pool?.end();
});

describe('the SQL projection', () => {
  it('keeps one row per product, never regresses, and sends what it cannot take to the dead letters', async () => {
    const stream = new FeedStream(name);
    const projection = new SqlProjection(pool, { schema: name, columns: { name: 'text', price: 'numeric' } });
    await projection.ensure();
    const js = jetstream(nc);
    await stream.ensure(await jetstreamManager(nc));
    const record = (v: unknown) => feedRecord(v, 'test');
    await publishFeed(js, stream, [
      record({ _id: 'sku-1', name: 'Milk', price: 1.99, tags: ['dairy'] }),
      record({ _id: 'sku-2', name: 'Bread', price: 2.49 }),
      record({ _id: 'sku-3', name: 'Wine', price: 'cheap' }), // a price the column cannot take
    ]);
    await js.publish(stream.subject('garbage'), new TextEncoder().encode('{not json'));
    const consumer = await FeedConsumer.start(nc, stream, 'projection', (b) => projection.apply(b), {
      check: (r) => projection.check(r),
    });
    try {
      await until(async () => (await consumer.lag()) === 0, 'the consumer to catch up');
      const rows = await pool.query(
        `SELECT id, name, price::float8 AS price, data FROM "${name}".products ORDER BY id`,
      );
      expect(rows.rows).toEqual([
        { id: 'sku-1', name: 'Milk', price: 1.99, data: { name: 'Milk', price: 1.99, tags: ['dairy'] } },
        { id: 'sku-2', name: 'Bread', price: 2.49, data: { name: 'Bread', price: 2.49 } },
      ]);
      expect(consumer.progress).toMatchObject({ applied: 2, deadLetters: 2 });
      const dead = await (await jetstreamManager(nc)).streams.info(name, {
        subjects_filter: stream.deadLetters,
      });
      expect(Object.keys(dead.state.subjects ?? {})).toHaveLength(2);

      // A price change and a deletion; then an old message again, as a redelivery would bring it.
      await publishFeed(js, stream, [
        record({ _id: 'sku-2', name: 'Bread', price: 2.29 }),
        record({ _id: 'sku-1', _deleted: true }),
      ]);
      await until(async () => (await consumer.lag()) === 0 && (await projection.count()) === 1, 'the update');
      await projection.apply([{ record: record({ _id: 'sku-2', name: 'Bread', price: 9 }), seq: 1 }]);
      await projection.apply([{ record: record({ _id: 'sku-1', name: 'Milk', price: 1 }), seq: 2 }]);
      const after = await pool.query(`SELECT id, price::float8 AS price FROM "${name}".products ORDER BY id`);
      expect(after.rows).toEqual([{ id: 'sku-2', price: 2.29 }]);
    } finally {
      await consumer.stop();
    }
  });
});
