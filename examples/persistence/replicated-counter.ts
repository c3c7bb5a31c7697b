// A replicated event-sourced counter (seed 004's Replicated Event Sourcing): three replicas of
// one persistence id, each journaling its events in SQLite, accept increments while
// partitioned, then meet and replicate their events over the cluster's links until all three
// hold every event and the same value. Run: npx tsx examples/persistence/replicated-counter.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterNode, ClusterReplication, ReplicatedEntity } from '@concord/cluster';
import { SqliteJournal } from '@concord/cluster/sqlite';

type Command = { add: number };
type Event = { delta: number };
const dir = mkdtempSync(join(tmpdir(), 'counter-'));
const replicas = ['hq', 'store-1', 'store-2'];

const open = async (id: string) => {
  // Partitioned: each replica starts a cluster of its own.
  const node = await ClusterNode.start({ id });
  const replication = new ClusterReplication(node, { pullIntervalMs: 50 });
  let concurrent = 0;
  const counter = await ReplicatedEntity.open<number, Command, Event>({
    persistenceId: 'labels-printed',
    replica: id,
    replicas,
    emptyState: 0,
    commandHandler: (_total, cmd) => ({ delta: cmd.add }),
    // Additions commute, so applying events in whatever order they arrive converges.
    eventHandler: (total, e, meta) => {
      if (meta.concurrent) concurrent++;
      return total + e.delta;
    },
    journal: new SqliteJournal(join(dir, `${id}.db`)),
    replication,
  });
  return { id, node, replication, counter, concurrent: () => concurrent };
};
const [hq, s1, s2] = await Promise.all(replicas.map(open));
const all = [hq!, s1!, s2!];

await hq!.counter.command({ add: 100 });
await s1!.counter.command({ add: 20 });
await s1!.counter.command({ add: 5 });
await s2!.counter.command({ add: 7 });
await s2!.counter.command({ add: -2 }); // two labels voided
for (const r of all) console.log(`${r.id.padEnd(8)} partitioned: ${r.counter.state}`);

// The partition heals: the stores join the head office's cluster and pull what they lack.
s1!.node.join(hq!.node.self.address);
s2!.node.join(hq!.node.self.address);
const equal = () => all.every((r) => r.counter.state === hq!.counter.state && r.counter.version().size === 3);
while (!equal()) await new Promise((r) => setTimeout(r, 10));
for (const r of all) {
  console.log(
    `${r.id.padEnd(8)} healed: ${r.counter.state} (${r.concurrent()} events concurrent with its own)`,
  );
}
console.log(`converged: ${equal()}`);

for (const r of all) {
  await r.counter.close();
  r.replication.close();
  await r.node.stop();
}
