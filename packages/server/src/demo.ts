import { counter, Database, text } from '@concord/db';

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
const NAMES: Readonly<Record<(typeof CATEGORIES)[number], readonly string[]>> = {
  dairy: ['Milk 1l', 'Butter 250g', 'Yoghurt 4-pack', 'Cheddar 200g'],
  bakery: ['Rye bread', 'Croissant', 'Baguette', 'Bagels 6-pack'],
  produce: ['Apples 1kg', 'Bananas', 'Tomatoes 500g', 'Carrots 1kg'],
  drinks: ['Orange juice 1l', 'Sparkling water 6x', 'Green tea', 'Ground coffee 250g'],
  frozen: ['Peas 1kg', 'Vanilla ice cream', 'Fish fingers', 'Pizza margherita'],
  household: ['Dish soap', 'Paper towels', 'Laundry pods', 'Sponges 3-pack'],
};

/**
 * A small retail catalogue for the collection browser: registers for most fields, a counter
 * for stock (stores decrement it concurrently) and text for the description.
 */
function products(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  let n = 0;
  for (const category of CATEGORIES)
    for (const name of NAMES[category]) {
      n++;
      out.push({
        _id: `sku-${String(n).padStart(4, '0')}`,
        name,
        category,
        price: Math.round((0.79 + ((n * 37) % 90) / 10) * 100) / 100,
        onSale: n % 5 === 0,
        aisle: 1 + (n % 12),
        stock: counter(20 + ((n * 13) % 80)),
        description: text(`${name}, from the ${category} aisle.`),
      });
    }
  return out;
}

/**
 * `concord demo`: fills a running server's `kv` collection (the live key-value editor) and a
 * `products` catalogue, as a client would — through sync — and waits until the server holds it.
 * Entries already there are left as they are: running it twice writes nothing new.
 */
export async function seedDemo(url: string, token?: string): Promise<{ kv: number; products: number }> {
  const db = await Database.open();
  const sync = db.sync(url, {
    ...(token ? { token } : {}),
    subscriptions: [{ collection: 'kv' }, { collection: 'products' }],
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
    const written = { kv: await missing('kv', ENTRIES), products: await missing('products', products()) };
    await Promise.race([sync.synced(), timeout]);
    return written;
  } finally {
    clearTimeout(timer);
    stop();
    await sync.close();
    await db.close();
  }
}
