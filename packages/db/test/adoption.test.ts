import { type ChangeEvent, Database, MemoryStorage } from '@concord/db';
import { core } from '@concord/db/internal';
import { SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';

/** A server's database holding `n` products, and the whole states it would send of them, in id order. */
async function source(n: number) {
  const src = await Database.open();
  const ids = Array.from({ length: n }, (_, i) => `p${String(i).padStart(3, '0')}`);
  await src.collection('products').upsertMany(ids.map((_id, i) => ({ _id, price: i, tags: ['a'] })));
  const state = (id: string) => {
    const stored = core(src).storedDocument('products', id)!;
    return { collection: 'products', id, stored, value: core(src).documentValue('products', id)! };
  };
  return { src, ids, state };
}

// A snapshot's chunk names each document once, in ascending ids: its documents are adopted
// without work entries, their JSON kept out of the id map until something asks by id
// (`CollectionState.adopt`). Everything else must see them as any other document.
describe('whole states adopted from a snapshot chunk', () => {
  it('are read by id, by scan and by index, written to, removed, and kept by storage', async () => {
    const { src, ids, state } = await source(50);
    const storage = new MemoryStorage();
    const db = await Database.open({ storage });
    const products = db.collection('products', { indexes: ['price'] });
    const seen: Array<[string, number]> = [];
    products.observe({ where: { price: { $gte: 45 } } }, (docs) => seen.push(['live', docs.length]));
    const events: ChangeEvent[] = [];
    db.onChange((e) => events.push(e));
    await core(db).server.integrate({ docs: ids.slice(0, 25).map(state) });
    await core(db).server.integrate({ docs: ids.slice(25).map(state) });

    // Each chunk told once: every document new, the live query moved by the second only.
    expect(events.map((e) => [e.origin, e.docs.length])).toEqual([
      ['remote', 25],
      ['remote', 25],
    ]);
    expect(
      events.flatMap((e) => e.docs).every((d) => d.before === undefined && d.after?._id === d.docId),
    ).toBe(true);
    expect(seen).toEqual([
      ['live', 0],
      ['live', 5],
    ]);
    // A scan reads them as adopted; the first read by id puts them in the id map.
    expect((await products.find()).map((d) => d._id)).toEqual(ids);
    expect(await products.count()).toBe(50);
    expect(await products.get('p007')).toEqual(await src.collection('products').get('p007'));
    expect(products.explain({ where: { price: 7 } })).toMatchObject({ index: 'price', examined: 1 });
    expect((await products.find({ where: { price: 7 } })).map((d) => d._id)).toEqual(['p007']);
    // Written to and removed as any document (the CRDT decoded from the adopted state).
    await products.update('p003', (d) => {
      d.price = 1000;
    });
    await products.remove('p004');
    expect(await products.get('p003')).toMatchObject({ price: 1000, tags: ['a'] });
    expect(await products.count()).toBe(49);
    // What storage holds reopens to the same.
    await db.close();
    const again = await Database.open({ storage });
    expect(await again.collection('products').count()).toBe(49);
    expect(await again.collection('products').get('p003')).toMatchObject({ price: 1000 });
  });

  it('a batch naming a document twice, or out of order, joins instead of adopting twice', async () => {
    const { src, state } = await source(3);
    const first = state('p001');
    await src.collection('products').update('p001', (d) => {
      d.name = 'later';
    });
    const later = state('p001');
    for (const docs of [
      [state('p000'), first, later],
      [state('p002'), state('p000'), first],
      [later, first, state('p000'), state('p002')],
    ]) {
      const db = await Database.open();
      await core(db).server.integrate({ docs });
      const got = await db.collection('products').find();
      expect(got.map((d) => d._id).sort()).toEqual([...new Set(docs.map((d) => d.id))].sort());
      expect(await db.collection('products').count()).toBe(got.length);
      if (docs.includes(later))
        expect(await db.collection('products').get('p001')).toMatchObject({ name: 'later' });
    }
  });

  it('a chunk over documents this replica holds joins them, and adopts only the new', async () => {
    const { src, ids, state } = await source(10);
    const db = await Database.open();
    await core(db).server.integrate({ docs: ids.slice(0, 5).map(state) });
    await db.collection('products').update('p002', (d) => {
      d.local = true;
    });
    await src.collection('products').update('p002', (d) => {
      d.price = 99;
    });
    // Resumed from the start: the same chunk again, with one state moved on, and five new.
    await core(db).server.integrate({ docs: ids.map(state) });
    expect(await db.collection('products').count()).toBe(10);
    expect(await db.collection('products').get('p002')).toMatchObject({ price: 99, local: true });
    expect((await db.collection('products').find()).map((d) => d._id).sort()).toEqual(ids);
  });
});

// Adopted whole, a collection keeps their JSON as it came and reads or writes one by id without
// putting them all in the id map (`CollectionState.since`): whatever is asked, in any order, it
// answers as a collection that had them by id from the start.
describe('documents adopted whole, read and written by id in any order', () => {
  it.each(seeds(30))('seed %i: as a collection holding them by id answers', async (seed) => {
    const rng = new SeededRng(seed);
    const src = await Database.open();
    const docs = Array.from({ length: 40 }, (_, i) => ({
      _id: `p${String(i).padStart(3, '0')}`,
      price: i % 7,
      category: ['a', 'b', 'c'][i % 3]!,
    }));
    await src.collection('products').upsertMany(docs);
    const indexes = rng.chance(0.5) ? ['price'] : [];
    const adopted = await Database.open();
    const held = await Database.open();
    adopted.collection('products', { indexes });
    held.collection('products', { indexes });
    const whole = (id: string) => {
      const stored = core(src).storedDocument('products', id)!;
      return { collection: 'products', id, stored, value: core(src).documentValue('products', id)! };
    };
    await core(adopted).server.integrate({ docs: docs.map((d) => whole(d._id)) });
    await held.collection('products').upsertMany(docs);

    const id = () => `p${String(rng.int(45)).padStart(3, '0')}`;
    const both = async <T>(what: string, f: (db: Database) => Promise<T>) => {
      const got = await f(adopted);
      expect(got, `seed ${seed}: ${what}`).toEqual(await f(held));
      return got;
    };
    for (let step = 0; step < 40; step++) {
      const at = id();
      const price = rng.int(9);
      switch (rng.int(7)) {
        case 0:
          await both(`get ${at}`, (db) => db.collection('products').get(at));
          break;
        case 1:
          await both(`update ${at}`, (db) =>
            db
              .collection('products')
              .update(at, (d) => {
                d.price = price;
              })
              .then(
                () => 'updated',
                (e: Error) => e.message,
              ),
          );
          break;
        case 2:
          await both(`remove ${at}`, (db) => db.collection('products').remove(at));
          break;
        case 3:
          await both(`upsert ${at}`, (db) =>
            db.collection('products').upsert({ _id: at, price, category: 'd' }),
          );
          break;
        case 4:
          await both(`price = ${price}`, (db) => db.collection('products').find({ where: { price } }));
          break;
        case 5:
          // How many a scan examines: the collection's size, counted apart while adopted whole
          // (before the count, whose scan would put them all by id).
          await both('examined', async (db) => db.collection('products').explain({}));
          await both('count', (db) => db.collection('products').count());
          break;
        default:
          await both('all', (db) => db.collection('products').find({ sort: { price: 'desc' } }));
      }
    }
    await both('all at the end', (db) => db.collection('products').find());
    await both('count at the end', (db) => db.collection('products').count());
  });
});
