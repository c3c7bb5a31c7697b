import type { ChildProcess } from 'node:child_process';
import { Database } from '@concord/db';
import { concordServe, kill9, requireNats, requirePostgres } from '@concord/testkit';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from './support.js';

/**
 * Several sync nodes of one deployment (`concord serve --postgres … --nats … --schema d`), as
 * processes, on the machine's NATS JetStream: a write on any node reaches clients on every
 * node, and a client whose node is SIGKILLed moves to another with its cursors and receives only
 * what it lacks.
 */
const deployment = `scaleout_${process.pid}`;
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) await kill9(c);
  const nc = await connect({ servers: await requireNats() });
  await (await jetstreamManager(nc)).streams.delete(`${deployment}_changes`).catch(() => undefined);
  await nc.close();
});

async function node(): Promise<{ child: ChildProcess; url: string }> {
  const args = ['--postgres', await requirePostgres(), '--nats', await requireNats(), '--schema', deployment];
  const { child, port } = await concordServe([...args, '--port', '0']);
  children.push(child);
  return { child, url: `ws://127.0.0.1:${port}/sync` };
}

const subscriptions = [{ collection: 'notes' }];
const note = async (db: Database, id: string) => (await db.collection('notes').get(id))?.v;

describe('scale-out: nodes of one deployment share a change log', () => {
  it('a write on any node reaches every node’s clients; a client whose node dies moves on, by delta', async () => {
    const [n0, n1] = [await node(), await node()];
    const a = await Database.open();
    const b = await Database.open();
    const sa = a.sync([n0.url, n1.url], { subscriptions, backoff: { minMs: 10, maxMs: 50 } });
    const sb = b.sync(n1.url, { subscriptions });
    try {
      await Promise.all([sa.synced(), sb.synced()]);
      expect(sa.url).toBe(n0.url);
      await a.collection('notes').upsert({ _id: 'a1', v: 1 });
      await until(async () => (await note(b, 'a1')) === 1, 'a’s write on node 1’s client');
      for (let i = 0; i < 100; i++) await b.collection('notes').upsert({ _id: `b${i}`, v: i });
      await until(async () => (await note(a, 'b99')) === 99, 'b’s writes on node 0’s client');
      await sa.synced();

      // Node 0 dies. a writes on, offline; b writes; a moves to node 1 and gets only b's new write.
      const received: string[] = [];
      a.onChange((e) => {
        if (e.origin === 'remote') for (const d of e.docs) received.push(d.docId);
      });
      await kill9(n0.child);
      await a.collection('notes').upsert({ _id: 'a2', v: 2 });
      await b.collection('notes').upsert({ _id: 'b-after', v: 1 });
      await until(() => sa.url === n1.url && sa.status === 'live', 'a on node 1', 20_000);
      await sa.synced();
      await until(async () => (await note(a, 'b-after')) === 1, 'b’s new write on a');
      await until(async () => (await note(b, 'a2')) === 2, 'a’s offline write on b');
      expect(received).toEqual(['b-after']);

      // A node started now replays the log: a new client there holds everything.
      const n2 = await node();
      const c = await Database.open();
      const sc = c.sync(n2.url, { subscriptions });
      await sc.synced();
      expect(await c.collection('notes').count()).toBe(103);
      expect(await note(c, 'a2')).toBe(2);
      await sc.close();
      await c.close();
    } finally {
      await sa.close();
      await sb.close();
      await a.close();
      await b.close();
    }
  });
});
