import { replicaId } from '@concord/crdt';
import { type Change, Database, type Doc } from '@concord/db';
import { SubscriptionFilter } from '@concord/server/internal';
import { describe, expect, it } from 'vitest';

const store1 = new SubscriptionFilter('products', { storeId: 1 });
const all = new SubscriptionFilter('products', undefined);
const doc = (storeId: number | undefined): Doc => ({ _id: 'p', storeId, price: 1 }) as Doc;

/** Real changes, as a database makes them: an upsert that sets `fields`, or a removal. */
async function changeSetting(fields: Record<string, unknown> | 'remove'): Promise<Change> {
  const db = await Database.open({ replicaId: replicaId('filter-test') });
  await db.collection('products').upsert({ _id: 'p', storeId: 1, price: 1, name: 'x' });
  const before = db.version();
  if (fields === 'remove') await db.collection('products').remove('p');
  else await db.collection('products').upsert({ _id: 'p', ...fields });
  const set = await db.changesSince(before);
  if (set.kind !== 'changes') throw new Error('expected changes');
  return set.changes[0]!;
}

describe('SubscriptionFilter: what a subscription gets for a changed document', () => {
  it('a whole-collection subscription gets every change, never its own back', async () => {
    const price = await changeSetting({ price: 2 });
    expect(all.decide([price], doc(1), false)).toBe('changes');
    expect(all.decide([], doc(1), true)).toBe('skip');
    expect(all.decide([], doc(1), false)).toBe('state'); // a whole state changed (a snapshot applied)
  });

  it('live: the commit’s before and after decide exactly', async () => {
    const price = await changeSetting({ price: 2 });
    const t = (b: number | undefined, a: number | undefined) => ({
      before: b === undefined ? undefined : doc(b),
      after: a === undefined ? undefined : doc(a),
    });
    expect(store1.decide([price], doc(1), false, t(1, 1))).toBe('changes'); // stayed
    expect(store1.decide([price], doc(1), false, t(2, 1))).toBe('state'); // entered: the client lacks its history
    expect(store1.decide([price], doc(2), false, t(1, 2))).toBe('evict'); // left
    expect(store1.decide([price], doc(2), false, t(2, 2))).toBe('skip'); // never the client's
    expect(store1.decide([price], undefined, false, t(1, undefined))).toBe('evict'); // removed
    // The client's own writes: not echoed, but a move out evicts, a write to a doc it lacks brings it whole.
    expect(store1.decide([], doc(1), true, t(1, 1))).toBe('skip');
    expect(store1.decide([], doc(2), true, t(1, 2))).toBe('evict');
    expect(store1.decide([], doc(2), true, t(2, 2))).toBe('evict');
    expect(store1.decide([], doc(1), true, t(2, 1))).toBe('state');
  });

  it('catching up: a filtered field set (or a removal) may mean the document entered; not matching means evict', async () => {
    const price = await changeSetting({ price: 2 });
    const move = await changeSetting({ storeId: 2 });
    const removal = await changeSetting('remove');
    expect(store1.decide([price], doc(1), false)).toBe('changes'); // matched before too: it has it
    expect(store1.decide([move, price], doc(1), false)).toBe('state'); // may have entered
    expect(store1.decide([removal], doc(1), false)).toBe('state'); // a removal names no field
    expect(store1.decide([price], doc(2), false)).toBe('evict'); // may have left: evicting what it lacks is harmless
    expect(store1.decide([], doc(1), true)).toBe('state');
  });

  it('nested paths and $or read the top-level fields they name', async () => {
    const f = new SubscriptionFilter('products', { $or: [{ 'shelf.aisle': 3 }, { storeId: 1 }] });
    const shelf = await changeSetting({ shelf: { aisle: 3 } });
    const price = await changeSetting({ price: 2 });
    const onShelf = { _id: 'p', shelf: { aisle: 3 } } as unknown as Doc;
    expect(f.decide([shelf], onShelf, false)).toBe('state');
    expect(f.decide([price], onShelf, false)).toBe('changes');
  });
});
