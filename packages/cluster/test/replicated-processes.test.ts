// Replicated event sourcing across node processes: one persistence id written on three
// replicas at once, and a replica SIGKILLed mid-write recovering from its SQLite journal.
import { until } from '@concord/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster } from './support/cluster.js';

let cluster: TestCluster | undefined;

afterEach(async () => {
  await cluster?.stop();
  cluster = undefined;
});

async function converged(c: TestCluster, count: number): Promise<string[]> {
  let logs: string[][] = [];
  await until(
    async () => {
      logs = await Promise.all(c.nodes.map((n) => n.call<string[]>({ op: 'orders' })));
      return logs.every((l) => l.length >= count && JSON.stringify(l) === JSON.stringify(logs[0]));
    },
    'every replica holds the same log',
    20_000,
  );
  return logs[0]!;
}

describe('replicated event sourcing, in processes', () => {
  it('seed 004: three replicas write one persistence id in parallel and end equal', async () => {
    cluster = await TestCluster.start(3);
    const c = cluster;
    await Promise.all(
      c.nodes.map((n) =>
        Promise.all(Array.from({ length: 40 }, (_, k) => n.call({ op: 'record', order: `${n.id}-${k}` }))),
      ),
    );
    const log = await converged(c, 120);
    expect(log).toHaveLength(120);
    expect(new Set(log).size).toBe(120);
    // Each replica's own orders keep the order it wrote them in.
    for (const n of c.nodes) {
      const mine = log.filter((o) => o.startsWith(`${n.id}-`));
      expect(mine).toEqual(Array.from({ length: 40 }, (_, k) => `${n.id}-${k}`));
    }
  });

  it('a replica SIGKILLed mid-write recovers from its journal: nothing acknowledged is lost', async () => {
    cluster = await TestCluster.start(3);
    const c = cluster;
    const victim = c.node('n2');
    const acked: string[] = [];
    const writes = Array.from({ length: 200 }, (_, k) =>
      victim.call({ op: 'record', order: `n2-${k}` }).then(
        () => acked.push(`n2-${k}`),
        () => undefined,
      ),
    );
    const others = Array.from({ length: 30 }, (_, k) =>
      c
        .node('n1')
        .call({ op: 'record', order: `n1-${k}` })
        .then(() => acked.push(`n1-${k}`)),
    );
    await until(() => acked.filter((o) => o.startsWith('n2')).length >= 20, 'n2 acknowledged some orders');
    await victim.kill9();
    await Promise.all([...writes, ...others]);
    // While n2 is down, the others go on; then n2 restarts from its journal and catches up.
    for (let k = 0; k < 10; k++)
      acked.push(
        await c
          .node('n3')
          .call({ op: 'record', order: `n3-${k}` })
          .then(() => `n3-${k}`),
      );
    await victim.start();
    await victim.call({ op: 'record', order: 'n2-after' });
    acked.push('n2-after');
    const log = await converged(c, acked.length);
    for (const o of acked) expect(log).toContain(o);
    expect(new Set(log).size).toBe(log.length);
    expect(log.every((o) => /^n[123]-(\d+|after)$/.test(o))).toBe(true);
  });
});
