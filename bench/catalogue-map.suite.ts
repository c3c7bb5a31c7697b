// Seed 000's workload against the anchors: a product catalogue as one replicated map of n
// keys. Build it, apply the hourly update (1% of prices change), encode it, load it and read
// every value back. Every system does the same work; ratios are to Yjs in the same run.
import * as Automerge from '@automerge/automerge';
import {
  CausalRegister,
  type CrdtType,
  decodeCrdt,
  encodeCrdt,
  HybridLogicalClock,
  LWWMap,
  ORMap,
  replicaId,
} from '@concord/crdt';
import { LoroDoc } from 'loro-crdt';
import * as Y from 'yjs';
import { medianMs, progress, type Result } from './harness.js';

interface MapSystem {
  readonly name: string;
  build(n: number): unknown;
  /** Applies the hourly update; returns the document to use from then on (Automerge's are immutable). */
  update(doc: unknown, keys: readonly number[]): unknown;
  encode(doc: unknown): Uint8Array;
  loadAndRead(bytes: Uint8Array): number;
}

const sku = (i: number) => `sku-${i}`;
const price = (i: number, hour: number) => Math.round(i * 7 + hour * 13) / 100;
const me = replicaId('0123456789abcdef0123456789abcdef');
let wall = 1_700_000_000_000;
const clock = new HybridLogicalClock(me, { now: () => wall++ });

function sum(values: Iterable<unknown>): number {
  let total = 0;
  for (const v of values) total += v as number;
  return total;
}

/** A Concord map type as a system: `set` writes product i's price for the given hour. */
function concord<T extends LWWMap | ORMap>(
  name: string,
  type: CrdtType<T>,
  set: (map: T, i: number, hour: number) => void,
): MapSystem {
  return {
    name,
    build(n) {
      const map = type.empty();
      for (let i = 0; i < n; i++) set(map, i, 0);
      return map;
    },
    update(doc, keys) {
      for (const i of keys) set(doc as T, i, 1);
      return doc;
    },
    encode: (doc) => encodeCrdt(doc as T),
    loadAndRead: (bytes) => sum(Object.values(decodeCrdt(bytes, type).value() as Record<string, unknown>)),
  };
}

const SYSTEMS: MapSystem[] = [
  {
    name: 'yjs',
    build(n) {
      const doc = new Y.Doc();
      const map = doc.getMap<number>('products');
      doc.transact(() => {
        for (let i = 0; i < n; i++) map.set(sku(i), price(i, 0));
      });
      return doc;
    },
    update(doc, keys) {
      const d = doc as Y.Doc;
      const map = d.getMap<number>('products');
      d.transact(() => {
        for (const i of keys) map.set(sku(i), price(i, 1));
      });
      return d;
    },
    encode: (doc) => Y.encodeStateAsUpdate(doc as Y.Doc),
    loadAndRead(bytes) {
      const doc = new Y.Doc();
      Y.applyUpdate(doc, bytes);
      return sum(doc.getMap<number>('products').values());
    },
  },
  {
    name: 'loro',
    build(n) {
      const doc = new LoroDoc();
      const map = doc.getMap('products');
      for (let i = 0; i < n; i++) map.set(sku(i), price(i, 0));
      doc.commit();
      return doc;
    },
    update(doc, keys) {
      const d = doc as LoroDoc;
      const map = d.getMap('products');
      for (const i of keys) map.set(sku(i), price(i, 1));
      d.commit();
      return d;
    },
    encode: (doc) => (doc as LoroDoc).export({ mode: 'snapshot' }),
    loadAndRead(bytes) {
      return sum(LoroDoc.fromSnapshot(bytes).getMap('products').values());
    },
  },
  {
    name: 'automerge',
    build(n) {
      return Automerge.change(Automerge.init<Record<string, number>>(), (d) => {
        for (let i = 0; i < n; i++) d[sku(i)] = price(i, 0);
      });
    },
    update(doc, keys) {
      return Automerge.change(doc as Automerge.Doc<Record<string, number>>, (d) => {
        for (const i of keys) d[sku(i)] = price(i, 1);
      });
    },
    encode: (doc) => Automerge.save(doc as Automerge.Doc<unknown>),
    loadAndRead(bytes) {
      return sum(Object.values(Automerge.load<Record<string, number>>(bytes)));
    },
  },
  concord('concord LWWMap', LWWMap, (map, i, hour) => map.set(clock.now(), sku(i), price(i, hour))),
  concord('concord ORMap', ORMap, (map, i, hour) =>
    map.update(me, sku(i), CausalRegister, (r) => r.set(clock.now(), price(i, hour))),
  ),
];

export function catalogueMapSuite(n: number): Result[] {
  const results: Result[] = [];
  const suite = `product-map/${n / 1000}k`;
  const changed = Array.from({ length: n / 100 }, (_, k) => (k * 7919) % n);
  for (const sys of SYSTEMS) {
    progress(`${suite} ${sys.name}`);
    const add = (metric: string, value: number) => results.push({ suite, system: sys.name, metric, value });
    add(
      'build ms',
      medianMs(() => sys.build(n), 3),
    );
    let doc = sys.build(n);
    add(
      'update 1% ms',
      medianMs(() => {
        doc = sys.update(doc, changed);
      }, 3),
    );
    const bytes = sys.encode(doc);
    add(
      'encode ms',
      medianMs(() => sys.encode(doc), 3),
    );
    add('bytes', bytes.length);
    add(
      'load+read ms',
      medianMs(() => sys.loadAndRead(bytes), 3),
    );
  }
  return results;
}
