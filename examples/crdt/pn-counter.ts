// Three store devices count printed shelf labels in a replicated PN-counter. They keep counting
// while partitioned, ship only deltas when they can, and converge whatever the order or
// duplication of delivery. Run: npx tsx examples/crdt/pn-counter.ts
import { encodeCrdt, PNCounter, replicaId } from '@concord/crdt';

const devices = ['printer-1', 'printer-2', 'tablet'].map((name) => ({
  id: replicaId(name),
  state: PNCounter.empty(),
}));
const [p1, p2, tablet] = devices as [(typeof devices)[0], (typeof devices)[0], (typeof devices)[0]];

// Partitioned: each device counts on its own, keeping the deltas it could not send yet.
const outbox: PNCounter[] = [];
outbox.push(p1.state.increment(p1.id, 120));
outbox.push(p2.state.increment(p2.id, 75));
outbox.push(p1.state.increment(p1.id, 30));
outbox.push(tablet.state.decrement(tablet.id, 5)); // five labels voided
for (const d of devices) console.log(`${d.id.padEnd(9)} alone: ${d.state.value()}`);

// The network heals and delivers every delta to every device: out of order and twice over.
const deliveries = [...outbox].reverse().concat(outbox);
for (const d of devices) for (const delta of deliveries) d.state.join(delta);
for (const d of devices) console.log(`${d.id.padEnd(9)} after sync: ${d.state.value()}`);

const converged = devices.every((d) => d.state.equals(p1.state));
console.log(
  `converged: ${converged}, total labels: ${p1.state.value()}, state size: ${encodeCrdt(p1.state).length} bytes`,
);
