// Seed 002's flow over Concord: a web server, a logic core and a worker share containers'
// state in the cluster's replicated key-value store. The web server sets a container's power
// switch; the logic core sees it, validates it and assigns a worker; the worker sees that,
// starts the (simulated) container and records it running; the web server sees it running and
// tells its client. Nobody sends anybody a message: each reacts to the state it subscribes to.
// Run: npx tsx examples/cluster/container-power.ts
import { ClusterNode, Replicator } from '@concord/cluster';
import { HybridLogicalClock, type Json, LWWMap, replicaId } from '@concord/crdt';

async function member(id: string, seeds: string[] = []) {
  const node = await ClusterNode.start({ id, seeds });
  const dd = new Replicator(node, { gossipIntervalMs: 50 });
  const clock = new HybridLogicalClock(replicaId(id));
  // Writes some fields of a container's record, each a last-writer-wins register.
  const set = (key: string, fields: Record<string, Json>) =>
    dd.update(key, LWWMap, (record) => {
      const delta = LWWMap.empty();
      for (const [f, v] of Object.entries(fields)) delta.join(record.set(clock.now(), f, v));
      return delta;
    });
  return { node, dd, set };
}

const web = await member('web');
const core = await member('logic-core', [web.node.self.address]);
const worker = await member('worker-1', [web.node.self.address]);
const all = [web, core, worker];
while (all.some((m) => m.node.reachable().length < 3)) await new Promise((r) => setTimeout(r, 10));

// The logic core validates every request to power a container on.
const CAPACITY_CPUS = 8;
core.dd.subscribePrefix<LWWMap>('container/', (record, key) => {
  const c = record?.value() ?? {};
  if (c.power !== 'on' || c.host !== undefined || c.rejected !== undefined) return;
  if (Number(c.cpus) > CAPACITY_CPUS)
    void core.set(key, { power: 'off', rejected: `needs ${c.cpus} CPUs, has ${CAPACITY_CPUS}` });
  else void core.set(key, { host: 'worker-1' });
});

// The worker starts what is assigned to it and records that it runs.
worker.dd.subscribePrefix<LWWMap>('container/', (record, key) => {
  const c = record?.value() ?? {};
  if (c.host !== 'worker-1' || c.power !== 'on' || c.status === 'running') return;
  const pid = 4000 + Number(key.split('/')[1]); // the simulated container's process
  void worker.set(key, { status: 'running', pid });
});

// The web server tells its client what happens to the containers it asked for.
const settled = new Map<string, string>();
web.dd.subscribePrefix<LWWMap>('container/', (record, key) => {
  const c = record?.value();
  // The core's write (the host) and the worker's (status, pid) come from two nodes, in either
  // order — as with Akka's Distributed Data, there is no causal order across nodes' deltas: the
  // record tells where it runs once both are in.
  if (c?.status === 'running' && c.host !== undefined && !settled.has(key))
    settled.set(key, `${key} running on ${c.host} (pid ${c.pid})`);
  if (c?.rejected && !settled.has(key)) settled.set(key, `${key} refused: ${c.rejected}`);
});

// The client presses "power on" for two containers.
await web.set('container/42', { power: 'on', cpus: 2 });
await web.set('container/7', { power: 'on', cpus: 64 });
while (settled.size < 2) await new Promise((r) => setTimeout(r, 10));
for (const key of ['container/42', 'container/7']) console.log(`client sees: ${settled.get(key)}`);
// Every member ends with the same record, once gossip has carried the last write.
const record = async (m: (typeof all)[0]) =>
  JSON.stringify((await m.dd.get('container/42', LWWMap))?.value());
while (new Set(await Promise.all(all.map(record))).size > 1) await new Promise((r) => setTimeout(r, 10));
for (const m of all) {
  const c42 = (await m.dd.get('container/42', LWWMap))?.value();
  console.log(`${m.node.id.padEnd(10)} container/42: ${JSON.stringify(c42)}`);
}

for (const m of all) {
  m.dd.close();
  await m.node.stop();
}
