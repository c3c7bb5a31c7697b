import { Database } from '@concord/db';
import {
  CatalogueIngest,
  FeedConsumer,
  type FeedMessage,
  FeedStream,
  feedRecord,
  publishFeed,
  SqlProjection,
} from '@concord/feed';
import { requireNats, requirePostgres, SeededRng, seeds, until } from '@concord/testkit';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Redelivery, seeded: both consumers fail batches at random (as a store that is down a moment
 * would), so JetStream delivers messages again, 1 to 3 times, over four feeds with changes,
 * deletions, re-additions and prices changed back. At the end the SQL table and the catalogue
 * equal the last feed, and the catalogue recorded exactly one change per real difference.
 * Replay one with SEED=<n>.
 */
let nc: NatsConnection;
let pool: pg.Pool;
beforeAll(async () => {
  nc = await connect({ servers: await requireNats() });
  pool = new pg.Pool({ connectionString: await requirePostgres() });
});
afterAll(async () => {
  await nc?.close();
  await pool?.end();
});

/** `apply`, failing a batch now and then (up to 3 times per message), seeded. */
function flaky(rng: SeededRng, apply: (b: readonly FeedMessage[]) => Promise<void>) {
  const failures = new Map<number, number>();
  return async (batch: readonly FeedMessage[]) => {
    if (rng.int(4) === 0 && batch.every((m) => (failures.get(m.seq) ?? 0) < 3)) {
      for (const m of batch) failures.set(m.seq, (failures.get(m.seq) ?? 0) + 1);
      throw new Error('the store is down a moment');
    }
    await apply(batch);
  };
}

async function run(seed: number): Promise<void> {
  // The feeds from one generator, each consumer's failures from its own: batch boundaries
  // depend on timing, and must not change what the feeds say.
  const rng = new SeededRng(seed);
  const failing = [new SeededRng(seed * 31 + 1), new SeededRng(seed * 31 + 2)];
  const name = `feed_faults_${process.pid}_${seed}`;
  const jsm = await jetstreamManager(nc);
  const stream = new FeedStream(name);
  const db = await Database.open();
  const ingest = new CatalogueIngest(db);
  const projection = new SqlProjection(pool, { schema: name, columns: { price: 'numeric' } });
  await projection.ensure();
  const consumers = [
    await FeedConsumer.start(
      nc,
      stream,
      'concord',
      flaky(failing[0]!, (b) => ingest.apply(b)),
      { batch: 10 + rng.int(30), ackWaitMs: 2_000 },
    ),
    await FeedConsumer.start(
      nc,
      stream,
      'sql',
      flaky(failing[1]!, (b) => projection.apply(b)),
      { batch: 10 + rng.int(30), ackWaitMs: 2_000 },
    ),
  ];
  try {
    // The truth: what the last feed says of each product (undefined: deleted or never there).
    const truth = new Map<string, { price: number } | undefined>();
    let differences = 0;
    for (let round = 0; round < 4; round++) {
      const records = [];
      for (let i = 0; i < 60; i++) {
        const id = `p${i}`;
        const before = truth.get(id);
        const r = rng.int(10);
        const next = r === 0 ? undefined : r < 3 ? { price: rng.int(50) } : (before ?? { price: i });
        if (JSON.stringify(next) !== JSON.stringify(before) && (next !== undefined || before !== undefined))
          differences++;
        truth.set(id, next);
        records.push(
          next ? feedRecord({ _id: id, ...next }, 'feed') : feedRecord({ _id: id, _deleted: true }, 'feed'),
        );
      }
      await publishFeed(jetstream(nc), stream, records);
      // Caught up between feeds, as hourly feeds are: a message a later one replaced before it
      // was consumed is gone from the stream (one per product), and would be no change at all.
      await until(
        async () => {
          for (const c of consumers) if ((await c.lag()) > 0) return false;
          return true;
        },
        `both consumers to catch up with feed ${round}`,
        60_000,
      );
    }
    const want = [...truth]
      .filter(([, v]) => v)
      .map(([id, v]) => ({ _id: id, ...v }))
      .sort((a, b) => (a._id < b._id ? -1 : 1));
    const held = await db.collection('products').find({ sort: { _id: 'asc' } });
    const wrong = want.filter((w) => JSON.stringify(held.find((h) => h._id === w._id)) !== JSON.stringify(w));
    const extra = held.filter((h) => !want.some((w) => w._id === h._id));
    expect(
      { wrong, extra },
      `the catalogue against the feed: ${JSON.stringify({ wrong, extra, held: held.filter((h) => wrong.some((w) => w._id === h._id)) })}`,
    ).toEqual({ wrong: [], extra: [] });
    const rows = await pool.query(
      `SELECT id AS "_id", price::float8 AS price FROM "${name}".products ORDER BY id`,
    );
    expect(rows.rows).toEqual(want);
    // One change per real difference (a deletion of a product never there is none).
    expect(db.version().get(db.replicaId)).toBe(differences);
    expect(consumers.some((c) => c.progress.redelivered > 0)).toBe(true);
  } finally {
    for (const c of consumers) await c.stop();
    await jsm.streams.delete(name).catch(() => undefined);
    await pool.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await db.close();
  }
}

describe('the feed under redelivery', () => {
  it.each(seeds(3))(
    'seed %i: SQL and catalogue equal the feed; changes equal the differences',
    async (seed) => {
      try {
        await run(seed);
      } catch (e) {
        throw new Error(
          `feed fault run failed — replay with: SEED=${seed} npx vitest run packages/feed/test/faults.test.ts\n${(e as Error).message}`,
        );
      }
    },
    120_000,
  );
});
