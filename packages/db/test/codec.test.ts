import { DecodeError, FORMAT_VERSION, type Json, type ReplicaId, VersionVector } from '@concord/crdt';
import { Decoder, Encoder, writeTimestamp } from '@concord/crdt/internal';
import {
  type Change,
  Database,
  decodeChanges,
  decodeSnapshot,
  encodeChanges,
  encodeSnapshot,
  MemoryStorage,
} from '@concord/db';
import { decodeError, mutate, SeededRng, seeds } from '@concord/testkit';
import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { decodeLogged } from '../src/Change.js';
import type { Doc } from '../src/CollectionState.js';
import { core } from '../src/core.js';
import { Document } from '../src/Document.js';
import { INFLATE_ACCEPTANCE } from '../src/inflateAcceptance.js';
import {
  encodeStoredDocument,
  joinStored,
  readStoredDocuments,
  splitStored,
  storedDocument,
  storedValue,
  writeStoredForms,
} from '../src/StoredDocument.js';

const REPLICA = '0123456789abcdef0123456789abcdef';

async function catalogue(n: number): Promise<Database> {
  let wall = 1_700_000_000_000;
  const db = await Database.open({ replicaId: REPLICA, now: () => wall++ });
  await db.collection('products').upsertMany(
    Array.from({ length: n }, (_, i) => ({
      _id: `sku-${i}`,
      name: `Product ${i}`,
      price: i / 4,
      tags: ['a'],
    })),
  );
  return db;
}

async function log(db: Database): Promise<Change[]> {
  const set = await db.changesSince(new VersionVector());
  if (set.kind !== 'changes') throw new Error('expected changes');
  return set.changes;
}

/** A deflated message by hand: header, declared size, then `payload` as the deflate stream. */
function deflatedMessage(size: number, payload: Uint8Array): Uint8Array {
  const enc = new Encoder();
  enc.uint(size);
  enc.bytes(payload);
  return enc.finish(FORMAT_VERSION, 98);
}

describe('change batches and snapshots on the wire', () => {
  it('a large batch is deflated and decodes to the same changes; a small one is sent as it is', async () => {
    const db = await catalogue(300);
    const changes = await log(db);
    const bytes = encodeChanges(changes);
    expect(bytes[1]).toBe(98);
    const plainSize = encodeChanges(changes.slice(0, 1)).length;
    expect(bytes.length).toBeLessThan((plainSize * changes.length) / 3);
    const back = decodeChanges(bytes);
    expect(back.map((c) => [c.dot, c.docId, c.ops.value()])).toEqual(
      changes.map((c) => [c.dot, c.docId, c.ops.value()]),
    );
    expect(encodeChanges(changes.slice(0, 1))[1]).toBe(111);
  });

  it('a snapshot round-trips every document, grouped by collection', async () => {
    const db = await catalogue(200);
    await db.collection('stores').upsert({ _id: 's1', city: 'Lyon' });
    // A JSON of 20 kB: its length takes three bytes in the stored form.
    await db.collection('stores').upsert({ _id: 's2', notes: 'n'.repeat(20_000) });
    const snap = db.snapshot();
    const back = decodeSnapshot(encodeSnapshot(snap));
    expect(back.version.equals(snap.version)).toBe(true);
    // Decoded, each document comes with its JSON parsed: the stored form's.
    expect(back.docs).toEqual(snap.docs.map((d) => ({ ...d, value: storedValue(d.stored) })));
    const copy = await Database.open();
    await copy.applySnapshot(back);
    expect(await copy.collection('products').count()).toBe(200);
    expect(await copy.collection('stores').get('s1')).toMatchObject({ city: 'Lyon' });
    await copy.collection('stores').update('s2', (d) => {
      d.city = 'Nantes';
    });
    expect(await copy.collection('stores').get('s2')).toEqual({
      _id: 's2',
      city: 'Nantes',
      notes: 'n'.repeat(20_000),
    });
    // Adopted documents are written to as any other (their CRDT decoded on first write), and a
    // snapshot applied again over them joins instead of adopting.
    await copy.collection('products').update('sku-3', (d) => {
      d.price = 99;
    });
    await copy.applySnapshot(back);
    expect(await copy.collection('products').get('sku-3')).toMatchObject({ price: 99, name: 'Product 3' });
    expect(copy.version().get(copy.replicaId)).toBe(2);
  });

  it('a snapshot whose document JSON or state is not sound is refused whole', async () => {
    const snap = (await catalogue(3)).snapshot();
    const [a, b] = snap.docs;
    const broken = [
      // the JSON of another document
      { ...a!, stored: b!.stored },
      // a state cut short
      { ...a!, stored: a!.stored.subarray(0, a!.stored.length - 3) },
    ];
    // The products of one transaction share one state, checked once; one whose JSON lacks a
    // property that state refers to is not let through on the strength of the others.
    const [json, state] = splitStored(a!.stored);
    expect(splitStored(b!.stored)[1]).toEqual(state);
    const { name: _, ...unnamed } = JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
    broken.push({ ...a!, stored: joinStored(new TextEncoder().encode(JSON.stringify(unnamed)), state) });
    for (const bad of broken) {
      const db = await Database.open();
      await expect(db.applySnapshot({ ...snap, docs: [b!, bad] })).rejects.toMatchObject({
        code: 'BAD_CHANGE',
      });
      expect(await db.collection('products').count()).toBe(0);
      expect([...db.version().entries()]).toEqual([]);
    }
  });

  it('hostile deflated messages are DecodeErrors, with memory bounded by the input', () => {
    const ok = deflateSync(new Uint8Array(2000));
    // A size beyond what the stream could expand to is refused before anything is allocated.
    expect(decodeError(() => decodeChanges(deflatedMessage(2 ** 40, ok))).code).toBe('BAD_LENGTH');
    // A stream shorter than declared, a corrupt stream, a deflated message inside another.
    expect(decodeError(() => decodeChanges(deflatedMessage(3000, ok))).code).toBe('BAD_LENGTH');
    expect(
      decodeError(() => decodeChanges(deflatedMessage(2000, Uint8Array.of(0xff, 0xff, 0xff)))).code,
    ).toMatch(/BAD_VALUE|BAD_LENGTH/);
    const inner = deflatedMessage(2000, ok);
    expect(decodeError(() => decodeChanges(deflatedMessage(inner.length, deflateSync(inner)))).code).toBe(
      'BAD_TAG',
    );
    // Inflated bytes that are not a change batch.
    expect(decodeError(() => decodeChanges(deflatedMessage(2000, ok))).code).toBe('BAD_VERSION');
  });

  for (const c of INFLATE_ACCEPTANCE) it(`inflating beside: ${c.name}`, () => c.run());

  it('the log keeps a new document’s change as its stored form, read back as the change it was', async () => {
    const storage = new MemoryStorage();
    const db = await Database.open({ storage, replicaId: REPLICA });
    await db.collection('products').upsertMany([{ _id: 'a', price: 1.5, name: 'Milk' }, { _id: 'b' }]);
    await db.collection('products').update('a', (d) => {
      d.price = 2;
    });
    const logged = await storage.changes(REPLICA as never, 0);
    // The two new documents as their stored forms (kind 112), the update as a batch of one (111).
    expect(logged.map((c) => c.bytes[1])).toEqual([112, 112, 111]);
    const changes = await log(db);
    expect(logged.map((c) => decodeLogged(c.bytes).ops.value())).toEqual(changes.map((c) => c.ops.value()));
    expect(decodeLogged(logged[0]!.bytes)).toMatchObject({
      dot: { seq: 1 },
      collection: 'products',
      docId: 'a',
    });
    expect(decodeError(() => decodeLogged(encodeChanges(changes))).code).toBe('BAD_VALUE');
    const rng = new SeededRng(7);
    for (let i = 0; i < 2000; i++) {
      const input = mutate(
        rng,
        logged.map((c) => c.bytes),
      );
      try {
        decodeLogged(input);
      } catch (e) {
        if (!(e instanceof DecodeError)) throw new Error(`input ${i}: ${e}`, { cause: e });
      }
    }
  });

  for (const seed of seeds(3)) {
    it(`mutated batches and snapshots decode or fail with DecodeError, never anything else (seed ${seed})`, async () => {
      const rng = new SeededRng(seed);
      const db = await catalogue(40);
      const inputs = [
        encodeChanges(await log(db)),
        encodeSnapshot(db.snapshot()),
        encodeChanges((await log(db)).slice(0, 2)),
      ];
      for (let i = 0; i < 3000; i++) {
        const input = mutate(rng, inputs);
        for (const decode of [decodeChanges, decodeSnapshot]) {
          let decoded: ReturnType<typeof decode> | undefined;
          try {
            decoded = decode(input);
          } catch (e) {
            if (!(e instanceof DecodeError)) throw new Error(`seed ${seed}, input ${i}: ${e}`, { cause: e });
          }
          // A snapshot that decodes is applied whole or refused as a bad change.
          if (decoded && !Array.isArray(decoded)) {
            await (await Database.open()).applySnapshot(decoded).catch((e) => {
              if (e?.code !== 'BAD_CHANGE') throw new Error(`seed ${seed}, input ${i}: ${e}`, { cause: e });
            });
          }
        }
      }
    });
  }
});

describe('the stored state of a document written whole', () => {
  const product = (i: number) => ({
    _id: `sku-${i}`,
    name: `Crème ${i}`,
    price: i / 4,
    tags: ['a', { b: null }],
    // Integer-like keys come first in a JSON object's own order, last in code-unit order.
    '10': 'ten',
    '9': 'nine',
  });

  it('is the write’s timestamp alone, and decodes to the state the write made', async () => {
    const storage = new MemoryStorage();
    const db = await Database.open({ storage, replicaId: REPLICA, now: () => 1_700_000_000_000 });
    await db.collection('p').upsertMany([product(1), product(2)]);
    const state = core(db).storedDocument('p', 'sku-1')!;
    const [json, bytes] = splitStored(state);
    expect(bytes.length).toBeLessThan(32); // a header, the replica, the timestamp and a count
    expect(bytes[1]).toBe(115);
    // What a write per property would have made.
    const made = new Document();
    const value = JSON.parse(new TextDecoder().decode(json)) as Doc;
    made.state.setRegisters(
      { wall: 1_700_000_000_000, logical: 0, replica: REPLICA as ReplicaId },
      Object.keys(value).sort(),
      Object.keys(value)
        .sort()
        .map((k) => value[k] as Json),
    );
    const decoded = storedDocument(state);
    expect(decoded.state.equals(made.state)).toBe(true);
    expect(decoded.value('sku-1')).toEqual(value);
    // Equal states, equal stored forms: encoded again from the decoded document, and on a
    // replica that took the write as a change.
    expect(encodeStoredDocument(decoded.value('sku-1') as Doc, decoded)).toEqual(state);
    const other = await Database.open({ replicaId: 'fedcba9876543210fedcba9876543210' });
    await other.applyChanges(await log(db));
    expect(core(other).storedDocument('p', 'sku-1')).toEqual(state);
    // Changed since: a state of its own again, which keeps the change.
    await db.collection('p').update('sku-1', (d) => {
      d.price = 9;
    });
    const changed = core(db).storedDocument('p', 'sku-1')!;
    expect(splitStored(changed)[1][1]).toBe(99);
    expect(storedDocument(changed).value('sku-1')).toMatchObject({ price: 9, name: 'Crème 1' });
  });

  it('refuses a count that is not the JSON’s, and a timestamp out of range, as BAD_VALUE', async () => {
    const db = await Database.open({ replicaId: REPLICA, now: () => 1_700_000_000_000 });
    await db.collection('p').upsert(product(1));
    const [json, state] = splitStored(core(db).storedDocument('p', 'sku-1')!);
    const rewritten = (write: (enc: Encoder) => void) => {
      const enc = new Encoder();
      write(enc);
      return joinStored(json, enc.finish(FORMAT_VERSION, 115));
    };
    const ts = { wall: 1_700_000_000_000, logical: 0, replica: REPLICA as ReplicaId };
    const good = rewritten((enc) => {
      writeTimestamp(enc, ts);
      enc.uint(6);
    });
    expect([...splitStored(good)[1]]).toEqual([...state]);
    expect(storedDocument(good).value('sku-1')).toEqual(product(1));
    for (const count of [5, 7, 0]) {
      const bad = rewritten((enc) => {
        writeTimestamp(enc, ts);
        enc.uint(count);
      });
      expect(decodeError(() => storedDocument(bad)).code).toBe('BAD_VALUE');
    }
    const before1970 = rewritten((enc) => {
      writeTimestamp(enc, { ...ts, wall: -5 });
      enc.uint(6);
    });
    expect(decodeError(() => storedDocument(before1970)).code).toBe('BAD_VALUE');
  });
});

describe('stored documents read many at once', () => {
  const utf8 = new TextEncoder();
  const stored = (json: string) => joinStored(utf8.encode(json), new Uint8Array([1, 2, 3]));
  /** `forms` written one after another (`write`: how) and read back, with their JSON. */
  const many = (forms: readonly Uint8Array[], write = (enc: Encoder) => writeStoredForms(enc, forms)) => {
    const enc = new Encoder();
    write(enc);
    const dec = new Decoder(enc.finish(FORMAT_VERSION, 1));
    dec.header(FORMAT_VERSION);
    return readStoredDocuments(dec, forms.length);
  };

  it('gives the stored forms back, and what reading each alone gives: documents, undefined for removed ones', () => {
    const forms = [
      stored(JSON.stringify({ _id: 'p1', name: 'Crème fraîche', price: 2.49 })),
      stored(''),
      stored(JSON.stringify({ _id: 'p2', tags: ['a', { b: null }] })),
      // A JSON of 20 kB: its length takes three bytes in the stored form.
      stored(JSON.stringify({ _id: 'p3', notes: 'n'.repeat(20_000) })),
    ];
    const read = many(forms);
    expect(read.values).toEqual(forms.map((f) => storedValue(f)));
    expect(read.stored.map((f) => [...f])).toEqual(forms.map((f) => [...f]));
    expect(many([])).toEqual({ stored: [], values: [] });
  });

  it('a bad one fails as it fails alone', () => {
    for (const bad of ['{"_id":', '[1]', '{"name":"no id"}', '"text"', '{"_id":"x"}, {"_id":"y"}', 'null']) {
      const forms = [stored(JSON.stringify({ _id: 'ok' })), stored(bad)];
      const alone = decodeError(() => storedValue(forms[1]!));
      const together = decodeError(() => many(forms));
      // The same fault, found at another byte (in the message, not the stored form).
      const fault = (e: DecodeError) => [e.code, e.message.replace(/ at byte \d+/, '')];
      expect(fault(together)).toEqual(fault(alone));
    }
  });

  it('a stored form whose JSON runs past its end is TRUNCATED; one whose JSON length is written wide reads whole', () => {
    const form = stored(JSON.stringify({ _id: 'p1' }));
    // Declared three bytes long: its JSON runs on past them (into bytes that follow).
    const short = (enc: Encoder) => {
      enc.uint(3);
      enc.bytes(form);
    };
    expect(decodeError(() => many([form], short)).code).toBe('TRUNCATED');
    // The JSON's length in five bytes where one would do: the form is still all of it.
    const wide = Uint8Array.of(0x80 | (form[0]! & 0x7f), 0x80, 0x80, 0x80, 0, ...form.subarray(1));
    const read = many([wide]);
    expect([...read.stored[0]!]).toEqual([...wide]);
    expect(read.values).toEqual([{ _id: 'p1' }]);
  });

  it('a snapshot written before stored forms went one after another (two columns) still decodes', () => {
    // `encodeSnapshot` of kind 97, as version 1 wrote it: products sku-1 and sku-2 (removed),
    // store s1.
    const old = Buffer.from(COLUMN_SNAPSHOT, 'base64');
    expect(old[1]).toBe(97);
    const snap = decodeSnapshot(old);
    expect(snap.docs.map((d) => [d.collection, d.id, d.value])).toEqual([
      ['products', 'sku-1', { _id: 'sku-1', name: 'Crème fraîche', price: 2.49 }],
      ['products', 'sku-2', undefined],
      ['stores', 's1', { _id: 's1', city: 'Lyon' }],
    ]);
    // Written again, it is of the current kind and holds the same.
    const again = encodeSnapshot(snap);
    expect(again[1]).toBe(114);
    expect(decodeSnapshot(again)).toEqual(snap);
  });
});

const COLUMN_SNAPSHOT =
  'AWEBAAEjRWeJq83vASNFZ4mrze8BAAQDAQhwcm9kdWN0cwVza3UtMQAFc2t1LTIBBnN0b3JlcwJzMTV7Il9pZCI6InNrdS0xIiwibmFtZSI6IkNyw6htZSBmcmHDrmNoZSIsInByaWNlIjoyLjQ5fQAaeyJfaWQiOiJzMSIsImNpdHkiOiJMeW9uIn1CAWMBAAEjRWeJq83vASNFZ4mrze8BAAMAAwNfaWQKAQABgKCr/vliAAkEbmFtZQoBAAIAAAkFcHJpY2UKAQADAAAJGQFjAQABI0VniavN7wEjRWeJq83vAQADAAA1AWMBAAEjRWeJq83vASNFZ4mrze8BAAIAAgNfaWQKAQABgqCr/vliAAkEY2l0eQoBAAIAAAk=';
