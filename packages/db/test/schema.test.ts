import { type Collection, counter, Database, DbError, type Doc } from '@concord/db';
import { core } from '@concord/db/internal';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';

/** Typed collections and runtime schemas (issue 17): any Standard Schema — Zod here. */
const Product = z.object({
  name: z.string().min(1),
  price: z.number().nonnegative(),
  stock: z.number().int().optional(),
  tags: z.array(z.string()).optional(),
});
type Product = z.infer<typeof Product>;

describe('typed collections', () => {
  it('take their type from the schema, end to end', async () => {
    const db = await Database.open();
    const products = db.collection('products', { schema: Product });
    expectTypeOf(products).toEqualTypeOf<Collection<Product>>();
    expectTypeOf(products.get).returns.resolves.toEqualTypeOf<Doc<Product> | undefined>();
    expectTypeOf(products.find).returns.resolves.toEqualTypeOf<Doc<Product>[]>();
    expectTypeOf(products.upsert).parameter(0).toHaveProperty('price');
    // @ts-expect-error a price is a number
    products.upsert({ _id: 'x', price: 'cheap' }).catch(() => undefined);
    // @ts-expect-error every document has an id
    products.upsert({ name: 'no id' }).catch(() => undefined);
    products.observe({}, (docs) => expectTypeOf(docs).toEqualTypeOf<Doc<Product>[]>());
    await products.upsert({ _id: 'p1', name: 'Milk', price: 1.99, stock: counter(3) });
    await products.update('p1', (draft) => {
      expectTypeOf(draft.price).toEqualTypeOf<number>();
      draft.price = 2.09;
    });
    const milk = await products.get('p1');
    expect(milk).toEqual({ _id: 'p1', name: 'Milk', price: 2.09, stock: 3 });
    expectTypeOf(milk!.name).toEqualTypeOf<string>();
    await db.close();
  });

  it('or from a type argument, without a runtime schema; untyped ones take any object', async () => {
    const db = await Database.open();
    const typed = db.collection<{ title: string }>('notes');
    expectTypeOf(typed.get).returns.resolves.toEqualTypeOf<Doc<{ title: string }> | undefined>();
    const untyped = db.collection('any');
    expectTypeOf(untyped).toEqualTypeOf<Collection<Record<string, unknown>>>();
    await untyped.upsert({ _id: 'a', whatever: [1, 'two'] });
    expect(await untyped.get('a')).toEqual({ _id: 'a', whatever: [1, 'two'] });
    await db.close();
  });
});

describe('runtime schemas', () => {
  it('check every local write; a failing one is INVALID with the schema’s message and writes nothing', async () => {
    const db = await Database.open();
    const products = db.collection('products', { schema: Product });
    await products.upsert({ _id: 'p1', name: 'Milk', price: 1.99 });
    const refused = await products
      .upsertMany([
        { _id: 'p2', name: 'Bread', price: 2.5 },
        { _id: 'p3', name: '', price: -1 },
      ])
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DbError);
    expect((refused as DbError).code).toBe('INVALID');
    expect((refused as DbError).message).toMatch(/products\/p3: name: .*; price: /);
    // The transaction wrote nothing: p2 neither.
    expect(await products.find()).toEqual([{ _id: 'p1', name: 'Milk', price: 1.99 }]);
    const update = await products
      .update('p1', (d) => {
        d.price = -3;
      })
      .catch((e: unknown) => e);
    expect((update as DbError).code).toBe('INVALID');
    expect(await products.get('p1')).toMatchObject({ price: 1.99 });
    // A removal leaves no document to check.
    expect(await products.remove('p1')).toBe(true);
    await db.close();
  });

  it('are declared once for the database, as the server declares them', async () => {
    const db = await Database.open({ collections: { products: { schema: Product } } });
    expect(core(db).schemaOf('products')).toBe(Product);
    const err = await db
      .collection('products')
      .upsert({ _id: 'p', name: 'x' })
      .catch((e: unknown) => e);
    expect((err as DbError).code).toBe('INVALID');
    await db.close();
  });
});
