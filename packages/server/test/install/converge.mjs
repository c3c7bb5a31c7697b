// Runs with plain Node in a folder where the packed packages were installed (install.test.ts):
// no TypeScript, no tsx, nothing from the repository. Starts `concord serve` from the installed
// bin, syncs two SQLite clients through it, and prints what they hold once both are synced,
// with a label of each rendered by the installed @concord/labels and a count kept by two
// installed @concord/cluster nodes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { ClusterNode, Replicator } from '@concord/cluster';
import { SqliteReplicatorStore } from '@concord/cluster/sqlite';
import { GCounter } from '@concord/crdt';
import { Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { renderLabels, SHELF_STRIP } from '@concord/labels';
import { defaultFonts } from '@concord/labels/node';

const server = spawn('node_modules/.bin/concord', ['serve', '--port', '0', '--data', 'server.db'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let url;
for await (const line of createInterface({ input: server.stdout })) {
  url = JSON.parse(line).url;
  if (url) break;
}
const sync = `${url.replace('http', 'ws')}/sync`;
const clients = [];
for (const name of ['a', 'b']) {
  const db = await Database.open({ storage: await SqliteStorage.open(`${name}.db`) });
  clients.push({ db, sync: db.sync(sync, { subscriptions: [{ collection: 'notes' }] }) });
}
await clients[0].db.collection('notes').upsert({ _id: 'from-a', text: 'written on a' });
await clients[1].db.collection('notes').upsert({ _id: 'from-b', text: 'written on b' });
for (const c of clients) await c.sync.synced();
// Each has sent its own note; wait until each holds the other's too.
const all = async (c) => c.db.collection('notes').find({ sort: { _id: 'asc' } });
while ((await Promise.all(clients.map(all))).some((docs) => docs.length < 2))
  await new Promise((r) => setTimeout(r, 10));
const [a, b] = await Promise.all(clients.map(all));
// And a shelf label of each note, rendered by the installed @concord/labels with its own fonts.
const { pdf, labels, warnings } = await renderLabels(
  a.map((n) => ({ ...n, name: n.text, price: 1.5, barcode: '4006381333931' })),
  SHELF_STRIP,
  { fonts: defaultFonts() },
);
const label = { labels, warnings: warnings.length, pdf: new TextDecoder().decode(pdf.subarray(0, 5)) };
// And two nodes of the installed @concord/cluster counting together, one kept in SQLite.
const n1 = await ClusterNode.start({ id: 'n1' });
const n2 = await ClusterNode.start({ id: 'n2', seeds: [n1.self.address] });
const dd1 = new Replicator(n1, { store: new SqliteReplicatorStore('ddata.db') });
const dd2 = new Replicator(n2);
while (n1.reachable().length < 2 || n2.reachable().length < 2) await new Promise((r) => setTimeout(r, 10));
await dd1.update('labels', GCounter, (c, me) => c.increment(me, 2), { write: 'all' });
await dd2.update('labels', GCounter, (c, me) => c.increment(me, 3), { write: 'all' });
const counted = (await dd1.get('labels', GCounter)).value();
for (const [dd, node] of [
  [dd1, n1],
  [dd2, n2],
]) {
  dd.close();
  await node.stop();
}
console.log(JSON.stringify({ a, b, label, counted }));
for (const c of clients) {
  await c.sync.close();
  await c.db.close();
}
server.kill('SIGTERM');
await once(server, 'exit');
