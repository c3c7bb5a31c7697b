import { counter, Database, text } from '@concord/db';
import { gtinCheckDigit } from '@concord/labels';

/** The live key-value editor's entries (seed 003): one of each kind of value. */
const ENTRIES: ReadonlyArray<Record<string, unknown>> = [
  { _id: 'greeting', value: 'Hello from Concord' },
  { _id: 'answer', value: 42 },
  { _id: 'price', value: 2.49 },
  { _id: 'onSale', value: true },
  { _id: 'nothing', value: null },
  { _id: 'tags', value: ['local-first', 'crdt', 'sync'] },
  { _id: 'store', value: { id: 42, city: 'Lyon', open: true } },
];

const CATEGORIES = ['dairy', 'bakery', 'produce', 'drinks', 'frozen', 'household'] as const;
type Category = (typeof CATEGORIES)[number];
/** Name, brand, pack size (with the name's quantity the label's unit price is computed from). */
const NAMES: Readonly<Record<Category, ReadonlyArray<readonly [string, string]>>> = {
  dairy: [
    ['Milk 1l', 'Alpenhof'],
    ['Butter 250g', 'Alpenhof'],
    ['Yoghurt 4-pack', 'Laiterie Française'],
    ['Crème fraîche 200g', 'Laiterie Française'],
  ],
  bakery: [
    ['Rye bread 750g', 'Boulangerie Rémi'],
    ['Croissant', 'Boulangerie Rémi'],
    ['Baguette 250g', 'Boulangerie Rémi'],
    ['Bagels 6-pack', 'Østerby'],
  ],
  produce: [
    ['Apples 1kg', 'Verger du Sud'],
    ['Bananas 1kg', 'Verger du Sud'],
    ['Tomatoes 500g', 'Verger du Sud'],
    ['Carrots 1kg', 'Verger du Sud'],
  ],
  drinks: [
    ['Orange juice 1l', 'Sunny Grove'],
    ['Sparkling water 1.5l', 'Quellgrund'],
    ['Green tea 100g', 'Østerby'],
    ['Ground coffee 250g', 'Café Ñandú'],
  ],
  frozen: [
    ['Peas 1kg', 'Frostland'],
    ['Vanilla ice cream 500ml', 'Frostland'],
    ['Fish fingers 450g', 'Frostland'],
    ['Pizza margherita 350g', 'Frostland'],
  ],
  household: [
    ['Dish soap 500ml', 'Clarté'],
    ['Paper towels', 'Clarté'],
    ['Laundry pods', 'Clarté'],
    ['Sponges 3-pack', 'Clarté'],
  ],
};

/** The demo chain's stores, and what each carries: s1 everything, the others part of it. */
const STORES: ReadonlyArray<{ _id: string; name: string; carries: readonly Category[] }> = [
  { _id: 's1', name: 'Lyon Part-Dieu', carries: CATEGORIES },
  { _id: 's2', name: 'Annecy Centre', carries: ['dairy', 'bakery', 'produce'] },
  { _id: 's3', name: 'Grenoble Gare', carries: ['drinks', 'frozen', 'household'] },
];

/** An EAN-13 in the in-store range (prefix 2), valid: its check digit computed. */
const ean13 = (n: number) => {
  const first12 = `20${String(n * 7919).padStart(10, '0')}`;
  return first12 + gtinCheckDigit(first12);
};

/**
 * A small retail catalogue for the collection browser and the store app: registers for the label
 * fields, a counter for stock (stores decrement it concurrently), text for the description, and
 * `stores`, the stores that carry it (each store's devices follow only theirs).
 */
function products(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let n = 0;
  for (const category of CATEGORIES)
    for (const [name, brand] of NAMES[category]) {
      n++;
      const price = Math.round((0.79 + ((n * 37) % 90) / 10) * 100) / 100;
      const onSale = n % 5 === 0;
      out.push({
        _id: `sku-${String(n).padStart(4, '0')}`,
        sku: `SKU-${String(n).padStart(4, '0')}`,
        name,
        brand,
        category,
        price,
        onSale,
        salePrice: onSale ? Math.round(price * 80) / 100 : null,
        barcode: ean13(n),
        aisle: 1 + (n % 12),
        validFrom: '2026-12-01',
        stores: STORES.filter((s) => s.carries.includes(category)).map((s) => s._id),
        stock: counter(20 + ((n * 13) % 80)),
        description: text(`${name}, from the ${category} aisle.`),
      });
    }
  return out;
}

/**
 * `concord demo`: fills a running server's `kv` collection (the live key-value editor), a
 * `products` catalogue and the chain's `stores` (the page's store app), as a client would — through sync — and waits until the server holds it.
 * Entries already there are left as they are: running it twice writes nothing new.
 */
export async function seedDemo(
  url: string,
  token?: string,
): Promise<{ kv: number; products: number; stores: number }> {
  const db = await Database.open();
  const sync = db.sync(url, {
    ...(token ? { token } : {}),
    subscriptions: [{ collection: 'kv' }, { collection: 'products' }, { collection: 'stores' }],
  });
  let failure: string | undefined;
  const stop = sync.on('error', (e) => {
    failure = `${e.code}: ${e.message}`;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no sync server answered at ${url}${failure ? ` (${failure})` : ''}`)),
      10_000,
    );
  });
  try {
    await Promise.race([sync.synced(), timeout]);
    const missing = async (collection: string, docs: ReadonlyArray<Record<string, unknown>>) => {
      const out: Array<Record<string, unknown>> = [];
      for (const d of docs) if (!(await db.collection(collection).get(d._id as string))) out.push(d);
      if (out.length > 0) await db.collection(collection).upsertMany(out);
      return out.length;
    };
    const written = {
      kv: await missing('kv', ENTRIES),
      products: await missing('products', products()),
      stores: await missing(
        'stores',
        STORES.map(({ _id, name }) => ({ _id, name })),
      ),
    };
    await Promise.race([sync.synced(), timeout]);
    return written;
  } finally {
    clearTimeout(timer);
    stop();
    await sync.close();
    await db.close();
  }
}
