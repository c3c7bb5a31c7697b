import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterError, ClusterNode, Replicator } from '@concord/cluster';
import { SqliteReplicatorStore } from '@concord/cluster/sqlite';
import { GCounter, LWWMap, ORSet, PNCounter } from '@concord/crdt';
import { until } from '@concord/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const running: { node: ClusterNode; dd: Replicator }[] = [];

async function start(id: string, seeds: string[] = [], store?: SqliteReplicatorStore, port?: number) {
  const node = await ClusterNode.start({
    id,
    seeds,
    secret: 'test',
    heartbeatMs: 200,
    reconnectMs: 50,
    ...(port ? { port } : {}),
  });
  const dd = new Replicator(node, { gossipIntervalMs: 50, ...(store ? { store } : {}) });
  const member = { node, dd };
  running.push(member);
  return member;
}

async function stop(m: { node: ClusterNode; dd: Replicator }) {
  m.dd.close();
  await m.node.stop();
  running.splice(running.indexOf(m), 1);
}

/** Three nodes joined through the first, every link open. */
async function cluster(n = 3) {
  const first = await start('n1');
  const rest = [];
  for (let i = 2; i <= n; i++) rest.push(await start(`n${i}`, [first.node.self.address]));
  const all = [first, ...rest];
  await until(() => all.every((m) => m.node.reachable().length === n), `${n} nodes linked`);
  return all;
}

afterEach(async () => {
  for (const m of [...running]) await stop(m);
});

describe('Replicator', () => {
  it('three nodes update one counter in parallel and converge', async () => {
    const nodes = await cluster(3);
    await Promise.all(
      nodes.flatMap((m, i) =>
        Array.from({ length: 20 }, () => m.dd.update('hits', GCounter, (c, me) => c.increment(me, i + 1))),
      ),
    );
    await until(
      async () =>
        (await Promise.all(nodes.map((m) => m.dd.get('hits', GCounter)))).every((c) => c?.value() === 120),
      'every node counts 120',
    );
  });

  it('a majority write is on a majority when it resolves, and a read from all sees it', async () => {
    const [a, b, c] = await cluster(3);
    await a!.dd.update('cart', ORSet, (s, me) => s.add(me, 'milk'), { write: 'majority', timeout: 2000 });
    const holding = [a!, b!, c!].filter((m) =>
      (m.dd as unknown as { entries: Map<string, unknown> }).entries.has('cart'),
    );
    expect(holding.length).toBeGreaterThanOrEqual(2);
    const read = await c!.dd.get('cart', ORSet, { read: 'all', timeout: 2000 });
    expect(read?.value()).toEqual(['milk']);
  });

  it('a write to all times out when a member is down, and still spreads to the others', async () => {
    const [a, b, c] = await cluster(3);
    await stop(c!);
    await until(() => a!.node.reachable().length === 2, 'n3 unreachable');
    const err = await a!.dd
      .update('k', PNCounter, (s, me) => s.increment(me, 5), { write: 'all', timeout: 300 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClusterError);
    expect((err as ClusterError).code).toBe('TIMEOUT');
    await until(async () => (await b!.dd.get('k', PNCounter))?.value() === 5, 'the write reached n2');
    // A majority of three is two: n1 and n2 suffice.
    await a!.dd.update('k', PNCounter, (s, me) => s.increment(me, 1), { write: 'majority', timeout: 2000 });
  });

  it('a deleted key is written again, and the delete wins over what it saw everywhere', async () => {
    const [a, b] = await cluster(2);
    await a!.dd.update('c', GCounter, (s, me) => s.increment(me, 10), { write: 'all' });
    await b!.dd.delete('c', { write: 'all' });
    expect(await a!.dd.get('c')).toBeUndefined();
    await a!.dd.update('c', GCounter, (s, me) => s.increment(me, 3), { write: 'all' });
    expect((await b!.dd.get('c', GCounter))?.value()).toBe(3);
    expect(a!.dd.keys()).toEqual(['c']);
  });

  it('subscribers hear every change, by key and by prefix, on every node', async () => {
    const [a, b] = await cluster(2);
    const seen: [string, unknown][] = [];
    b!.dd.subscribePrefix('container/', (v, key) => seen.push([key, v?.value()]));
    const power = await a!.dd.update('container/7', LWWMap, (m) =>
      m.set({ wall: 1, logical: 0, replica: a!.dd.node.id as never }, 'power', 'on'),
    );
    expect(power.value()).toEqual({ power: 'on' });
    await until(() => seen.length === 1, 'the change reached the subscriber');
    expect(seen[0]).toEqual(['container/7', { power: 'on' }]);
    await a!.dd.delete('container/7');
    await until(() => seen.length === 2, 'the delete reached the subscriber');
    expect(seen[1]).toEqual(['container/7', undefined]);
  });

  it('a node restarted from its SQLite file keeps its entries and catches up by anti-entropy', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ddata-'));
    const [a] = await cluster(1);
    let b = await start('n2', [a!.node.self.address], new SqliteReplicatorStore(join(dir, 'n2.db')));
    const port = Number(new URL(b.node.self.address).port);
    await b.dd.update('set', ORSet, (s, me) => s.add(me, 'kept'), { write: 'all' });
    await stop(b);
    // While n2 is down, n1 writes 200 keys: n2 gets them from digests when it is back.
    for (let i = 0; i < 200; i++) await a!.dd.update(`k${i}`, GCounter, (s, me) => s.increment(me, i));
    b = await start('n2', [a!.node.self.address], new SqliteReplicatorStore(join(dir, 'n2.db')), port);
    expect((await b.dd.get('set', ORSet))?.value()).toEqual(['kept']);
    await until(() => b.dd.keys().length === 201, 'n2 caught up');
    expect((await b.dd.get('k199', GCounter))?.value()).toBe(199);
  });

  it('refuses a type it does not hold, and links without the secret', async () => {
    const [a] = await cluster(1);
    await a!.dd.update('x', GCounter, (s, me) => s.increment(me));
    await expect(a!.dd.update('x', ORSet, (s, me) => s.add(me, 1))).rejects.toMatchObject({
      code: 'TYPE_MISMATCH',
    });
    for (const headers of [{ 'x-concord-cluster': 'wrong' }, {}]) {
      const socket = new WebSocket(a!.node.self.address, { headers });
      const status = await new Promise((r) =>
        socket.once('unexpected-response', (_req, res) => r(res.statusCode)),
      );
      expect(status).toBe(401);
    }
    expect(a!.node.members().map((m) => m.id)).toEqual(['n1']);
  });
});
