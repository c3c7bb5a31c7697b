// Two devices share a shopping cart, an add-wins observed-remove set (ORSet), in the cluster's
// replicated key-value store (@concord/cluster's Replicator). They edit the cart apart, then
// join one cluster: gossip merges the carts with no code of ours resolving anything.
// Run: npx tsx examples/crdt/shopping-cart-orset.ts
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterNode, Replicator } from '@concord/cluster';
import { SqliteReplicatorStore } from '@concord/cluster/sqlite';
import { ORSet } from '@concord/crdt';

// The laptop keeps its entries in a SQLite file, so it works on its cart while off the network.
const laptopFile = join(mkdtempSync(join(tmpdir(), 'cart-')), 'laptop.db');
const phoneNode = await ClusterNode.start({ id: 'phone' });
const laptopNode = await ClusterNode.start({ id: 'laptop', seeds: [phoneNode.self.address] });
const phone = new Replicator(phoneNode, { gossipIntervalMs: 50 });
const laptop = new Replicator(laptopNode, {
  gossipIntervalMs: 50,
  store: new SqliteReplicatorStore(laptopFile),
});
while (laptopNode.reachable().length < 2) await new Promise((r) => setTimeout(r, 10));

// Both start from the same cart: written on the phone, acknowledged by both nodes.
const write = { write: 'all', timeout: 2000 } as const;
await phone.update('cart', ORSet, (cart, me) => cart.add(me, 'milk'), write);
await phone.update('cart', ORSet, (cart, me) => cart.add(me, 'bread'), write);
await phone.update('cart', ORSet, (cart, me) => cart.add(me, 'eggs'), write);
const show = async (r: Replicator) => ((await r.get('cart', ORSet))?.value() ?? []).sort().join(', ');
console.log('shared cart:        ', await show(laptop));

// Apart (the laptop restarts off the network, from its file): the phone removes eggs and
// bread; the laptop adds coffee and, concurrently, re-adds bread (it did not see the removal).
laptop.close();
await laptopNode.stop();
await phone.update('cart', ORSet, (cart) => cart.remove('eggs'));
await phone.update('cart', ORSet, (cart) => cart.remove('bread'));
const laptopAgain = await ClusterNode.start({ id: 'laptop' });
const offline = new Replicator(laptopAgain, {
  gossipIntervalMs: 50,
  store: new SqliteReplicatorStore(laptopFile),
});
await offline.update('cart', ORSet, (cart, me) => cart.add(me, 'coffee'));
await offline.update('cart', ORSet, (cart, me) => cart.add(me, 'bread'));
console.log('phone while apart:  ', await show(phone));
console.log('laptop while apart: ', await show(offline));

// They meet: the laptop joins the phone's cluster, and anti-entropy merges the carts.
laptopAgain.join(phoneNode.self.address);
const same = async () => (await show(phone)) === (await show(offline));
while (!(await same()) || laptopAgain.reachable().length < 2) await new Promise((r) => setTimeout(r, 10));
console.log('phone after merge:  ', await show(phone));
console.log('laptop after merge: ', await show(offline));
console.log(`converged: ${await same()}`);

phone.close();
offline.close();
await phoneNode.stop();
await laptopAgain.stop();
