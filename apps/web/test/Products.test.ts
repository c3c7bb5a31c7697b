// The index's product list against the Map it stands for: the same products, in the same
// order, after any sequence of loads, sets and deletes (seeded; replay one with SEED=<n>).
import { SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';
import { type Indexed, Products } from '../src/Products.js';

const indexed = (id: string, v: number): Indexed => ({ doc: { _id: id, v }, text: undefined });
const listed = (p: Products) => p.list.filter((x) => x !== undefined).map((x) => [x.doc._id, x.doc.v]);

describe('Products', () => {
  it.each(seeds(20))('seed %i: keeps a Map’s order and contents through loads, sets and deletes', (seed) => {
    const rng = new SeededRng(seed);
    const products = new Products();
    let model = new Map<string, number>();
    try {
      for (let step = 0; step < 600; step++) {
        const id = `p${rng.int(80)}`;
        const op = rng.int(20);
        if (op === 0) {
          // A reload: everything at once, in id order, without the id map.
          const ids = [...new Set(Array.from({ length: rng.int(60) }, () => `p${rng.int(80)}`))].sort();
          model = new Map(ids.map((i) => [i, step]));
          products.load(ids.map((i) => indexed(i, step)));
        } else if (op < 12) {
          model.set(id, step);
          products.set(id, indexed(id, step));
        } else {
          model.delete(id);
          products.delete(id);
        }
        expect(products.size).toBe(model.size);
        expect(products.get(id)?.doc.v).toBe(model.get(id));
        expect(listed(products)).toEqual([...model]);
      }
    } catch (e) {
      throw new Error(`seed ${seed} (replay with SEED=${seed}): ${(e as Error).message}`);
    }
  });

  it('drops its holes once they outnumber the products', () => {
    const products = new Products();
    products.load(Array.from({ length: 200 }, (_, i) => indexed(`p${String(i).padStart(3, '0')}`, i)));
    for (let i = 0; i < 150; i++) products.delete(`p${String(i).padStart(3, '0')}`);
    expect(products.size).toBe(50);
    // Compacted when 67 were left (198 slots for them): 17 holes since.
    expect(products.list.length).toBe(67);
    expect(products.list.filter((p) => p === undefined)).toHaveLength(17);
    expect(products.get('p199')?.doc.v).toBe(199);
  });
});
