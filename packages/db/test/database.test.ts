import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareTimestamps, VersionVector } from '@concord/crdt';
import {
  ATTACHMENT_PIECE_BYTES,
  type Change,
  type ChangeEvent,
  counter,
  Database,
  decodeChanges,
  encodeChanges,
  list,
  MemoryStorage,
  map,
  text,
} from '@concord/db';
import { core } from '@concord/db/internal';
import { SqliteStorage } from '@concord/db/sqlite';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'concord-db-'));
  dirs.push(d);
  return join(d, 'db.sqlite');
}

/** A database on an injected clock, so timestamps are reproducible. */
function open(replicaId: string, opts: Parameters<typeof Database.open>[0] = {}): Promise<Database> {
  let t = 1_700_000_000_000;
  return Database.open({ replicaId, now: () => (t += 1), ...opts });
}

async function changesOf(db: Database): Promise<Change[]> {
  const set = await db.changesSince(new VersionVector());
  if (set.kind !== 'changes') throw new Error('expected changes');
  return set.changes;
}

describe('Database: documents', () => {
  it('upserts and reads plain JSON; an unchanged upsert records nothing and fires nothing', async () => {
    const db = await open('a');
    const products = db.collection('products');
    const events: ChangeEvent[] = [];
    db.onChange((e) => events.push(e));
    await products.upsert({ _id: 'sku-1', name: 'Milk', price: 1.99, tags: ['dairy'], dims: { w: 1 } });
    expect(await products.get('sku-1')).toEqual({
      _id: 'sku-1',
      name: 'Milk',
      price: 1.99,
      tags: ['dairy'],
      dims: { w: 1 },
    });
    const v = db.version();
    await products.upsert({ _id: 'sku-1', name: 'Milk', price: 1.99, tags: ['dairy'], dims: { w: 1 } });
    expect(db.version().equals(v)).toBe(true);
    expect(events).toHaveLength(1);
    await products.upsert({ _id: 'sku-1', price: 2.09 });
    const changes = await changesOf(db);
    expect(changes).toHaveLength(2);
    // The second change holds only the price register.
    expect(changes[1]!.ops.keys()).toEqual(['price']);
    expect((await products.get('sku-1'))!.name).toBe('Milk');
  });

  it("replace mode removes what the input lacks; merge mode (Ditto's default) keeps it", async () => {
    const db = await open('a');
    const c = db.collection('c');
    await c.upsert({ _id: 'x', a: 1, b: 2 });
    await c.upsert({ _id: 'x', a: 1 });
    expect(await c.get('x')).toEqual({ _id: 'x', a: 1, b: 2 });
    await c.upsert({ _id: 'x', a: 1 }, { mode: 'replace' });
    expect(await c.get('x')).toEqual({ _id: 'x', a: 1 });
  });

  it('counters, text and lists by wrapper, edited through update drafts as increments and edits', async () => {
    const a = await open('a');
    const docs = a.collection('docs');
    await docs.upsert({
      _id: 'd',
      views: counter(10),
      title: text('Hello world'),
      lines: list([map({ qty: 1 })]),
    });
    const b = await open('b');
    await b.applyChanges(await changesOf(a));
    await docs.update('d', (d) => {
      d.views = (d.views as number) + 1;
      d.title = 'Hello, world';
    });
    await b.collection('docs').update('d', (d) => {
      d.views = (d.views as number) + 5;
      d.title = 'Hello world!';
      (d.lines as Array<{ qty: number }>)[0]!.qty = 3;
    });
    await a.applyChanges(await changesOf(b));
    await b.applyChanges(await changesOf(a));
    const expected = { _id: 'd', views: 16, title: 'Hello, world!', lines: [{ qty: 3 }] };
    expect(await docs.get('d')).toEqual(expected);
    expect(await b.collection('docs').get('d')).toEqual(expected);
  });

  it('a schema makes a property a counter; a string written into it is refused and nothing is written', async () => {
    const db = await open('a', { collections: { stock: { properties: { qty: 'counter' } } } });
    const stock = db.collection('stock');
    await stock.upsert({ _id: 's1', qty: 5 });
    await stock.upsert({ _id: 's1', qty: 7 });
    const before = db.version();
    // The first properties are written before the bad one is met; none of it may remain.
    await expect(stock.upsert({ _id: 's1', note: 'written first', qty: 'many' })).rejects.toMatchObject({
      code: 'TYPE_MISMATCH',
    });
    await expect(
      stock.upsert({ _id: 's1', note: 'x', nested: map({ ok: 1, $bad: 2 }) }),
    ).rejects.toMatchObject({
      code: 'RESERVED_KEY',
    });
    expect(await stock.get('s1')).toEqual({ _id: 's1', qty: 7 });
    expect(db.version().equals(before)).toBe(true);
  });

  it('refuses bad input with stable codes, writing nothing of the transaction', async () => {
    const db = await open('a', { strict: true, collections: { p: {} } });
    const p = db.collection('p');
    await expect(p.upsert({ name: 'no id' })).rejects.toMatchObject({ code: 'BAD_ID' });
    await expect(p.upsert({ _id: 7 as unknown as string })).rejects.toMatchObject({ code: 'BAD_ID' });
    await expect(p.upsert({ _id: 'x', when: new Date() })).rejects.toMatchObject({ code: 'NOT_JSON' });
    await expect(p.upsert({ _id: 'x', n: Number.NaN })).rejects.toMatchObject({ code: 'NOT_JSON' });
    await expect(p.upsert({ _id: 'x', $set: 1 })).rejects.toMatchObject({ code: 'RESERVED_KEY' });
    expect(() => db.collection('unknown')).toThrow(expect.objectContaining({ code: 'UNKNOWN_COLLECTION' }));
    await expect(
      db.transaction((tx) => {
        tx.upsert('p', { _id: 'ok', a: 1 });
        tx.upsert('p', { _id: 'bad', a: () => 1 });
      }),
    ).rejects.toMatchObject({ code: 'NOT_JSON' });
    expect(await p.get('ok')).toBeUndefined();
    expect(db.version().size).toBe(0);
    await expect(p.update('missing', () => {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('a transaction is one commit, one event, one change per document', async () => {
    const db = await open('a');
    const events: ChangeEvent[] = [];
    db.onChange((e) => events.push(e));
    const seen = await db.transaction((tx) => {
      tx.upsert('p', { _id: '1', a: 1 });
      tx.upsert('p', { _id: '1', b: 2 });
      tx.upsert('q', { _id: '2', c: 3 });
      return tx.get('p', '1'); // reads its own writes before they commit
    });
    expect(seen).toEqual({ _id: '1', a: 1, b: 2 });
    expect(await db.collection('p').count()).toBe(1);
    expect(events).toHaveLength(1);
    expect(events[0]!.origin).toBe('local');
    expect(events[0]!.changes.map((c) => c.docId)).toEqual(['1', '2']);
    expect(await db.collection('p').get('1')).toEqual({ _id: '1', a: 1, b: 2 });
    // Its writes take effect at once: one timestamp on every change, and a later transaction's is greater.
    const [first, second] = events[0]!.changes;
    expect(compareTimestamps(first!.hlc, second!.hlc)).toBe(0);
    await db.collection('p').upsert({ _id: '1', a: 5 });
    expect(compareTimestamps(events[1]!.changes[0]!.hlc, first!.hlc)).toBe(1);
  });
});

describe('Database: new documents written whole', () => {
  const product = {
    _id: 'sku-1',
    sku: 'sku-1',
    name: 'Crème fraîche 200 g 😀',
    price: 1.99,
    onSale: false,
    salePrice: null,
    dims: { w: 1, h: [2, 3], $raw: 'data' },
    tags: ['dairy', 'chilled'],
  };
  // A key JSON.parse makes an own property: it is data, not the prototype.
  const hostile = JSON.parse('{"_id":"p2","__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;

  it('agree with themselves in every form: JSON in name order, change, stored form, snapshot and merges', async () => {
    const a = await open('a');
    const events: ChangeEvent[] = [];
    a.onChange((e) => events.push(e));
    await a.collection('p').upsertMany([product, hostile]);
    const sorted = (o: object) =>
      JSON.stringify(Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1))));
    const got = (await a.collection('p').get('sku-1'))!;
    expect(got).toEqual(product);
    expect(JSON.stringify(got)).toBe(sorted(product));
    const p2 = (await a.collection('p').get('p2'))!;
    expect(Object.getPrototypeOf(p2)).toBe(Object.prototype);
    expect(Object.hasOwn(p2, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // The change's ops, made when read, are the document; encoding them without making them says the same.
    const [change, change2] = events[0]!.changes;
    expect(change!.ops.value()).toEqual(got);
    const decoded = decodeChanges(encodeChanges([change!, change2!]));
    expect(decoded[0]!.ops.equals(change!.ops)).toBe(true);
    expect(decoded[1]!.ops.equals(change2!.ops)).toBe(true);
    expect(encodeChanges(decoded)).toEqual(encodeChanges([change!, change2!]));
    expect((await changesOf(a)).map((c) => c.ops.value())).toEqual([got, p2]);

    // Elsewhere — by change, by snapshot — the same JSON, key order included; no conflicts; registers.
    const b = await open('b');
    await b.applyChanges(await changesOf(a));
    const c = await open('c');
    await c.applySnapshot(a.snapshot());
    for (const db of [b, c]) {
      expect(JSON.stringify(await db.collection('p').get('sku-1'))).toBe(JSON.stringify(got));
      expect(JSON.stringify(await db.collection('p').get('p2'))).toBe(JSON.stringify(p2));
      expect(await db.collection('p').conflicts('sku-1')).toEqual([]);
    }
    expect((await a.collection('p').kinds('sku-1')).every((k) => k.kind === 'register')).toBe(true);

    // Written to afterwards (its CRDT decoded from the stored form), and merged both ways.
    await a.collection('p').update('sku-1', (d) => {
      d.price = 2.09;
      delete d.onSale;
    });
    await b.collection('p').upsert({ _id: 'sku-1', stock: 4 });
    await b.applyChanges(await changesOf(a));
    await a.applyChanges(await changesOf(b));
    const merged = { ...product, price: 2.09, stock: 4 } as Record<string, unknown>;
    delete merged.onSale;
    expect(await a.collection('p').get('sku-1')).toEqual(merged);
    expect(JSON.stringify(await b.collection('p').get('sku-1'))).toBe(
      JSON.stringify(await a.collection('p').get('sku-1')),
    );
  });

  it('written, then written again or removed in the same transaction: one change, the same elsewhere', async () => {
    const a = await open('a');
    const b = await open('b');
    await a.transaction((tx) => {
      tx.upsert('p', product);
      tx.update('p', 'sku-1', (d) => {
        d.price = 2.5;
      });
      tx.upsert('p', { _id: 'gone', a: 1 });
      expect(tx.remove('p', 'gone')).toBe(true);
      tx.upsert('p', { _id: 'typed', n: counter(2), a: 1 });
    });
    const changes = await changesOf(a);
    expect(changes.map((c) => c.docId)).toEqual(['sku-1', 'gone', 'typed']);
    await b.applyChanges(changes);
    for (const db of [a, b]) {
      expect(await db.collection('p').get('sku-1')).toEqual({ ...product, price: 2.5 });
      expect(await db.collection('p').get('gone')).toBeUndefined();
      expect(await db.collection('p').get('typed')).toEqual({ _id: 'typed', n: 2, a: 1 });
    }
    expect(await b.collection('p').kinds('typed')).toContainEqual({ path: 'n', kind: 'counter' });
    // A later write to the removed one on b is not undone by a's removal, which it has seen.
    await b.collection('p').upsert({ _id: 'gone', a: 2 });
    expect(await b.collection('p').get('gone')).toEqual({ _id: 'gone', a: 2 });
  });

  it('kept unencoded in memory storage until read: reopened, snapshot and log are byte for byte what SQLite stores', async () => {
    const memory = new MemoryStorage();
    const file = tempFile();
    const feed = [product, hostile, { _id: 'b', price: 2, name: 'B' }, { _id: 'c', price: 3, name: 'C' }];
    const dbs = [
      await open('a', { storage: memory }),
      await open('a', { storage: await SqliteStorage.open(file) }),
    ];
    // In memory, writing a new document serialises nothing: its bytes are made when read.
    const stringify = vi.spyOn(JSON, 'stringify');
    await dbs[0]!.collection('p').upsertMany(feed);
    expect(stringify).not.toHaveBeenCalled();
    await dbs[1]!.collection('p').upsertMany(feed);
    expect(stringify).toHaveBeenCalled();
    stringify.mockRestore();
    for (const db of dbs) {
      await db.collection('p').remove('c');
      await db.collection('p').upsert({ _id: 'd', price: 4 });
    }
    const [m, s] = dbs as [Database, Database];
    const bytes = (db: Database) => db.snapshot().docs.map((d) => [d.id, [...d.stored]]);
    expect(bytes(m)).toEqual(bytes(s));
    expect(encodeChanges(await changesOf(m))).toEqual(encodeChanges(await changesOf(s)));
    const before = await m.collection('p').find();
    await m.close();
    const again = await open('a', { storage: memory });
    expect(await again.collection('p').find()).toEqual(before);
    expect(await again.collection('p').get('c')).toBeUndefined();
    expect(bytes(again)).toEqual(bytes(s));
    expect(encodeChanges(await changesOf(again))).toEqual(encodeChanges(await changesOf(s)));
    await s.close();
  });

  it('a changed document’s state is made when read in memory storage: updates encode nothing; reopened, states are what SQLite stores', async () => {
    const memory = new MemoryStorage();
    const dbs = [
      await open('a', { storage: memory }),
      await open('a', { storage: await SqliteStorage.open(tempFile()) }),
    ] as const;
    const peer = await open('b');
    let sent = new VersionVector();
    /** The peer's changes since the last call, applied to `to`. */
    const send = async (to: readonly Database[]) => {
      const set = await peer.changesSince(sent);
      if (set.kind !== 'changes') throw new Error('expected changes');
      for (const db of to) await db.applyChanges(set.changes);
      sent = peer.version().clone();
    };
    const n = 1100; // more than a collection keeps decoded: the first states are made as they leave it
    const ids = Array.from({ length: n }, (_, i) => `d${i}`);
    await peer.collection('p').upsertMany(ids.map((_id, i) => ({ _id, price: i })));
    await send(dbs);
    // Live updates to two documents, one written here and one merged from the peer, a commit
    // each, alike on both.
    const merged: Change[][] = [];
    for (let v = 0; v < 20; v++) {
      await peer.collection('p').upsert({ _id: 'd0', price: 1000 + v });
      const set = await peer.changesSince(sent);
      if (set.kind !== 'changes') throw new Error('expected changes');
      merged.push(set.changes);
      sent = peer.version().clone();
    }
    const live = async (db: Database) => {
      for (let v = 0; v < 20; v++) {
        await db.collection('p').upsert({ _id: 'hot', v });
        await db.applyChanges(merged[v]!);
      }
    };
    const stringify = vi.spyOn(JSON, 'stringify');
    await live(dbs[0]);
    // A stored form's JSON is serialised whole (changes serialise values one by one): those of
    // the documents leaving the decoded ones are made, those updated are not.
    const documents = () =>
      stringify.mock.calls.flatMap(([v]) => (typeof v === 'object' ? [(v as { _id: string })._id] : []));
    expect(documents().length).toBeGreaterThan(0);
    expect(documents().filter((id) => id === 'hot' || id === 'd0')).toEqual([]);
    stringify.mockClear();
    await live(dbs[1]);
    expect(documents()).toContain('hot');
    stringify.mockRestore();
    // Every document changed in one commit (more than the decoded ones), then one of them again.
    await peer.transaction((tx) => {
      for (const _id of ids) tx.upsert('p', { _id, price: -1 });
    });
    await send(dbs);
    await peer.collection('p').upsert({ _id: 'd5', price: 5 });
    await send(dbs);
    const [m, s] = dbs;
    const bytes = (db: Database) => db.snapshot().docs.map((d) => [d.id, [...d.stored]]);
    const before = await m.collection('p').find();
    await m.close();
    const again = await open('a', { storage: memory });
    expect(await again.collection('p').find()).toEqual(before);
    expect(await again.collection('p').get('d5')).toEqual({ _id: 'd5', price: 5 });
    expect(await again.collection('p').get('hot')).toEqual({ _id: 'hot', v: 19 });
    expect(bytes(again)).toEqual(bytes(s));
    await s.close();
  });

  it('documents of several shapes in one batch each keep their own names; a declared kind is kept in any shape', async () => {
    const db = await open('a', { collections: { typed: { properties: { n: 'counter' } } } });
    const docs = [
      { _id: '1', a: 1, b: 'x' },
      { _id: '2', a: 2, b: 'y' },
      { _id: '3', b: 'z', a: 3 },
      { _id: '4', a: 4 },
      { _id: '5', a: 5, b: 'w', c: true },
      { _id: '6', a: 6, b: 'v' },
    ];
    await db.collection('p').upsertMany(docs);
    for (const d of docs)
      expect(JSON.stringify(await db.collection('p').get(d._id))).toBe(JSON.stringify(sortedKeys(d)));
    // The same names in a collection whose schema makes `n` a counter: not written as a register.
    await db.collection('p').upsert({ _id: '7', a: 7, n: 1 });
    await db.collection('typed').upsertMany([{ _id: '1', a: 1, n: 1 }]);
    expect(await db.collection('typed').kinds('1')).toContainEqual({ path: 'n', kind: 'counter' });
    await db.collection('typed').update('1', (d) => {
      (d.n as number) += 2;
    });
    expect(await db.collection('typed').kinds('1')).toContainEqual({ path: 'n', kind: 'counter' });
    expect(await db.collection('typed').get('1')).toEqual({ _id: '1', a: 1, n: 3 });
    await expect(db.collection('p').upsert({ _id: '8', a: 1, $b: 2 })).rejects.toMatchObject({
      code: 'RESERVED_KEY',
    });
    await expect(db.collection('p').upsert({ _id: '9', a: Number.NaN, b: 'x' })).rejects.toMatchObject({
      code: 'NOT_JSON',
    });
    expect(await db.collection('p').get('9')).toBeUndefined();
  });
});

function sortedKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([x], [y]) => (x < y ? -1 : 1)));
}

describe('Database: describing documents', () => {
  it('tells each property’s CRDT by path, nested maps’ included; lists the collections holding documents', async () => {
    const db = await open('a');
    const ref = await db.attachments.put(new Uint8Array([1, 2]), 'application/octet-stream');
    await db.collection('p').upsert({
      _id: 'x',
      name: 'Milk',
      stock: counter(3),
      notes: text('fresh'),
      tags: list(['dairy']),
      dims: map({ w: 1, box: map({ h: 2 }) }),
      photo: ref,
    });
    await db.collection('empty').upsert({ _id: 'gone', v: 1 });
    await db.collection('empty').remove('gone');
    expect(await db.collection('p').kinds('x')).toEqual([
      { path: 'dims', kind: 'map' },
      { path: 'dims.box', kind: 'map' },
      { path: 'dims.box.h', kind: 'register' },
      { path: 'dims.w', kind: 'register' },
      { path: 'name', kind: 'register' },
      { path: 'notes', kind: 'text' },
      { path: 'photo', kind: 'attachment' },
      { path: 'stock', kind: 'counter' },
      { path: 'tags', kind: 'list' },
    ]);
    expect(await db.collection('p').kinds('nothing')).toEqual([]);
    expect(core(db).collectionNames()).toEqual(['p']);
  });
});

describe('Database: replication primitives', () => {
  it('remove is add-wins against a concurrent update; concurrent register writes keep the loser readable', async () => {
    const a = await open('a');
    const b = await open('b');
    await a.collection('p').upsert({ _id: 'x', name: 'Milk', price: 1 });
    await b.applyChanges(await changesOf(a));
    await a.collection('p').remove('x');
    await b.collection('p').upsert({ _id: 'x', price: 2 });
    await a.applyChanges(await changesOf(b));
    await b.applyChanges(await changesOf(a));
    expect(await a.collection('p').get('x')).toEqual({ _id: 'x', price: 2 });
    expect(await b.collection('p').get('x')).toEqual({ _id: 'x', price: 2 });

    await a.collection('p').upsert({ _id: 'y', v: 'from a' });
    await b.collection('p').upsert({ _id: 'y', v: 'from b' });
    await a.applyChanges(await changesOf(b));
    await b.applyChanges(await changesOf(a));
    const winner = (await a.collection('p').get('y'))!.v;
    expect((await b.collection('p').get('y'))!.v).toBe(winner);
    const conflicts = await a.collection('p').conflicts('y');
    expect(conflicts).toHaveLength(1);
    expect(conflicts[0]!.path).toBe('v');
    expect(conflicts[0]!.losers.map((l) => l.value)).toEqual([winner === 'from a' ? 'from b' : 'from a']);
  });

  it('a text field dropped and written again while another replica edits the old text merges on both sides', async () => {
    const a = await open('a');
    const b = await open('b');
    await a.collection('p').upsert({ _id: 'x', notes: text('hello'), stock: counter(5) });
    await b.applyChanges(await changesOf(a));
    // Deleted, the fields are gone; a's next text and counts start afresh.
    await a.collection('p').update('x', (d) => {
      delete d.notes;
      delete d.stock;
    });
    expect(await a.collection('p').get('x')).toEqual({ _id: 'x' });
    await a.collection('p').upsert({ _id: 'x', notes: text('xyz'), stock: counter(2) });
    await b.collection('p').update('x', (d) => {
      d.notes = `${d.notes as string}!`;
      d.stock = (d.stock as number) + 1;
    });
    await a.applyChanges(await changesOf(b));
    await b.applyChanges(await changesOf(a));
    const doc = await a.collection('p').get('x');
    expect(await b.collection('p').get('x')).toEqual(doc);
    // Both texts survive the concurrent edit (update wins), and so do both counts: 2 + 6.
    expect([...(doc!.notes as string)].sort().join('')).toBe([...'xyzhello!'].sort().join(''));
    expect(doc!.stock).toBe(8);
  });

  it('applies changes idempotently and holds early ones until their predecessor arrives', async () => {
    const a = await open('a');
    const c = a.collection('p');
    for (let i = 1; i <= 3; i++) await c.upsert({ _id: 'x', n: i });
    const [c1, c2, c3] = decodeChanges(encodeChanges(await changesOf(a)));
    const b = await open('b');
    expect(await b.applyChanges([c3!, c2!])).toEqual({ applied: 0, pending: 2 });
    expect(await b.collection('p').get('x')).toBeUndefined();
    expect(await b.applyChanges([c1!, c1!])).toEqual({ applied: 3, pending: 0 });
    expect(await b.applyChanges([c2!])).toEqual({ applied: 0, pending: 0 });
    expect(await b.collection('p').get('x')).toEqual({ _id: 'x', n: 3 });
  });

  it('refuses a batch that would overflow the pending buffer, keeping nothing of it', async () => {
    const a = await open('a');
    for (let i = 1; i <= 4; i++) await a.collection('p').upsert({ _id: `${i}`, n: i });
    const all = await changesOf(a);
    const b = await open('b', { maxPending: 2 });
    await expect(b.applyChanges(all.slice(1))).rejects.toMatchObject({ code: 'BUFFER_FULL' });
    expect(await b.applyChanges(all)).toEqual({ applied: 4, pending: 0 });
  });

  it('refuses malformed changes', async () => {
    const b = await open('b');
    await expect(
      b.applyChanges([{ dot: { replica: 'a', seq: 0 } } as unknown as Change]),
    ).rejects.toMatchObject({
      code: 'BAD_CHANGE',
    });
  });

  it('a snapshot whose documents a replica holds already changes nothing there and fires for none', async () => {
    // A node of a deployment loads its log's snapshot while serving (cut off from NATS while the
    // log was trimmed): every document it staged went to every client again.
    const a = await open('a');
    const b = await open('b');
    await a
      .collection('p')
      .upsertMany(Array.from({ length: 50 }, (_, i) => ({ _id: `d${i}`, n: i, tags: ['x'] })));
    await a.collection('p').upsert({ _id: 'c', stock: counter(5), nested: { k: 'v' } });
    await a.collection('p').update('c', (d) => {
      d.stock = (d.stock as number) + 2;
    });
    await b.applyChanges(await changesOf(a));
    const events: string[][] = [];
    b.onChange((e) => events.push(e.docs.map((d) => d.docId)));
    await b.applySnapshot(a.snapshot());
    expect(events.flat()).toEqual([]);
    // One document changed since: that one alone.
    await a.collection('p').upsert({ _id: 'd7', n: 70 });
    await b.applySnapshot(a.snapshot());
    expect(events.flat()).toEqual(['d7']);
    expect(await b.collection('p').find()).toEqual(await a.collection('p').find());
  });

  it('after compaction a peer behind the horizon gets a snapshot and converges', async () => {
    const a = await open('a');
    await a.collection('p').upsert({ _id: 'x', n: 1 });
    await a.collection('p').upsert({ _id: 'y', n: 2 });
    await a.compact();
    await a.collection('p').upsert({ _id: 'x', n: 3 });
    const b = await open('b');
    const set = await a.changesSince(b.version());
    expect(set.kind).toBe('snapshot');
    if (set.kind === 'snapshot') await b.applySnapshot(set);
    expect(await b.collection('p').find()).toEqual(await a.collection('p').find());
    // A peer that is past the horizon still gets just the changes.
    const since = b.version();
    await a.collection('p').upsert({ _id: 'y', n: 4 });
    const more = await a.changesSince(since);
    expect(more.kind).toBe('changes');
    if (more.kind === 'changes') expect(more.changes).toHaveLength(1);
  });
});

describe('Database: queries', () => {
  async function catalogue(indexes: string[] = []) {
    const db = await open('a');
    const p = db.collection('products', { indexes });
    await p.upsertMany(
      Array.from({ length: 200 }, (_, i) => ({
        _id: `sku-${String(i).padStart(3, '0')}`,
        price: i % 50,
        category: ['dairy', 'bakery', 'produce'][i % 3],
        dims: { w: i % 7 },
        tags: i % 2 ? ['sale'] : [],
        ...(i % 10 === 0 ? { note: 'check' } : {}),
      })),
    );
    return p;
  }

  it('filters with every operator and dotted paths, sorts, skips and limits', async () => {
    const p = await catalogue();
    const ids = async (q: Parameters<typeof p.find>[0]) => (await p.find(q)).map((d) => d._id);
    expect((await p.find({ where: { price: { $lt: 2 } } })).length).toBe(8);
    expect((await p.find({ where: { price: { $gte: 48, $lte: 49 } } })).length).toBe(8);
    expect((await p.find({ where: { price: { $gt: 48 } } })).every((d) => d.price === 49)).toBe(true);
    expect((await p.find({ where: { category: 'dairy', price: { $ne: 0 } } })).length).toBe(65);
    expect((await p.find({ where: { category: { $in: ['dairy', 'bakery'] } } })).length).toBe(134);
    expect((await p.find({ where: { category: { $nin: ['dairy', 'bakery'] } } })).length).toBe(66);
    expect((await p.find({ where: { note: { $exists: true } } })).length).toBe(20);
    expect((await p.find({ where: { tags: { $contains: 'sale' } } })).length).toBe(100);
    expect((await p.find({ where: { _id: { $contains: '19' } } })).length).toBe(12);
    expect((await p.find({ where: { 'dims.w': 3 } })).length).toBe(29);
    expect((await p.find({ where: { $or: [{ price: 0 }, { price: 1 }] } })).length).toBe(8);
    expect((await p.find({ where: { price: { $lt: 'x' } } })).length).toBe(0);
    expect(await ids({ where: { price: 49 }, sort: { _id: 'desc' }, limit: 2, skip: 1 })).toEqual([
      'sku-149',
      'sku-099',
    ]);
    const sorted = await p.find({ sort: { price: 'desc', 'dims.w': 'asc' }, limit: 5 });
    expect(sorted.map((d) => d.price)).toEqual([49, 49, 49, 49, 48]);
    await expect(p.find({ where: { price: { $near: 1 } } as never })).rejects.toMatchObject({
      code: 'BAD_QUERY',
    });
    await expect(p.find({ limit: -1 })).rejects.toMatchObject({ code: 'BAD_QUERY' });
  });

  it('an indexed equality or range query examines only the matching documents, with the same result', async () => {
    const plain = await catalogue();
    const indexed = await catalogue(['price', 'category']);
    for (const q of [
      { where: { price: 7 } },
      { where: { price: { $gte: 10, $lt: 12 } } },
      { where: { category: 'bakery', price: { $in: [1, 2] } } },
    ]) {
      expect(await indexed.find(q)).toEqual(await plain.find(q));
      expect(indexed.explain(q).index).toBeDefined();
      expect(indexed.explain(q).examined).toBeLessThan(20);
      expect(plain.explain(q).examined).toBe(200);
    }
    await indexed.update('sku-007', (d) => {
      d.price = 1000;
    });
    expect((await indexed.find({ where: { price: 1000 } })).map((d) => d._id)).toEqual(['sku-007']);
    expect((await indexed.find({ where: { price: 7 } })).map((d) => d._id)).not.toContain('sku-007');
  });

  it('live queries fire once per transaction that alters the result, with per-document changes', async () => {
    const db = await open('a');
    const p = db.collection('p');
    await p.upsert({ _id: 'milk', category: 'dairy', price: 1 });
    const calls: Array<{ ids: string[]; added: string[]; removed: string[]; updated: string[] }> = [];
    const stop = p.observe({ where: { category: 'dairy' }, sort: { price: 'asc' } }, (docs, ch) =>
      calls.push({ ids: docs.map((d) => d._id), ...ch }),
    );
    expect(calls).toEqual([{ ids: ['milk'], added: ['milk'], removed: [], updated: [] }]);
    await p.upsert({ _id: 'bread', category: 'bakery', price: 2 }); // not in the result: no call
    await db.transaction((tx) => {
      tx.upsert('p', { _id: 'cheese', category: 'dairy', price: 5 });
      tx.upsert('p', { _id: 'milk', price: 1.5 });
    });
    expect(calls).toHaveLength(2);
    expect(calls[1]).toEqual({ ids: ['milk', 'cheese'], added: ['cheese'], removed: [], updated: ['milk'] });
    const b = await open('b');
    await b.applyChanges(await changesOf(db));
    await b.collection('p').upsert({ _id: 'milk', category: 'drinks' });
    await db.applyChanges(await changesOf(b));
    expect(calls[2]).toEqual({ ids: ['cheese'], added: [], removed: ['milk'], updated: [] });
    stop();
    await p.upsert({ _id: 'yogurt', category: 'dairy' });
    expect(calls).toHaveLength(3);
  });
});

describe('Database: storage', () => {
  it('reopens a SQLite file with its documents, replica id, version and log', async () => {
    const file = tempFile();
    const db = await Database.open({ storage: await SqliteStorage.open(file) });
    await db.collection('p', { indexes: ['price'] }).upsert({ _id: 'x', price: 3, n: counter(2) });
    const id = db.replicaId;
    const version = db.version();
    await db.close();
    await expect(db.collection('p').upsert({ _id: 'y' })).rejects.toMatchObject({ code: 'CLOSED' });
    const again = await Database.open({ storage: await SqliteStorage.open(file) });
    expect(again.replicaId).toBe(id);
    expect(again.version().equals(version)).toBe(true);
    const p = again.collection('p', { indexes: ['price'] });
    expect(await p.get('x')).toEqual({ _id: 'x', price: 3, n: 2 });
    expect(p.explain({ where: { price: 3 } }).examined).toBe(1);
    expect(await changesOf(again)).toHaveLength(1);
    await again.close();
  });

  it('a reopened document reads from its stored JSON and decodes its CRDT when a write or merge needs it', async () => {
    const file = tempFile();
    const a = await Database.open({
      storage: await SqliteStorage.open(file),
      replicaId: 'a',
      now: () => 1_700_000_000_000,
    });
    const p = a.collection('p');
    await p.upsert({ _id: 'x', price: 3, n: counter(2), label: text('Milk') });
    await p.upsert({ _id: 'gone', price: 1 });
    await p.remove('gone');
    const b = await open('b');
    await b.applyChanges(await changesOf(a));
    await b.collection('p').upsert({ _id: 'x', price: 4 });
    await a.collection('p').upsert({ _id: 'x', price: 5 }); // concurrent with b's: a conflict
    await a.close();

    const again = await Database.open({
      storage: await SqliteStorage.open(file),
      now: () => 1_700_000_000_000,
    });
    const q = again.collection('p');
    expect(await q.get('x')).toEqual({ _id: 'x', price: 5, n: 2, label: 'Milk' });
    expect(await q.get('gone')).toBeUndefined();
    // A merge decodes the stored CRDT: the removed document stays removed, the conflict shows.
    await again.applyChanges(await changesOf(b));
    expect(await q.get('gone')).toBeUndefined();
    expect((await q.conflicts('x')).map((c) => c.path)).toEqual(['price']);
    // A local write after reopening: the counter adds to its stored value, the text edit keeps the rest.
    await q.update('x', (d) => {
      d.n = (d.n as number) + 1;
      d.label = 'Milk 1L';
    });
    expect(await q.get('x')).toMatchObject({ n: 3, label: 'Milk 1L' });
    await again.close();
    const third = await Database.open({ storage: await SqliteStorage.open(file) });
    expect(await third.collection('p').get('x')).toMatchObject({ n: 3, label: 'Milk 1L' });
    await third.close();
  });

  it('a reopened SQLite file gives its JSON at once and its CRDTs after: writes, merges and snapshots are the same before and after', async () => {
    const file = tempFile();
    const a = await Database.open({
      storage: await SqliteStorage.open(file),
      replicaId: 'a',
      now: () => 1_700_000_000_000,
    });
    const n = 5000; // more than one run of deferred loading
    const ids = Array.from({ length: n }, (_, i) => `d${String(i).padStart(4, '0')}`);
    await a.collection('p').upsertMany(ids.map((id, i) => ({ _id: id, i, stock: counter(i) })));
    await a.collection('p').remove(ids[n - 2]!);
    await a.collection('q').upsert({ _id: 'only', v: 1 });
    await a.collection('q').remove('only');
    const forms = (db: Database) =>
      db
        .snapshot()
        .docs.map((d) => [d.collection, d.id, [...d.stored]])
        .sort((x, y) => `${x[0]}/${x[1]}`.localeCompare(`${y[0]}/${y[1]}`));
    const before = forms(a);
    const version = a.version();
    await a.close();

    // Read at once, before any CRDT is loaded: the JSON; a snapshot reads what is still deferred.
    const b = await Database.open({ storage: await SqliteStorage.open(file) });
    expect(await b.collection('p').count()).toBe(n - 1);
    expect(await b.collection('p').get(ids[n - 1]!)).toEqual({ _id: ids[n - 1], i: n - 1, stock: n - 1 });
    expect(forms(b)).toEqual(before);
    await b.close();

    // Written before the background reaches them (all of this runs before any timer): the last
    // document, read alone; a removed one, which its own insert, sent again, must not bring back.
    // The background runs on timers the test holds: nothing of it runs until they are run.
    const queued: Array<() => void> = [];
    const timers = {
      setTimeout: (fn: () => void) => queued.push(fn),
      clearTimeout: () => undefined,
    };
    const c = await Database.open({
      storage: await SqliteStorage.open(file),
      now: () => 1_700_000_000_000,
      timers,
    });
    await c.collection('p').update(ids[n - 1]!, (d) => {
      d.stock = (d.stock as number) + 1;
    });
    const insert = (await changesOf(c)).find((ch) => ch.docId === ids[n - 2]);
    await core(c).server.integrate({ changes: [insert!] });
    expect(await c.collection('p').get(ids[n - 2]!)).toBeUndefined();
    expect(await c.collection('p').get(ids[n - 1]!)).toMatchObject({ stock: n });
    // Once the background has read every state, the database is what it would have been.
    expect(queued.length).toBe(1);
    let runs = 0;
    while (queued.length > 0) {
      queued.shift()!();
      runs++;
      // Waits for the run: it is exclusive work, queued before this empty transaction.
      await c.transaction(() => undefined);
    }
    expect(runs).toBeGreaterThan(1); // more than one run of 2,000 states
    await c.collection('p').update(ids[0]!, (d) => {
      d.stock = (d.stock as number) + 5;
    });
    expect(await c.collection('p').get(ids[0]!)).toMatchObject({ stock: 5 });
    expect(c.version().get(a.replicaId)).toBe(version.get(a.replicaId) + 2);
    const unchanged = (f: unknown[]) => f[1] !== ids[0] && f[1] !== ids[n - 1];
    expect(forms(c).filter(unchanged)).toEqual(before.filter(unchanged));
    await c.close();
  });

  it('a reopened collection is scanned, looked up by id and by index, and written, whichever comes first', async () => {
    const file = tempFile();
    const schema = { collections: { p: { indexes: ['category'] } } };
    const a = await Database.open({ storage: await SqliteStorage.open(file), ...schema });
    const docs = Array.from({ length: 50 }, (_, i) => ({
      _id: `p${String(i).padStart(2, '0')}`,
      category: `c${i % 3}`,
      i,
    }));
    await a.collection('p').upsertMany([...docs].reverse());
    await a.close();
    const c1 = { where: { category: 'c1' } };
    const inC1 = docs.filter((d) => d.category === 'c1');
    for (const first of ['scan', 'get', 'index', 'write'] as const) {
      const db = await Database.open({ storage: await SqliteStorage.open(file), ...schema });
      const p = db.collection('p');
      if (first === 'get') expect(await p.get('p07')).toEqual(docs[7]);
      if (first === 'index') expect(await p.find(c1)).toEqual(inC1);
      if (first === 'write') await p.upsert({ _id: 'p01', category: 'c1', i: 100 });
      const now = first === 'write' ? docs.map((d) => (d._id === 'p01' ? { ...d, i: 100 } : d)) : docs;
      expect(await p.find()).toEqual(now);
      expect(p.explain({})).toEqual({ index: undefined, examined: 50 });
      expect(await p.count()).toBe(50);
      expect(Object.isFrozen((await p.find({ limit: 1 }))[0])).toBe(true);
      expect(p.explain(c1)).toEqual({ index: 'category', examined: inC1.length });
      expect(await p.find(c1)).toEqual(now.filter((d) => d.category === 'c1'));
      expect(await p.get('p49')).toEqual(docs[49]);
      await p.upsert({ _id: 'new', category: 'c1', i: -1 });
      expect(await p.count()).toBe(51);
      expect((await p.find(c1)).map((d) => d._id)).toContain('new');
      await p.remove('new');
      await db.close();
    }
  });

  it('a collection of more documents than one run of JSON reopens whole, removed ones staying removed', async () => {
    const file = tempFile();
    const a = await Database.open({ storage: await SqliteStorage.open(file) });
    const n = 25_000; // three runs of SqliteStorage's JSON
    const ids = Array.from({ length: n }, (_, i) => `p${String(i).padStart(5, '0')}`);
    await a.collection('p').upsertMany(ids.map((_id, i) => ({ _id, i })));
    await a.collection('p').remove(ids[10_000]!);
    await a.collection('q').upsert({ _id: 'q', i: -1 });
    await a.close();
    const b = await Database.open({ storage: await SqliteStorage.open(file) });
    const docs = await b.collection('p').find();
    expect(docs.length).toBe(n - 1);
    expect(docs.map((d) => d._id)).toEqual(ids.filter((_, i) => i !== 10_000));
    expect(docs.every((d) => d.i === Number(d._id.slice(1)))).toBe(true);
    expect(await b.collection('q').get('q')).toEqual({ _id: 'q', i: -1 });
    expect(await b.collection('p').get(ids[10_000]!)).toBeUndefined();
    await b.collection('p').upsert({ _id: ids[10_000]!, i: 10_000 });
    expect(await b.collection('p').count()).toBe(n);
    await b.close();
  });

  it('a SQLite file from before the JSON had its own column is moved over on open', async () => {
    const file = tempFile();
    const source = await Database.open({ replicaId: 'old' });
    // A JSON of 20 kB: its length takes three bytes in the stored form, one column in the new table.
    await source.collection('p').upsert({ _id: 'x', price: 3, stock: counter(4), notes: 'n'.repeat(20_000) });
    const sqlite = new Sqlite(file);
    sqlite.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE docs (collection TEXT NOT NULL, id TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID;`);
    sqlite.prepare('INSERT INTO meta VALUES (?, ?)').run('replica', Buffer.from('old'));
    for (const d of source.snapshot().docs)
      sqlite.prepare('INSERT INTO docs VALUES (?, ?, ?)').run(d.collection, d.id, d.stored);
    sqlite.close();
    const db = await Database.open({ storage: await SqliteStorage.open(file) });
    expect(db.replicaId).toBe('old');
    expect(await db.collection('p').get('x')).toMatchObject({ _id: 'x', price: 3, stock: 4 });
    await db.collection('p').update('x', (d) => {
      d.stock = (d.stock as number) + 1;
    });
    await db.close();
    const check = new Sqlite(file);
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'docs'").get()).toBeUndefined();
    check.close();
    const again = await Database.open({ storage: await SqliteStorage.open(file) });
    expect(await again.collection('p').get('x')).toEqual({
      _id: 'x',
      price: 3,
      stock: 5,
      notes: 'n'.repeat(20_000),
    });
    await again.close();
  });

  it('no one ever sees a version without its documents, even between microtasks of a commit', async () => {
    const db = await open('a');
    const c = db.collection('p');
    let done = false;
    const seen: string[] = [];
    const poll = () => {
      const snap = db.snapshot();
      if (snap.version.get(db.replicaId) > 0 && !snap.docs.some((d) => d.id === 'x'))
        seen.push('version without x');
      if (!done) queueMicrotask(poll);
    };
    queueMicrotask(poll);
    await c.upsert({ _id: 'x', v: 1 });
    done = true;
    await new Promise((r) => setTimeout(r, 0));
    expect(seen).toEqual([]);
  });

  it('documents beyond the decoded ones are decoded again, whole, for a write or a merge', async () => {
    const a = await open('a');
    const p = a.collection('p');
    const n = 1100; // more than a collection keeps decoded
    await p.upsertMany(
      Array.from({ length: n }, (_, i) => ({ _id: `d${i}`, stock: counter(i), name: `n${i}` })),
    );
    const b = await open('b');
    await b.applyChanges(await changesOf(a));
    await b.collection('p').update('d0', (d) => {
      d.stock = (d.stock as number) + 5;
    });
    await p.update('d0', (d) => {
      d.stock = (d.stock as number) + 1;
      d.name = 'first';
    });
    await b.collection('p').upsert({ _id: 'd1', name: 'from b' });
    await p.upsert({ _id: 'd1', name: 'from a' });
    await a.applyChanges(await changesOf(b));
    expect(await p.get('d0')).toEqual({ _id: 'd0', stock: 6, name: 'first' });
    expect((await p.conflicts('d1')).map((c) => c.path)).toEqual(['name']);
    expect(await p.count()).toBe(n);
  });

  it('an upsert of equal plain values decodes nothing: the stored JSON alone decides', async () => {
    const file = tempFile();
    const db = await Database.open({ storage: await SqliteStorage.open(file) });
    await db.collection('p').upsert({ _id: 'x', qty: 5, tags: ['a'] });
    await db.close();
    // Keep the stored JSON, break the stored CRDT beside it: any decoding now throws.
    const sqlite = new Sqlite(file);
    sqlite.prepare('UPDATE documents SET state = ? WHERE id = ?').run(Buffer.from([1, 99, 0]), 'x');
    sqlite.close();
    const again = await Database.open({ storage: await SqliteStorage.open(file) });
    const p = again.collection('p');
    const v = again.version();
    await p.upsert({ _id: 'x', qty: 5, tags: ['a'] });
    expect(again.version().equals(v)).toBe(true);
    await expect(p.upsert({ _id: 'x', qty: 6 })).rejects.toMatchObject({ name: 'DecodeError' });
    await again.close();
  });

  it('an upsert of equal values still writes when a wrapper changes the kind', async () => {
    const db = await open('a', { collections: { typed: { properties: { qty: 'counter' } } } });
    const p = db.collection('p');
    await p.upsert({ _id: 'x', qty: 5, tags: ['a'] });
    const v = db.version().get(db.replicaId);
    // Same value, new kind: the register becomes a counter, so concurrent increments add up.
    await p.upsert({ _id: 'x', qty: counter(5) });
    expect(db.version().get(db.replicaId)).toBe(v + 1);
    const b = await open('b');
    await b.applyChanges(await changesOf(db));
    await b.collection('p').update('x', (d) => {
      d.qty = (d.qty as number) + 1;
    });
    await p.update('x', (d) => {
      d.qty = (d.qty as number) + 2;
    });
    await db.applyChanges(await changesOf(b));
    expect((await p.get('x'))!.qty).toBe(8);
    const t = db.collection('typed');
    await t.upsert({ _id: 'y', qty: 1 });
    await expect(t.upsert({ _id: 'y', qty: 'one' })).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  });

  it('keeps the upload queue whole when a write of it fails midway (a crash between delete and write)', async () => {
    const file = tempFile();
    const sqlite = await SqliteStorage.open(file);
    let crash = false;
    // The storage as it is, but for the next write of the queue, which dies after its delete.
    const storage = Object.assign(Object.create(sqlite) as SqliteStorage, {
      putAttachment: (key: string, bytes: Uint8Array) => {
        if (crash && key.startsWith('uploads')) throw new Error('the process died here');
        return sqlite.putAttachment(key, bytes);
      },
    });
    const db = await open('a', { storage });
    const first = await db.attachments.put(new TextEncoder().encode('label 1'), 'text/plain');
    crash = true;
    await expect(db.attachments.put(new TextEncoder().encode('label 2'), 'text/plain')).rejects.toThrow(
      'the process died here',
    );
    await db.close();
    const again = await open('a', { storage: await SqliteStorage.open(file) });
    expect(await again.attachments.uploads()).toEqual([first]);
    const third = await again.attachments.put(new TextEncoder().encode('label 3'), 'text/plain');
    expect(await again.attachments.uploads()).toEqual([first, third]);
    await again.close();
  });

  it('reads an upload queue kept by an earlier version, and moves it on', async () => {
    const storage = new MemoryStorage();
    const ref = { $attachment: 'a'.repeat(64), size: 1, type: 'text/plain' };
    await storage.putAttachment('uploads', new TextEncoder().encode(JSON.stringify([ref])));
    const db = await open('a', { storage });
    expect(await db.attachments.uploads()).toEqual([ref]);
    const next = await db.attachments.put(new Uint8Array([1]), 'text/plain');
    expect(await db.attachments.uploads()).toEqual([ref, next]);
    expect(await storage.getAttachment('uploads')).toBeUndefined();
    await db.close();
  });

  it('stores attachments once by SHA-256 and fetches missing ones through the hook, checking the hash', async () => {
    const a = await open('a');
    const bytes = new TextEncoder().encode('a shelf label');
    const ref = await a.attachments.put(bytes, 'text/plain');
    expect(ref.$attachment).toMatch(/^[0-9a-f]{64}$/);
    await a.collection('p').upsert({ _id: 'x', label: ref });
    const b = await open('b');
    await b.applyChanges(await changesOf(a));
    const got = (await b.collection('p').get('x'))!.label as typeof ref;
    expect(await b.attachments.get(got)).toBeUndefined();
    b.attachments.setFetcher((r, offset) => a.attachments.read(r, offset));
    expect(new TextDecoder().decode(await b.attachments.get(got))).toBe('a shelf label');
    const c = await open('c');
    // Bytes of the right size but not those the hash names: refused, and nothing kept.
    c.attachments.setFetcher(async function* () {
      yield new Uint8Array(bytes.length);
    });
    await expect(c.attachments.get(got)).rejects.toMatchObject({ code: 'BAD_ATTACHMENT' });
    expect(await c.attachments.has(got)).toBe(false);
    c.attachments.setFetcher(async function* () {
      yield new Uint8Array([1]);
    });
    await expect(c.attachments.get(got)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('keeps a large attachment in pieces: a fetch cut off resumes where it stopped', async () => {
    const a = await open('big-a');
    const size = 3 * ATTACHMENT_PIECE_BYTES + 12_345;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff;
    const ref = await a.attachments.put(bytes, 'image/png');
    expect(await a.attachments.size(ref.$attachment)).toBe(size);
    const pieces: number[] = [];
    for await (const p of a.attachments.read(ref)) pieces.push(p.length);
    expect(pieces).toEqual([ATTACHMENT_PIECE_BYTES, ATTACHMENT_PIECE_BYTES, ATTACHMENT_PIECE_BYTES, 12_345]);

    const b = await open('big-b');
    const offsets: number[] = [];
    let cut = true;
    // The source sends 64 KiB at a time; the first transfer is cut off 2.5 pieces in.
    b.attachments.setFetcher(async function* (r, offset) {
      offsets.push(offset);
      for (let at = offset; at < r.size; at += 65_536) {
        if (cut && at >= 2.5 * ATTACHMENT_PIECE_BYTES) {
          cut = false;
          throw new Error('connection reset');
        }
        yield bytes.subarray(at, Math.min(r.size, at + 65_536));
      }
    });
    await expect(b.attachments.get(ref)).rejects.toThrow('connection reset');
    expect(await b.attachments.has(ref)).toBe(false);
    const got = await b.attachments.get(ref);
    // Resumed after the two whole pieces the first transfer stored, not from the start.
    expect(offsets).toEqual([0, 2 * ATTACHMENT_PIECE_BYTES]);
    // Megabytes compared at once: toEqual walks a typed array element by element (30 s for 3 MB).
    expect(Buffer.compare(got!, bytes)).toBe(0);
    const tail: Uint8Array[] = [];
    for await (const p of b.attachments.read(ref, size - 10)) tail.push(p);
    expect(tail).toEqual([bytes.subarray(size - 10)]);

    // A source that sends other bytes is refused, and what it sent is not kept.
    const c = await open('big-c');
    const other = bytes.slice();
    other[size - 1]! ^= 1;
    await expect(c.attachments.receive(ref, [other])).rejects.toMatchObject({ code: 'BAD_ATTACHMENT' });
    expect(await c.attachments.has(ref)).toBe(false);
    c.attachments.setFetcher(async function* (_r, offset) {
      expect(offset).toBe(0);
      yield bytes;
    });
    expect(Buffer.compare((await c.attachments.get(ref))!, bytes)).toBe(0);
  });
});
