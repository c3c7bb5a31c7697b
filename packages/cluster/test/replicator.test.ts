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

describe('ClusterNode', () => {
  it('members join through any seed, leave for all, and a downed member is removed everywhere', async () => {
    const [a, b, c] = await cluster(3);
    const d = await start('n4', [c!.node.self.address]); // joins through the newest member
    await until(() => [a, b, c, d].every((m) => m!.node.members().length === 4), 'n4 known to all');
    await stop(d);
    // Unreachable is not gone: n4 stays a member (a majority counts it) until downed.
    await until(() => !a!.node.reachable().includes('n4'), 'n4 unreachable');
    expect(a!.node.members().map((m) => m.id)).toContain('n4');
    b!.node.down('n4');
    await until(() => [a, b, c].every((m) => m!.node.members().length === 3), 'n4 downed everywhere');
    await c!.node.leave();
    running.splice(running.indexOf(c!), 1);
    c!.dd.close();
    await until(() => [a, b].every((m) => m!.node.members().length === 2), 'n3 left');
    // A majority of the two left is two.
    await a!.dd.update('k', GCounter, (s, me) => s.increment(me), { write: 'majority', timeout: 2000 });
  });

  it('a hostile or broken peer is refused or ignored; the node keeps serving', async () => {
    const [a, b] = await cluster(2);
    const socket = new WebSocket(a!.node.self.address, { headers: { 'x-concord-cluster': 'test' } });
    await new Promise((r) => socket.once('open', r));
    const closed = new Promise((r) => socket.once('close', (code) => r(code)));
    socket.send('not json');
    socket.send(Buffer.from([1, 2, 3]));
    socket.send(JSON.stringify({ c: 'ddata', b: { op: 'delta' } })); // before any hello
    expect(await closed).toBe(1008);
    // A member sending nonsense on every channel: each is counted and dropped.
    const liar = new WebSocket(a!.node.self.address, { headers: { 'x-concord-cluster': 'test' } });
    await new Promise((r) => liar.once('open', r));
    const hello = {
      c: 'm',
      t: 'hello',
      from: { id: 'liar', address: 'ws://127.0.0.1:1', uid: 'x' },
      members: [],
      removed: [],
    };
    liar.send(JSON.stringify(hello));
    for (const b of [
      { op: 'delta', delta: { k: 'x', t: 99, d: ['liar', 1], tomb: {} } },
      { op: 'delta', delta: { k: 'x', t: 1, d: 'nope', tomb: {} } },
      { op: 'entries', entries: [['x', { t: 1, vv: { liar: -1 }, tomb: {}, inc: [] }]] },
      { op: 'entries', entries: [['x', { t: 1, vv: {}, tomb: {}, inc: [['liar', 1, 'not a crdt']] }]] },
      { op: 'digest', buckets: 'many' },
      { op: 'pull', keys: [{}] },
      null,
    ])
      liar.send(JSON.stringify({ c: 'ddata', rq: 1, b }));
    liar.send(JSON.stringify({ c: 'r', rs: 12345, b: 'a reply to nothing' }));
    liar.send(JSON.stringify({ c: 'm', t: 'members', members: [{ id: 7 }], removed: [42] }));
    liar.close();
    await a!.dd.update('still', GCounter, (s, me) => s.increment(me, 2), { write: 'all', timeout: 2000 });
    expect((await b!.dd.get('still', GCounter))?.value()).toBe(2);
    expect(a!.dd.keys()).toEqual(['still']);
    expect(a!.node.badMessages).toBeGreaterThanOrEqual(3);
  });
});
