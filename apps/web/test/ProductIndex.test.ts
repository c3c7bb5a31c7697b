// The retail views' index over a real database (memory storage): search, each store's print
// queue and the head office's label compliance, as changes and print records arrive.
import { Database, type Doc } from '@concord/db';
import { PRINTED, printedLabels } from '@concord/labels';
import { afterEach, describe, expect, it } from 'vitest';
import { ProductIndex } from '../src/ProductIndex.js';

const product = (id: string, name: string, price: number, stores: string[]) => ({
  _id: id,
  sku: id,
  name,
  brand: 'Maison',
  price,
  barcode: '4006381333931',
  stores,
});

const open: Array<{ close(): void | Promise<void> }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function indexed(store?: string): Promise<{ db: Database; index: ProductIndex }> {
  const db = await Database.open({});
  await db
    .collection('products')
    .upsertMany([
      product('p3', 'Crème fraîche', 1.99, ['s1']),
      product('p1', 'Bread 500g', 2.49, ['s1', 's2']),
      product('p2', 'Oat milk', 1.29, ['s2']),
    ]);
  const index = new ProductIndex(db, store);
  open.push(db, index);
  await new Promise<void>((resolve) => {
    const stop = index.subscribe(() => {
      if (index.state().ready) resolve(stop() as undefined);
    });
  });
  return { db, index };
}

const ids = (docs: readonly Doc[]) => docs.map((d) => d._id);

describe('ProductIndex', () => {
  it('searches every word, without case or accents, and counts all matches', async () => {
    const { index } = await indexed();
    expect(ids(index.search('creme', 10).products)).toEqual(['p3']);
    expect(index.search('MAISON', 1)).toMatchObject({ total: 3 });
    expect(index.search('maison bread', 10).total).toBe(1);
    expect(index.search('  ', 10).total).toBe(3);
  });

  it('finds a product by what it is called now, searched before its text was made or after', async () => {
    const { db, index } = await indexed();
    // Renamed before any search: its text is made from the new name.
    await db.collection('products').update('p2', (d) => {
      d.name = 'Oat drink';
    });
    expect(ids(index.search('drink', 10).products)).toEqual(['p2']);
    expect(index.search('milk', 10).total).toBe(0);
    // Renamed after a search made every text: made again.
    await db.collection('products').update('p2', (d) => {
      d.name = 'Soy milk';
    });
    expect(index.search('drink', 10).total).toBe(0);
    expect(ids(index.search('soy', 10).products)).toEqual(['p2']);
    // Removed: found no more; added: found.
    await db.collection('products').remove('p2');
    await db.collection('products').upsert(product('p4', 'Rye bread', 3.1, ['s1']));
    expect(ids(index.search('bread', 10).products).sort()).toEqual(['p1', 'p4']);
    expect(index.search('soy', 10).total).toBe(0);
  });

  it("keeps a store's queue: all due at first, printed out of it, changed back in", async () => {
    // A store's replica holds its own products alone; here s1's view of a database holding all.
    const { db, index } = await indexed('s1');
    expect(index.queued('s1')).toMatchObject({ total: 3 });
    expect(ids(index.queued('s1', 2).products)).toEqual(['p1', 'p2']);

    const all = await db.collection('products').find();
    await db.collection(PRINTED).upsertMany(printedLabels('s1', all, '2026-12-01T08:00:00Z'));
    expect(index.queued('s1')).toEqual({ products: [], total: 0 });

    // A price change puts its label back; a field the label does not show does not.
    await db.collection('products').update('p2', (d) => {
      d.price = 1.19;
    });
    await db.collection('products').update('p3', (d) => {
      d.stores = ['s1', 's3'];
    });
    expect(ids(index.queued('s1').products)).toEqual(['p2']);
    // The first of a longer queue passes over p1, printed as it is.
    await db.collection('products').update('p3', (d) => {
      d.price = 2.09;
    });
    expect(index.queued('s1', 1)).toMatchObject({ total: 2, products: [{ _id: 'p2' }] });
    await db.collection('products').update('p3', (d) => {
      d.price = 1.99;
    });

    // A removed product leaves the queue and the count.
    await db.collection('products').remove('p2');
    expect(index.queued('s1').total).toBe(0);
    expect(index.compliance()).toEqual([
      { store: 's1', carried: 2, queued: 0, lastPrinted: '2026-12-01T08:00:00Z' },
    ]);
  });

  it('shows the head office every store: what it carries and has still to print', async () => {
    const { db, index } = await indexed();
    expect(index.compliance()).toEqual([
      { store: 's1', carried: 2, queued: 2, lastPrinted: undefined },
      { store: 's2', carried: 2, queued: 2, lastPrinted: undefined },
    ]);
    const p1 = (await db.collection('products').get('p1'))!;
    await db.collection(PRINTED).upsertMany(printedLabels('s2', [p1], '2026-12-01T09:00:00Z'));
    expect(ids(index.queued('s2').products)).toEqual(['p2']);

    // p1 leaves s2's assortment: neither carried nor queued there; s1 still has it to print.
    await db.collection('products').update('p1', (d) => {
      d.stores = ['s1'];
    });
    expect(index.compliance()).toEqual([
      { store: 's1', carried: 2, queued: 2, lastPrinted: undefined },
      { store: 's2', carried: 1, queued: 1, lastPrinted: '2026-12-01T09:00:00Z' },
    ]);
    // Back in s2's assortment unchanged: its printed label is current again.
    await db.collection('products').update('p1', (d) => {
      d.stores = ['s1', 's2'];
    });
    expect(index.queued('s2').total).toBe(1);
  });
});
