import { VersionVector } from '@concord/crdt';
import { Decoder } from '@concord/crdt/internal';
import { type Change, Database, SYNC_ERROR_CODES, SyncError } from '@concord/db';
import {
  core,
  decodeMessage,
  encodeMessage,
  encodeMessageAsync,
  type Message,
  PROTOCOL_VERSION,
} from '@concord/db/internal';
import { mutate, SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';
import { inflatedSize, inflateMessage } from '../src/Deflated.js';
import { readStoredForms, storedValue } from '../src/StoredDocument.js';

const REPLICA = '0123456789abcdef0123456789abcdef';

async function sample(): Promise<{ changes: Change[]; stored: Uint8Array[]; version: VersionVector }> {
  let wall = 1_700_000_000_000;
  const db = await Database.open({ replicaId: REPLICA, now: () => wall++ });
  await db.collection('products').upsertMany(
    Array.from({ length: 50 }, (_, i) => ({
      _id: `sku-${String(i).padStart(3, '0')}`,
      name: `Product ${i}`,
      price: i / 4,
    })),
  );
  const set = await db.changesSince(new VersionVector());
  if (set.kind !== 'changes') throw new Error('expected changes');
  const stored = core(db)
    .documentIds('products')
    .map((id) => core(db).storedDocument('products', id)!);
  return { changes: set.changes, stored, version: db.version() };
}

/** One of every message, with enough in it to be deflated where it can be. */
async function everyMessage(): Promise<Message[]> {
  const { changes, stored, version } = await sample();
  const docs = stored.slice(0, 3).map((s, i) => ({ collection: 'products', id: `sku-00${i}`, stored: s }));
  return [
    {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      replica: REPLICA,
      token: 'a.b.c',
      subscriptions: [
        { collection: 'products', where: { storeId: 1, price: { $lt: 5 } } },
        { collection: 'orders', cursor: version },
        { collection: 'stores', resume: { version, after: 'sku-010', done: 11 } },
      ],
      chunksOverHttp: true,
    },
    { type: 'push', changes },
    { type: 'ping', n: 3 },
    { type: 'pong', n: 3 },
    { type: 'welcome', protocol: PROTOCOL_VERSION, server: 'server', acked: 12, time: 1_700_000_000_123 },
    {
      type: 'chunk',
      sub: 0,
      version,
      docs: stored,
      progress: { docs: 50, totalDocs: 50, bytes: 999, totalBytes: 999 },
    },
    {
      type: 'manifest',
      sub: 2,
      version,
      chunks: [
        { hash: 'a'.repeat(64), docs: 1000, bytes: 65_536 },
        { hash: '0123456789abcdef'.repeat(4), docs: 7, bytes: 300 },
      ],
    },
    {
      type: 'update',
      changes: changes.slice(0, 5),
      docs,
      evict: [{ collection: 'products', id: 'gone' }],
      version,
    },
    { type: 'update', changes: [], docs: [], evict: [], version: undefined },
    { type: 'synced', version },
    { type: 'ack', seq: 7 },
    { type: 'reject', dot: changes[0]!.dot, code: 'FORBIDDEN', message: 'no', doc: docs[0]! },
    { type: 'error', code: 'UNSUPPORTED_VERSION', message: 'speak 1' },
  ];
}

/** A message as plain data, for comparing what went in with what came out. */
function plain(m: unknown): unknown {
  return JSON.parse(
    JSON.stringify(m, (_k, v) => {
      if (v instanceof VersionVector) return v.toJSON();
      if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
      if (v && typeof v === 'object' && 'encodeTo' in v && 'value' in v)
        return (v as { value(): unknown }).value();
      return v;
    }),
  );
}

describe('the sync protocol’s messages', () => {
  it('every message round-trips; large ones are deflated', async () => {
    for (const m of await everyMessage()) {
      const frame = encodeMessage(m);
      const back = decodeMessage(frame);
      // A chunk comes back with its documents' JSON parsed, and — deflated — with the frame
      // itself, where its columns begin once inflated: what a storage may keep instead.
      if (back.type === 'chunk' && m.type === 'chunk') {
        const { values, packed, ...rest } = back;
        expect(values).toEqual(m.docs.map((d) => storedValue(d)));
        expect(packed?.deflated).toBe(frame);
        const inflated = new Decoder(inflateMessage(frame).subarray(packed!.at));
        expect(readStoredForms(inflated, packed!.count)).toEqual(m.docs);
        expect(plain(rest), m.type).toEqual(plain(m));
      } else expect(plain(back), m.type).toEqual(plain(m));
    }
    const push = encodeMessage((await everyMessage())[1]!);
    expect(push[1]).toBe(98);
  });

  it('deflated off the event loop, a message is the same bytes', async () => {
    // A kept snapshot's chunks are named by their SHA-256: the server's pool must not change them.
    for (const m of await everyMessage())
      expect(await encodeMessageAsync(m), m.type).toEqual(encodeMessage(m));
    // The chunk is large enough to be deflated: it went through the pool.
    const chunk = await encodeMessageAsync((await everyMessage()).find((m) => m.type === 'chunk')!);
    expect(inflateMessage(chunk)).not.toBe(chunk);
  });

  it('a frame over the limit is TOO_LARGE, before and after inflating', async () => {
    const chunk = encodeMessage((await everyMessage())[5]!);
    expect(chunk[1]).toBe(98);
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as SyncError;
      }
      throw new Error('no error');
    };
    expect(err(() => decodeMessage(chunk, chunk.length - 1)).code).toBe('TOO_LARGE');
    // Small on the wire, large once inflated: refused from its declared size, before inflating.
    const limit = inflatedSize(chunk) - 1;
    expect(chunk.length).toBeLessThan(limit / 2);
    expect(err(() => decodeMessage(chunk, limit)).code).toBe('TOO_LARGE');
    expect(decodeMessage(chunk, limit + 1).type).toBe('chunk');
  });

  it.each(seeds(3))(
    'random and mutated frames decode or fail with SyncError BAD_MESSAGE / TOO_LARGE / BAD_QUERY, never anything else (seed %i)',
    async (seed) => {
      const rng = new SeededRng(seed);
      const frames = (await everyMessage()).map(encodeMessage);
      for (let i = 0; i < 3000; i++) {
        const f = mutate(rng, frames);
        try {
          decodeMessage(f, 1 << 20);
        } catch (e) {
          if (!(e instanceof SyncError) || !['BAD_MESSAGE', 'TOO_LARGE', 'BAD_QUERY'].includes(e.code))
            throw new Error(`seed ${seed}, frame ${Buffer.from(f).toString('hex')}: ${e}`);
        }
      }
    },
  );

  it('a hello with a replica id that is no replica id is BAD_MESSAGE', () => {
    for (const replica of ['', 'x'.repeat(300)]) {
      const frame = encodeMessage({
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        replica,
        token: '',
        subscriptions: [],
      });
      expect(() => decodeMessage(frame)).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
    }
  });

  it('a hello from a client that predates chunks over HTTP asks for none; a manifest names chunks by SHA-256', () => {
    const hello = encodeMessage({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      replica: REPLICA,
      token: '',
      subscriptions: [],
    });
    // The hello as such a client wrote it: without the last byte.
    const raw = hello.slice(0, -1); // small: not deflated
    expect(decodeMessage(raw)).toMatchObject({ type: 'hello', chunksOverHttp: false });
    const manifest = encodeMessage({
      type: 'manifest',
      sub: 0,
      version: new VersionVector(),
      chunks: [{ hash: 'z'.repeat(64), docs: 1, bytes: 1 }],
    });
    expect(() => decodeMessage(manifest)).toThrow(expect.objectContaining({ code: 'BAD_MESSAGE' }));
  });

  it('every error code has its own close code', () => {
    const codes = SYNC_ERROR_CODES.map((c) => new SyncError(c, '').closeCode);
    expect(new Set(codes).size).toBe(codes.length);
  });
});
