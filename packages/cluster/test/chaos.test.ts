// Multi-process clusters on loopback, links cut by proxies, nodes killed with SIGKILL: Akka's
// ReplicatorChaosSpec and a Jepsen-style set check, against real processes and sockets.
import { SeededRng, until } from '@concord/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from './support/cluster.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function allEqual(
  c: TestCluster,
  ids: readonly string[],
  key: string,
  expected: unknown,
  what: string,
) {
  const sorted = (v: unknown) => (Array.isArray(v) ? [...v].sort() : v);
  await until(
    async () => {
      const values = await Promise.all(ids.map((id) => c.node(id).call({ op: 'value', key })));
      return values.every((v) => JSON.stringify(sorted(v)) === JSON.stringify(sorted(expected)));
    },
    what,
    20_000,
  );
}

describe('cluster processes', () => {
  it('seed 004: three nodes update in parallel and converge once gossip quiesces', async () => {
    cluster = await TestCluster.start(3);
    const c = cluster;
    await until(
      async () => (await c.node('n3').call<string[]>({ op: 'reachable' })).length === 3,
      'all linked',
    );
    await Promise.all(
      c.nodes.flatMap((n, i) => [
        ...Array.from({ length: 30 }, () => n.call({ op: 'inc', key: 'counter', amount: i + 1 })),
        ...Array.from({ length: 10 }, (_, k) => n.call({ op: 'add', key: 'set', element: `${n.id}-${k}` })),
      ]),
    );
    const ids = c.nodes.map((n) => n.id);
    await allEqual(c, ids, 'counter', 30 * (1 + 2 + 3), 'the counter converged');
    await allEqual(
      c,
      ids,
      'set',
      ids.flatMap((id) => Array.from({ length: 10 }, (_, k) => `${id}-${k}`)),
      'the set converged',
    );
  });

  it('chaos: 5 nodes partitioned 2 | 3, updates on both sides, one killed, healed: exact values', async () => {
    cluster = await TestCluster.start(5);
    const c = cluster;
    const all = ['n1', 'n2', 'n3', 'n4', 'n5'];
    await until(
      async () => (await c.node('n5').call<string[]>({ op: 'members' })).length === 5,
      'five members',
    );
    await until(
      async () => (await c.node('n5').call<string[]>({ op: 'reachable' })).length === 5,
      'all linked',
    );

    // Connected: every node counts its number and adds itself.
    for (const [i, id] of all.entries()) {
      await c.node(id).call({ op: 'inc', key: 'A', amount: i + 1 });
      await c.node(id).call({ op: 'add', key: 'B', element: id });
    }
    await c.node('n1').call({ op: 'add', key: 'D', element: 'gone' });
    await allEqual(c, all, 'A', 15, 'A converged before the partition');

    c.partition([
      ['n1', 'n2'],
      ['n3', 'n4', 'n5'],
    ]);
    await until(
      async () => (await c.node('n1').call<string[]>({ op: 'reachable' })).length === 2,
      'n1 sees its side only',
    );
    await until(
      async () => (await c.node('n3').call<string[]>({ op: 'reachable' })).length === 3,
      'n3 sees its side only',
    );
    // The minority cannot write to a majority; the write is kept locally all the same.
    expect(
      await c.node('n1').attempt({ op: 'inc', key: 'A', amount: 10, write: 'majority', timeout: 300 }),
    ).toBe('TIMEOUT');
    await c.node('n2').call({ op: 'inc', key: 'A', amount: 10 });
    await c.node('n1').call({ op: 'add', key: 'B', element: 'left' });
    await c.node('n2').call({ op: 'delete', key: 'D' });
    // The majority writes to a majority, n5 included, and n5 dies at once.
    expect(
      await c.node('n3').attempt({ op: 'inc', key: 'A', amount: 100, write: 'majority', timeout: 2000 }),
    ).toBe('ok');
    expect(
      await c.node('n5').attempt({ op: 'inc', key: 'A', amount: 1000, write: 'majority', timeout: 2000 }),
    ).toBe('ok');
    expect(
      await c.node('n5').attempt({ op: 'add', key: 'B', element: 'right', write: 'all', timeout: 300 }),
    ).toBe('TIMEOUT');
    await c.node('n5').kill9();

    c.heal();
    const survivors = ['n1', 'n2', 'n3', 'n4'];
    await allEqual(c, survivors, 'A', 15 + 20 + 100 + 1000, 'A holds every increment');
    await allEqual(c, survivors, 'B', [...all, 'left', 'right'], 'B holds every element');
    await allEqual(c, survivors, 'D', null, 'D deleted everywhere');

    // n5 restarts from its SQLite file and converges too, and D can be written again.
    await c.node('n5').start();
    await c.node('n4').call({ op: 'add', key: 'D', element: 'back' });
    await allEqual(c, all, 'A', 1135, 'n5 caught up');
    await allEqual(c, all, 'D', ['back'], 'D written again everywhere');
  });

  it('Jepsen-style: 200 adds through partitions; majority-acknowledged adds survive a minority crash', async () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    const rng = new SeededRng(seed);
    cluster = await TestCluster.start(5);
    const c = cluster;
    const all = c.nodes.map((n) => n.id);
    try {
      await until(
        async () => (await c.node('n5').call<string[]>({ op: 'reachable' })).length === 5,
        'all linked',
      );
      const acked: string[] = [];
      const local: string[] = [];
      for (let round = 0; round < 10; round++) {
        // A random split: some rounds whole, others 3 | 2 or 4 | 1.
        const shuffled = [...all].sort(() => rng.int(3) - 1);
        const cutAt = [0, 3, 4][rng.int(3)]!;
        c.partition(cutAt === 0 ? [all] : [shuffled.slice(0, cutAt), shuffled.slice(cutAt)]);
        await Promise.all(
          Array.from({ length: 20 }, async (_, k) => {
            const element = `e${round * 20 + k}`;
            const node = c.nodes[rng.int(5)]!;
            const majority = k % 2 === 0;
            const outcome = await node.attempt({
              op: 'add',
              key: 'jepsen',
              element,
              write: majority ? 'majority' : 'local',
              timeout: 400,
            });
            if (outcome === 'ok') (majority ? acked : local).push(element);
          }),
        );
      }
      // A minority crashes while the last partition still stands: every majority-acknowledged
      // add is on at least one of the three left, and reaches all three once they are healed.
      const crashed = [...all].sort(() => rng.int(3) - 1).slice(0, 2);
      for (const id of crashed) await c.node(id).kill9();
      c.heal();
      const left = all.filter((id) => !crashed.includes(id));
      await until(
        async () => {
          const sets = await Promise.all(
            left.map((id) => c.node(id).call<string[] | null>({ op: 'value', key: 'jepsen' })),
          );
          return sets.every((s) => acked.every((e) => s?.includes(e)));
        },
        'every acknowledged add on every survivor',
        20_000,
      );
      // The crashed restart from their files: every add acknowledged at all, locally
      // included, ends on every node, none doubled, none invented.
      for (const id of crashed) await c.node(id).start();
      const expected = [...acked, ...local].sort();
      await until(
        async () => {
          const sets = await Promise.all(
            all.map((id) => c.node(id).call<string[] | null>({ op: 'value', key: 'jepsen' })),
          );
          return sets.every((s) => {
            const got = [...(s ?? [])].sort();
            return (
              expected.every((e) => got.includes(e)) &&
              got.every((e) => /^e\d+$/.test(e)) &&
              new Set(got).size === got.length
            );
          });
        },
        'every node holds every acknowledged add',
        20_000,
      );
      expect(acked.length).toBeGreaterThan(0);
    } catch (e) {
      console.error(
        `Jepsen-style cluster test failed — replay with: SEED=${seed} npx vitest run packages/cluster/test/chaos.test.ts`,
      );
      throw e;
    }
  });
});
