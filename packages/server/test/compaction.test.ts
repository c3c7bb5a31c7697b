import type { ChildProcess } from 'node:child_process';
import { Database } from '@concord/db';
import { ChangeLog, LogSnapshots } from '@concord/server/internal';
import { concordServe, kill9, LinkProxy, requireNats, requirePostgres } from '@concord/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './support.js';

/**
 * The change log compacted (DESIGN.md, Scale-out): every `--compact-every` messages a node
 * stores its database whole in PostgreSQL and the stream is purged up to the older of two
 * snapshots; a node starting later — or one cut off from NATS while the stream was trimmed past
 * it — loads a snapshot and replays the tail. Nodes are `concord serve` processes.
 */
const deployment = `compaction_${process.pid}`;
const children: ChildProcess[] = [];
let nc: NatsConnection;
let sql: pg.Client;

beforeAll(async () => {
  nc = await connect({ servers: await requireNats() });
  sql = new pg.Client({ connectionString: await requirePostgres() });
  await sql.connect();
});

afterAll(async () => {
  for (const c of children) await kill9(c);
  const jsm = await jetstreamManager(nc);
  for (const d of [deployment, `${deployment}_cut`, `${deployment}_own`, `${deployment}_turns`]) {
    await jsm.streams.delete(`${d}_changes`).catch(() => undefined);
    await sql.query(`DROP SCHEMA IF EXISTS "${d}" CASCADE`);
  }
  await nc.close();
  await sql.end();
});

async function node(schema: string, nats?: string): Promise<string> {
  const { child, port } = await concordServe([
    ...['--postgres', await requirePostgres(), '--nats', nats ?? (await requireNats())],
    ...['--schema', schema, '--compact-every', '20', '--port', '0'],
  ]);
  children.push(child);
  return `ws://127.0.0.1:${port}/sync`;
}

const subscriptions = [{ collection: 'notes' }];

async function stream(schema: string): Promise<{ first: number; last: number }> {
  const { state } = await (await jetstreamManager(nc)).streams.info(`${schema}_changes`);
  return { first: state.first_seq, last: state.last_seq };
}

async function snapshotSeqs(schema: string): Promise<number[]> {
  const { rows } = await sql.query(`SELECT seq::int AS seq FROM "${schema}".log_snapshots ORDER BY seq`);
  return rows.map((r) => r.seq as number);
}

/**
 * `n` notes written one commit each (a message of the log for each push), from `from`; synced
 * every 5 when `sync` is given, so the log grows in steps, as it does under a steady load.
 */
async function write(
  db: Database,
  from: number,
  n: number,
  sync?: { synced(): Promise<void> },
): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await db.collection('notes').upsert({ _id: `n${i}`, v: i });
    if (sync && i % 5 === 4) await sync.synced();
  }
}

describe('the change log, compacted', () => {
  it("a node's own database keeps its log for the last two spans of messages, and no more", async () => {
    const schema = `${deployment}_own`;
    const pool = new pg.Pool({ connectionString: await requirePostgres() });
    const db = await Database.open();
    const log = await ChangeLog.start({
      db,
      nc,
      deployment: schema,
      snapshots: await LogSnapshots.open(pool, schema),
      compactEvery: 10,
    });
    try {
      const versions = [db.version()];
      for (let i = 0; i < 45; i++) {
        await db.collection('notes').upsert({ _id: `n${i}`, v: i });
        await log.flush();
        versions.push(db.version());
      }
      // A message per write; spans end as the node applies them back from the stream.
      await until(async () => (await db.changesSince(versions[10]!)).kind === 'snapshot', 'compaction');
      const tail = await db.changesSince(versions[45 - 20]!);
      expect(tail.kind === 'changes' && tail.changes.length).toBe(20);
    } finally {
      await log.stop();
      await db.close();
      await pool.end();
    }
  });

  it('snapshots are dropped only once the stream is trimmed: a failed purge keeps the tail reachable', async () => {
    const schema = `${deployment}_turns`;
    const pool = new pg.Pool({ connectionString: await requirePostgres() });
    try {
      const snapshots = await LogSnapshots.open(pool, schema);
      let streamFirst = 1;
      let purgeFails = false;
      const turn = (seq: number) =>
        snapshots.takeTurn(
          () => true,
          async () => ({ seq, bytes: new Uint8Array([seq % 256]) }),
          async (to) => {
            // The stream's purge, as NATS answers it: gone (NATS restarting), or done.
            if (purgeFails) throw new Error('NATS away');
            streamFirst = Math.max(streamFirst, to + 1);
          },
        );
      expect(await turn(300)).toEqual({ kind: 'stored', seq: 300, trimTo: 0 });
      expect(await turn(600)).toEqual({ kind: 'stored', seq: 600, trimTo: 300 });
      expect(streamFirst).toBe(301);
      expect(await snapshotSeqs(schema)).toEqual([300, 600]);

      // NATS is away for two turns: each stores its snapshot, and nothing is dropped.
      purgeFails = true;
      await expect(turn(900)).rejects.toThrow('NATS away');
      await expect(turn(1200)).rejects.toThrow('NATS away');
      expect(await snapshotSeqs(schema)).toEqual([300, 600, 900, 1200]);
      // A node starting now finds the stream from 301: it loads the snapshot that continues it
      // (not 1200, first in the order of their text).
      expect((await snapshots.continuedAt(streamFirst))?.seq).toBe(300);

      // NATS back: the next turn trims the stream and drops what is before its start.
      purgeFails = false;
      expect(await turn(1500)).toEqual({ kind: 'stored', seq: 1500, trimTo: 1200 });
      expect(streamFirst).toBe(1201);
      expect(await snapshotSeqs(schema)).toEqual([1200, 1500]);
      expect((await snapshots.continuedAt(streamFirst))?.seq).toBe(1200);
    } finally {
      await pool.end();
    }
  });

  it('a node started after the stream was trimmed loads a snapshot; a cursor in the tail gets a delta', async () => {
    const a = await node(deployment);
    const writer = await Database.open();
    const sw = writer.sync(a, { subscriptions });
    const reader = await Database.open();
    const sr = reader.sync(a, { subscriptions });
    try {
      await write(writer, 0, 100, sw);
      await sw.synced();
      // Snapshots every 20 messages, two kept, the stream purged up to the older one. A node
      // stores a snapshot, then purges: read both until the purge has caught up with the rows.
      let kept: number[] = [];
      await until(async () => {
        kept = await snapshotSeqs(deployment);
        return kept.length === 2 && kept[0]! > 40 && (await stream(deployment)).first === kept[0]! + 1;
      }, 'the stream trimmed up to the older of two snapshots');
      expect(kept[1]! - kept[0]!).toBeGreaterThanOrEqual(20);
      await until(async () => (await reader.collection('notes').count()) === 100, 'the reader has all');
      await sr.synced();
      await sr.close();

      // The reader is away while 3 more notes are written; then it meets a node started now.
      await write(writer, 100, 3);
      await sw.synced();
      const { last } = await stream(deployment);
      const b = await node(deployment);
      const received: string[] = [];
      reader.onChange((e) => {
        if (e.origin === 'remote') for (const d of e.docs) received.push(d.docId);
      });
      const sr2 = reader.sync(b, { subscriptions });
      await sr2.synced();
      await until(
        async () => (await reader.collection('notes').count()) === 103,
        'the reader caught up on b',
      );
      // Its cursor is within the stream's tail: it receives the three notes, not the catalogue.
      expect(received.sort()).toEqual(['n100', 'n101', 'n102']);
      await sr2.close();

      // A fresh client of the new node gets everything, from the snapshot and the tail.
      const fresh = await Database.open();
      const sf = fresh.sync(b, { subscriptions });
      await sf.synced();
      expect(await fresh.collection('notes').count()).toBe(103);
      expect((await fresh.collection('notes').get('n0'))?.v).toBe(0);
      await sf.close();
      await fresh.close();
      // Nothing the new node loaded was published again.
      expect((await stream(deployment)).last).toBe(last);
    } finally {
      await sw.close();
      await sr.close();
      await writer.close();
      await reader.close();
    }
  });

  it('a node cut from NATS while the stream was trimmed past it catches up from a snapshot', async () => {
    const schema = `${deployment}_cut`;
    const proxy = await LinkProxy.start(await requireNats());
    const [a, b] = await Promise.all([node(schema), node(schema, proxy.url('nats'))]);
    const writer = await Database.open();
    const sw = writer.sync(a, { subscriptions });
    const reader = await Database.open();
    const sr = reader.sync(b, { subscriptions });
    try {
      await write(writer, 0, 5);
      await until(async () => (await reader.collection('notes').count()) === 5, 'the first notes on b');
      proxy.cut();
      await write(writer, 5, 95, sw);
      await sw.synced();
      await until(async () => (await stream(schema)).first > 41, 'the stream trimmed past b');
      proxy.heal();
      await until(
        async () => (await reader.collection('notes').count()) === 100,
        'b’s client has all',
        30_000,
      );
      // b joined the snapshot and published none of it: a write through b is the log's one more.
      const { last } = await stream(schema);
      await reader.collection('notes').upsert({ _id: 'from-b', v: 1 });
      await sr.synced();
      expect((await stream(schema)).last).toBe(last + 1);
      await until(async () => (await writer.collection('notes').get('from-b'))?.v === 1, 'b’s write on a');
    } finally {
      await sw.close();
      await sr.close();
      await writer.close();
      await reader.close();
      await proxy.close();
    }
  });
});
