// Seed 000's retail catalogue: n products × 12 fields, as Concord documents and as a map of
// maps in Yjs, Automerge and Loro. Each system does the same work in its own process
// (bench/retail-worker.ts): build, encode, cold load + read every value, change 1% of the
// prices (time and delta bytes), merge that delta into a second replica, and memory held after
// a cold load (measured in yet another fresh process). Concord alone: the hourly feed
// re-upserted whole with 1% changed, reopening from SQLite against JSON.parse, indexed queries.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as Automerge from '@automerge/automerge';
import {
  type Change,
  Database,
  decodeChanges,
  decodeSnapshot,
  encodeChanges,
  encodeSnapshot,
} from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { LoroDoc, LoroMap } from 'loro-crdt';
import * as Y from 'yjs';
import { FAILURES, heldBytes, median, medianMsAsync, medians, progress, type Result } from './harness.js';

export interface Product {
  _id: string;
  sku: string;
  name: string;
  price: number;
  unit: string;
  category: string;
  brand: string;
  barcode: string;
  onSale: boolean;
  salePrice: number | null;
  aisle: number;
  updatedBy: string;
  stock: number;
}

const CATEGORIES = ['dairy', 'bakery', 'produce', 'meat', 'frozen', 'drinks', 'snacks', 'household'];
const BRANDS = Array.from({ length: 40 }, (_, i) => `Brand ${String.fromCharCode(65 + (i % 26))}${i}`);
const UNITS = ['each', 'kg', 'l', 'pack'];
const NOUNS = ['Milk', 'Bread', 'Apples', 'Coffee', 'Soap', 'Rice', 'Juice', 'Cheese', 'Pasta', 'Tea'];

/** Product i's SKU, which is also its `_id`. */
export const skuOf = (i: number): string => `SKU-${String(i).padStart(7, '0')}`;

/** The catalogue, deterministic: product i is the same in every process and every system. */
export function catalogue(n: number): Product[] {
  return Array.from({ length: n }, (_, i) => {
    const sku = skuOf(i);
    const price = priceOf(i, 0);
    return {
      _id: sku,
      sku,
      name: `${BRANDS[i % BRANDS.length]} ${NOUNS[(i * 7) % NOUNS.length]} ${100 + (i % 900)}g`,
      price,
      unit: UNITS[i % UNITS.length]!,
      category: CATEGORIES[(i * 31) % CATEGORIES.length]!,
      brand: BRANDS[i % BRANDS.length]!,
      barcode: String(4_000_000_000_000 + i * 7919),
      onSale: i % 10 === 0,
      salePrice: i % 10 === 0 ? Math.round(price * 90) / 100 : null,
      aisle: 1 + (i % 40),
      updatedBy: 'hq-feed',
      stock: (i * 37) % 500,
    };
  });
}

export const priceOf = (i: number, hour: number): number =>
  Math.round(99 + ((i * 7919 + hour * 104729) % 9900)) / 100;
/** The products whose price changes in an hourly update: 1%, spread over the catalogue. */
export const changedIndexes = (n: number): number[] =>
  Array.from({ length: n / 100 }, (_, k) => (k * 7919) % n);

/** A checksum of every value of every product, so reading can't be skipped and results compare. */
export function checksum(products: Iterable<object>): number {
  let sum = 0;
  for (const p of products) {
    for (const [k, v] of Object.entries(p)) {
      if (k === '_id') continue;
      if (typeof v === 'number') sum += v;
      else if (typeof v === 'string') sum += v.length;
      else if (v === true) sum += 1;
    }
  }
  return Math.round(sum * 100);
}

/** One system doing the catalogue's work. Documents are opaque to the harness. */
export interface RetailSystem {
  readonly name: string;
  build(products: readonly Product[]): Promise<unknown>;
  encode(doc: unknown): Promise<Uint8Array>;
  /** Decodes into a fresh replica. */
  load(bytes: Uint8Array): Promise<unknown>;
  /** Every product as plain values. */
  read(doc: unknown): Promise<Iterable<object>>;
  /** Sets the prices and returns the delta another replica needs (and the document to use from now on). */
  change(doc: unknown, prices: ReadonlyArray<[string, number]>): Promise<{ doc: unknown; delta: Uint8Array }>;
  merge(doc: unknown, delta: Uint8Array): Promise<unknown>;
  price(doc: unknown, sku: string): Promise<number>;
  /** Gives a replica's memory back at once, where the system does not leave it to the collector. */
  free?(doc: unknown): void;
}

const FIELDS = (p: Product) => Object.entries(p).filter(([k]) => k !== '_id');

const yjs: RetailSystem = {
  name: 'yjs',
  async build(products) {
    const doc = new Y.Doc();
    const root = doc.getMap<Y.Map<unknown>>('products');
    doc.transact(() => {
      for (const p of products) {
        const m = new Y.Map<unknown>();
        root.set(p.sku, m);
        for (const [k, v] of FIELDS(p)) m.set(k, v);
      }
    });
    return doc;
  },
  encode: async (doc) => Y.encodeStateAsUpdate(doc as Y.Doc),
  async load(bytes) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, bytes);
    return doc;
  },
  read: async (doc) => [...(doc as Y.Doc).getMap<Y.Map<unknown>>('products').values()].map((m) => m.toJSON()),
  async change(doc, prices) {
    const d = doc as Y.Doc;
    const sv = Y.encodeStateVector(d);
    const root = d.getMap<Y.Map<unknown>>('products');
    d.transact(() => {
      for (const [sku, price] of prices) root.get(sku)!.set('price', price);
    });
    return { doc: d, delta: Y.encodeStateAsUpdate(d, sv) };
  },
  async merge(doc, delta) {
    Y.applyUpdate(doc as Y.Doc, delta);
    return doc;
  },
  price: async (doc, sku) => (doc as Y.Doc).getMap<Y.Map<number>>('products').get(sku)!.get('price')!,
};

const loro: RetailSystem = {
  name: 'loro',
  async build(products) {
    const doc = new LoroDoc();
    const root = doc.getMap('products');
    for (const p of products) {
      const m = root.setContainer(p.sku, new LoroMap());
      for (const [k, v] of FIELDS(p)) m.set(k, v);
    }
    doc.commit();
    return doc;
  },
  encode: async (doc) => (doc as LoroDoc).export({ mode: 'snapshot' }),
  load: async (bytes) => LoroDoc.fromSnapshot(bytes),
  read: async (doc) =>
    (doc as LoroDoc)
      .getMap('products')
      .values()
      .map((m) => (m as LoroMap).toJSON()),
  async change(doc, prices) {
    const d = doc as LoroDoc;
    const from = d.oplogVersion();
    const root = d.getMap('products');
    for (const [sku, price] of prices) (root.get(sku) as LoroMap).set('price', price);
    d.commit();
    return { doc: d, delta: d.export({ mode: 'update', from }) };
  },
  async merge(doc, delta) {
    (doc as LoroDoc).import(delta);
    return doc;
  },
  price: async (doc, sku) => ((doc as LoroDoc).getMap('products').get(sku) as LoroMap).get('price') as number,
};

type AmCatalogue = { products: Record<string, Record<string, unknown>> };
const automerge: RetailSystem = {
  name: 'automerge',
  async build(products) {
    // In changes of 10,000 products: one change of 1.2 million operations exhausts Automerge's
    // 4 GiB of WebAssembly memory at 100,000 products.
    let doc = Automerge.change(Automerge.init<AmCatalogue>(), (d) => {
      d.products = {};
    });
    for (let start = 0; start < products.length; start += 10_000) {
      doc = Automerge.change(doc, (d) => {
        for (const p of products.slice(start, start + 10_000)) {
          const m: Record<string, unknown> = {};
          for (const [k, v] of FIELDS(p)) m[k] = v;
          d.products[p.sku] = m;
        }
      });
    }
    return doc;
  },
  encode: async (doc) => Automerge.save(doc as Automerge.Doc<AmCatalogue>),
  load: async (bytes) => Automerge.load<AmCatalogue>(bytes),
  read: async (doc) => Object.values((doc as Automerge.Doc<AmCatalogue>).products),
  async change(doc, prices) {
    const next = Automerge.change(doc as Automerge.Doc<AmCatalogue>, (d) => {
      for (const [sku, price] of prices) d.products[sku]!.price = price;
    });
    return { doc: next, delta: Automerge.getLastLocalChange(next)! };
  },
  merge: async (doc, delta) => Automerge.applyChanges(doc as Automerge.Doc<AmCatalogue>, [delta])[0],
  price: async (doc, sku) => (doc as Automerge.Doc<AmCatalogue>).products[sku]!.price as number,
  // WebAssembly memory is freed when the collector finalises a document, which it may not do
  // between runs: three runs of 100,000 products then exhaust Automerge's 4 GiB.
  free: (doc) => Automerge.free(doc as Automerge.Doc<AmCatalogue>),
};

const PRODUCTS = 'products';
const concord: RetailSystem = {
  name: 'concord',
  async build(products) {
    const db = await Database.open();
    await db.collection(PRODUCTS).upsertMany(products as unknown as Record<string, unknown>[]);
    return db;
  },
  encode: async (db) => encodeSnapshot((db as Database).snapshot()),
  async load(bytes) {
    const db = await Database.open();
    await db.applySnapshot(decodeSnapshot(bytes));
    return db;
  },
  // find() hands out each document's materialised (frozen) JSON.
  read: (db) => (db as Database).collection(PRODUCTS).find(),
  async change(db, prices) {
    const d = db as Database;
    const before = d.version();
    await d.transaction((tx) => {
      for (const [sku, price] of prices) tx.upsert(PRODUCTS, { _id: sku, price });
    });
    const since = await d.changesSince(before);
    return { doc: d, delta: encodeChanges((since as { changes: Change[] }).changes) };
  },
  async merge(db, delta) {
    await (db as Database).applyChanges(decodeChanges(delta));
    return db;
  },
  price: async (db, sku) => (await (db as Database).collection(PRODUCTS).get(sku))!.price as number,
};

export const RETAIL_SYSTEMS: RetailSystem[] = [yjs, automerge, loro, concord];

function expectEqual(what: string, got: unknown, want: unknown): void {
  if (got !== want) throw new Error(`${what}: got ${String(got)}, expected ${String(want)}`);
}

/** The hourly update of `hour`: 1% of the prices. */
function update(products: readonly Product[], hour: number): Array<[string, number]> {
  return changedIndexes(products.length).map((i) => [products[i]!.sku, priceOf(i, hour)]);
}

/** One system on a catalogue of n products; every measurement checks the values it produced. */
export async function measureRetail(
  sys: RetailSystem,
  n: number,
  runs: number,
  withMemory: boolean,
): Promise<Result[]> {
  const suite = `retail/${n / 1000}k`;
  const results: Result[] = [];
  const add = (metric: string, value: number) => results.push({ suite, system: sys.name, metric, value });
  const products = catalogue(n);
  const want = checksum(products);

  let doc: unknown;
  const build = async () => {
    doc = await sys.build(products);
  };
  // Automerge takes tens of seconds at 100k: one run is enough to compare.
  const first = await medianMsAsync(build, 1);
  add('build ms', first > 5000 ? first : await medianMsAsync(build, runs));
  const bytes = await sys.encode(doc);
  sys.free?.(doc);
  add('encoded bytes', bytes.length);
  add(
    'load+read ms',
    await medianMsAsync(async () => {
      const loaded = await sys.load(bytes);
      expectEqual(`${sys.name} read`, checksum(await sys.read(loaded)), want);
      sys.free?.(loaded);
    }, runs),
  );

  // The hourly update, measured on fresh copies each run, merged into a second replica.
  const times: number[] = [];
  const merges: number[] = [];
  let deltaBytes = 0;
  for (let run = 0; run < runs; run++) {
    const hour = run + 1;
    const prices = update(products, hour);
    let a = await sys.load(bytes);
    let b = await sys.load(bytes);
    let start = performance.now();
    const { doc: after, delta } = await sys.change(a, prices);
    times.push(performance.now() - start);
    a = after;
    deltaBytes = delta.length;
    start = performance.now();
    b = await sys.merge(b, delta);
    merges.push(performance.now() - start);
    for (const [sku, price] of [prices[0]!, prices.at(-1)!]) {
      expectEqual(`${sys.name} changed price`, await sys.price(a, sku), price);
      expectEqual(`${sys.name} merged price`, await sys.price(b, sku), price);
    }
    sys.free?.(a);
    sys.free?.(b);
  }
  add('change 1% ms', median(times));
  add('delta bytes', deltaBytes);
  add('merge delta ms', median(merges));
  if (withMemory) add('memory after load bytes', memoryAfterLoad(sys.name, n, bytes));
  return results;
}

const WORKER = fileURLToPath(new URL('./retail-worker.ts', import.meta.url));
const node = (args: string[]) =>
  execFileSync(
    process.execPath,
    ['--expose-gc', '--max-old-space-size=8192', '--conditions=source', '--import', 'tsx', WORKER, ...args],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );

/** Memory a cold-loaded catalogue holds, in a fresh process that does nothing else (retail-worker.ts memory). */
function memoryAfterLoad(system: string, n: number, bytes: Uint8Array): number {
  const dir = mkdtempSync(join(tmpdir(), 'concord-retail-'));
  const file = join(dir, 'catalogue.bin');
  writeFileSync(file, bytes);
  try {
    return Number(
      node([system, String(n), 'memory', file])
        .trim()
        .split('\n')
        .pop(),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In the worker: loads the file, reads every value, and prints the bytes held. */
export async function holdLoaded(sys: RetailSystem, n: number, file: string): Promise<number> {
  const bytes = new Uint8Array(readFileSync(file));
  const before = heldBytes();
  const doc = await sys.load(bytes);
  expectEqual(`${sys.name} read`, checksum(await sys.read(doc)), checksum(catalogue(n)));
  const after = heldBytes();
  // Keep the document alive until after the measurement.
  if (doc === undefined) throw new Error('nothing loaded');
  return after - before;
}

/**
 * What only a database does, on the same catalogue: the hourly feed re-upserted whole with 1% of
 * prices changed (it must record exactly those), reopening from SQLite beside JSON.parse of the
 * same catalogue, and queries served by secondary indexes.
 */
export async function measureDatabase(n: number, runs: number): Promise<Result[]> {
  const suite = `database/${n / 1000}k`;
  const results: Result[] = [];
  const add = (metric: string, value: number) => results.push({ suite, system: 'concord', metric, value });
  const products = catalogue(n);
  const want = checksum(products);
  const rows = products as unknown as Record<string, unknown>[];

  const feeds: number[] = [];
  for (let run = 0; run < runs; run++) {
    const db = await Database.open();
    await db.collection(PRODUCTS).upsertMany(rows);
    const feed = products.map((p, i) => ({ ...p, price: priceOf(i, 0) }));
    for (const i of changedIndexes(n)) feed[i]!.price = priceOf(i, run + 1);
    const before = db.version().get(db.replicaId);
    const start = performance.now();
    await db.collection(PRODUCTS).upsertMany(feed);
    feeds.push(performance.now() - start);
    expectEqual('changes recorded by the feed', db.version().get(db.replicaId) - before, n / 100);
    await db.close();
  }
  add('feed re-upsert ms', median(feeds));
  add('feed changes recorded', n / 100);

  // Reopening and its baseline run in turn, each from a collected heap (neither pays for the
  // other's garbage, nor for the feed runs' before them), and each is timed until it holds every
  // document as a JavaScript object; the values are checked after the clock stops.
  const dir = mkdtempSync(join(tmpdir(), 'concord-retail-db-'));
  const json = JSON.stringify(products);
  try {
    const file = join(dir, 'catalogue.sqlite');
    const db = await Database.open({ storage: await SqliteStorage.open(file) });
    await db.collection(PRODUCTS).upsertMany(rows);
    await db.close();
    const reopens: number[] = [];
    const parses: number[] = [];
    // Each pair takes under a second: more of them than of the other measurements steady the medians.
    for (let run = 0; run < 2 * runs + 1; run++) {
      globalThis.gc?.();
      let start = performance.now();
      const again = await Database.open({ storage: await SqliteStorage.open(file) });
      const docs = await again.collection(PRODUCTS).find();
      reopens.push(performance.now() - start);
      expectEqual('reopened', checksum(docs), want);
      await again.close();
      globalThis.gc?.();
      start = performance.now();
      const parsed = JSON.parse(json) as Product[];
      parses.push(performance.now() - start);
      expectEqual('parsed', checksum(parsed), want);
    }
    add('SQLite reopen+read ms', median(reopens));
    add('JSON.parse ms', median(parses));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const db = await Database.open({ collections: { [PRODUCTS]: { indexes: ['category', 'price'] } } });
  const c = db.collection(PRODUCTS);
  await c.upsertMany(rows);
  const queries = {
    'category = dairy': { where: { category: 'dairy' } },
    'price in [5, 5.05)': { where: { price: { $gte: 5, $lt: 5.05 } }, sort: { price: 'asc' as const } },
  };
  for (const [name, q] of Object.entries(queries)) {
    const expected = products.filter((p) =>
      name.startsWith('category') ? p.category === 'dairy' : p.price >= 5 && p.price < 5.05,
    );
    const count = 200;
    add(
      `${name} ms`,
      (await medianMsAsync(async () => {
        for (let i = 0; i < count; i++) expectEqual(name, (await c.find(q)).length, expected.length);
      }, runs)) / count,
    );
    add(`${name} examined`, c.explain(q).examined);
  }
  add('documents', n);
  return results;
}

/**
 * Each system on each size in its own process, so no system pays for another's garbage; in
 * `rounds` rounds, the systems in turn within each, so that the machine's drift (a neighbour, a
 * slow minute) hits them alike; each time is the median of its rounds (memory is measured once).
 */
export function retailSuite(sizes: readonly number[], runs: number, rounds: number): Result[] {
  const results: Result[] = [];
  for (const n of sizes) {
    const measured: Result[] = [];
    const failed = new Set<string>();
    for (let round = 0; round < rounds; round++) {
      for (const sys of RETAIL_SYSTEMS) {
        if (failed.has(sys.name)) continue;
        progress(`retail/${n / 1000}k ${sys.name} (round ${round + 1} of ${rounds})`);
        const args = [sys.name, String(n), String(runs), ...(round === 0 ? ['with-memory'] : [])];
        try {
          measured.push(...jsonLines(node(args)));
        } catch (e) {
          // A system that cannot do the work at this size (out of memory) leaves its row empty.
          const why = String((e as { stderr?: string }).stderr ?? e).match(/(RuntimeError|Error)[^\n]*/)?.[0];
          progress(`retail/${n / 1000}k ${sys.name} failed: ${why}`);
          FAILURES.push(`retail/${n / 1000}k: ${sys.name} failed (${why})`);
          failed.add(sys.name);
        }
      }
    }
    results.push(...medians(measured.filter((r) => !failed.has(r.system))));
  }
  for (const n of sizes) {
    progress(`database/${n / 1000}k`);
    results.push(...jsonLines(node(['database', String(n), String(runs)])));
  }
  return results;
}

function jsonLines(out: string): Result[] {
  return out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Result);
}
