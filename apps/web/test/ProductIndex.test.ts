// The retail views' index over a real database (memory storage): search, each store's print
// queue and the head office's label compliance, as changes and print records arrive.
import { Database, type Doc } from '@concord/db';
import { PRINTED, printedLabels } from '@concord/labels';
import { afterEach, describe, expect, it } from 'vitest';
import { type IndexTimers, ProductIndex } from '../src/ProductIndex.js';

/** Timers that run only when the test moves the clock on. */
class ManualTimers implements IndexTimers {
  private at = 0;
  private next = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  now = () => this.at;
  setTimeout = (fn: () => void, ms: number) => {
    const id = ++this.next;
    this.due.set(id, { at: this.at + ms, fn });
    return id;
  };
  clearTimeout = (id: unknown) => void this.due.delete(id as number);
  /** How many timers are set and not yet run. */
  get pending(): number {
    return this.due.size;
  }
  /** Moves the clock on by `ms`, running what falls due, in order. */
  advance(ms: number): void {
    const end = this.at + ms;
    for (;;) {
      const [id, t] = [...this.due].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0] ?? [];
      if (id === undefined || t!.at > end) break;
      this.due.delete(id);
      this.at = t!.at;
      t!.fn();
    }
    this.at = end;
  }
}

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

async function indexed(store?: string, timers?: IndexTimers): Promise<{ db: Database; index: ProductIndex }> {
  const db = await Database.open({});
  await db
    .collection('products')
    .upsertMany([
      product('p3', 'Crème fraîche', 1.99, ['s1']),
      product('p1', 'Bread 500g', 2.49, ['s1', 's2']),
      product('p2', 'Oat milk', 1.29, ['s2']),
    ]);
  const index = new ProductIndex(db, store, timers);
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

  it('while a first sync streams, tells views every 500 ms, and at once when it ends', async () => {
    const timers = new ManualTimers();
    const { db, index } = await indexed(undefined, timers);
    let told = 0;
    index.subscribe(() => told++);
    const add = (i: number) => db.collection('products').upsert(product(`n${i}`, `New ${i}`, 1, ['s1']));
    // Not streaming: a change is told 50 ms on.
    await add(0);
    timers.advance(49);
    expect(told).toBe(0);
    timers.advance(1);
    expect(told).toBe(1);
    index.streaming(true);
    for (let i = 1; i <= 12; i++) {
      await add(i);
      timers.advance(100);
    }
    // 1.2 s of changes, told at 500 ms from the last telling: twice.
    expect(told).toBe(3);
    await add(13);
    index.streaming(false);
    expect(told).toBe(4);
    expect(index.state().products).toBe(17);
    timers.advance(1000);
    expect(told).toBe(4);
  });

  it('finds products before their search texts are made, and makes them only once no sync streams', async () => {
    const timers = new ManualTimers();
    const { db, index } = await indexed(undefined, timers);
    // The first read (a reload's) made its products' texts: no slice is due.
    expect(timers.pending).toBe(0);
    expect(ids(index.search('oat', 10).products)).toEqual(['p2']);
    index.streaming(true);
    await db.collection('products').upsertMany([product('p5', 'Spelt bread', 3, ['s1'])]);
    // Searched while streaming, before its text is made.
    expect(ids(index.search('spelt', 10).products)).toEqual(['p5']);
    await db.collection('products').upsertMany([product('p6', 'Rye bread', 3, ['s1'])]);
    // Told 500 ms on; no text slice runs while the sync streams.
    timers.advance(10_000);
    expect(timers.pending).toBe(0);
    index.streaming(false);
    expect(timers.pending).toBe(1);
    timers.advance(0);
    expect(timers.pending).toBe(0);
    expect(index.search('bread', 10).total).toBe(3);
  });
});
