import { type Change, counter, Database, decodeChanges, encodeChanges, text } from '@concord/db';
import { SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';

const DBS = 5;
const STEPS = 60;
const IDS = ['p1', 'p2', 'p3', 'p4'];

/** One random local write; the database is driven on a seeded, injected clock. */
async function write(db: Database, rng: SeededRng): Promise<void> {
  const c = db.collection('products');
  const id = rng.pick(IDS);
  const existing = await c.get(id);
  switch (rng.int(5)) {
    case 0:
      if (existing && rng.chance(0.5)) {
        // Fields dropped, to be written again from nothing while others may still edit them.
        await c.update(id, (d) => {
          delete d[rng.pick(['label', 'stock'])];
        });
        return;
      }
      await c.remove(id);
      return;
    case 1:
      if (existing && typeof existing.stock === 'number') {
        await c.update(id, (d) => {
          d.stock = (d.stock as number) + rng.int(7) - 3;
        });
        return;
      }
      await c.upsert({ _id: id, stock: counter(rng.int(10)) });
      return;
    case 2:
      if (existing && typeof existing.label === 'string') {
        await c.update(id, (d) => {
          const s = d.label as string;
          const at = rng.int(s.length + 1);
          d.label = s.slice(0, at) + rng.pick(['x', 'yz', '']) + s.slice(at + rng.int(2));
        });
        return;
      }
      await c.upsert({ _id: id, label: text('label') });
      return;
    default:
      await c.upsert({
        _id: id,
        price: rng.int(100) / 4,
        name: rng.pick(['milk', 'bread', 'eggs']),
        ...(rng.chance(0.3) ? { dims: { w: rng.int(3), h: rng.int(3) } } : {}),
      });
  }
}

async function simulate(seed: number): Promise<void> {
  const rng = new SeededRng(seed);
  const dbs = await Promise.all(
    Array.from({ length: DBS }, (_, i) => {
      let t = 1_700_000_000_000 + i * 7;
      return Database.open({ replicaId: `db${i}`, now: () => (t += 1 + rng.int(3)) });
    }),
  );
  const inboxes: Change[][][] = dbs.map(() => []);
  for (let step = 0; step < STEPS; step++) {
    const i = rng.int(DBS);
    const before = dbs[i]!.version();
    await write(dbs[i]!, rng);
    const set = await dbs[i]!.changesSince(before);
    if (set.kind !== 'changes') throw new Error('unexpected snapshot');
    for (let j = 0; j < DBS; j++) {
      if (j === i || set.changes.length === 0 || rng.chance(0.15)) continue; // dropped
      const batch = rng.chance(0.3) ? decodeChanges(encodeChanges(set.changes)) : set.changes;
      inboxes[j]!.push(batch);
      if (rng.chance(0.1)) inboxes[j]!.push(batch); // duplicated
    }
    for (let k = rng.int(4); k > 0; k--) {
      const j = rng.int(DBS);
      const inbox = inboxes[j]!;
      if (inbox.length > 0) await dbs[j]!.applyChanges(inbox.splice(rng.int(inbox.length), 1)[0]!); // reordered
    }
  }
  // Anti-entropy: every database pulls what it lacks from every other.
  for (let round = 0; round < 2; round++) {
    for (const a of dbs) {
      for (const b of dbs) {
        if (a === b) continue;
        const set = await b.changesSince(a.version());
        if (set.kind === 'changes') await a.applyChanges(set.changes);
        else await a.applySnapshot(set);
      }
    }
  }
  const expected = await dbs[0]!.collection('products').find();
  for (const db of dbs.slice(1)) {
    expect(await db.collection('products').find()).toEqual(expected);
    for (const id of IDS) {
      expect(await db.collection('products').conflicts(id)).toEqual(
        await dbs[0]!.collection('products').conflicts(id),
      );
    }
    expect(db.version().equals(dbs[0]!.version())).toBe(true);
  }
}

describe('seeded convergence of five databases', () => {
  it.each(seeds(25))('seed %i converges', async (seed) => {
    try {
      await simulate(seed);
    } catch (e) {
      console.error(
        `database convergence failed — replay with: SEED=${seed} npx vitest run packages/db/test/convergence.test.ts`,
      );
      throw e;
    }
  });
});
