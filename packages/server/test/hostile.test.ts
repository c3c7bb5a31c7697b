import { HybridLogicalClock, ORMap, replicaId, VersionVector } from '@concord/crdt';
import {
  type Change,
  Database,
  DbError,
  MemoryTransport,
  SyncError,
  type Transport,
  type WebSocketLike,
  WebSocketTransport,
} from '@concord/db';
import { core, encodeMessage, PROTOCOL_VERSION } from '@concord/db/internal';
import { type Authenticate, HttpServer, SyncServer } from '@concord/server';
import { mutate, SeededRng, seeds } from '@concord/testkit';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { client, contents, until } from './support.js';

/** `legit` may write everything; `reader` may only read; anything else does not verify. */
const authenticate: Authenticate = async (token) => {
  if (token === 'legit') return { subject: 'legit', grants: [{ collection: '*', read: true, write: true }] };
  if (token === 'reader') return { subject: 'reader', grants: [{ collection: '*', read: true }] };
  throw new SyncError('UNAUTHORIZED', 'bad token');
};

const HOSTILE = replicaId('hostile-replica');

/**
 * Valid frames a hostile peer mutates: its hello (a reader's token: it may not write), pushes of
 * real changes with content (so a push the server wrongly took would show up in its documents),
 * and messages only a server sends.
 */
async function templates(): Promise<{ hello: Uint8Array; frames: Uint8Array[] }> {
  const db = await Database.open({ replicaId: HOSTILE });
  for (let i = 0; i < 40; i++) await db.collection('products').upsert({ _id: `h${i}`, storeId: 1, price: i });
  const changes = await core(db).ownChanges(0);
  const hello = encodeMessage({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    replica: HOSTILE,
    token: 'reader',
    subscriptions: [{ collection: 'products', where: { storeId: 1 } }],
  });
  const frames = [
    hello,
    encodeMessage({ type: 'push', changes }),
    encodeMessage({ type: 'push', changes: changes.slice(0, 2) }),
    encodeMessage({ type: 'ping', n: 7 }),
    encodeMessage({ type: 'ack', seq: 3 }),
  ];
  return { hello, frames };
}

/**
 * Sends `count` hostile frames through connections from `open`: each connection starts with a
 * valid hello — so mutated pushes reach a live session — and the peer reconnects whenever the
 * server hangs up on it.
 */
async function attack(rng: SeededRng, count: number, open: () => Promise<Transport>): Promise<void> {
  const { hello, frames } = await templates();
  let conn: Transport | undefined;
  for (let i = 0; i < count; i++) {
    if (conn?.state !== 'open') {
      conn = await open();
      conn.send(hello);
    }
    try {
      conn.send(rng.chance(0.1) ? rng.pick(frames) : mutate(rng, frames));
    } catch (e) {
      if (!(e instanceof DbError && e.code === 'CLOSED')) throw e;
    }
    // Each frame reaches the server before the next is sent (a refused one ends the connection).
    await new Promise((r) => setImmediate(r));
  }
  conn?.close();
}

describe('hostile peers', () => {
  it.each(seeds(1))(
    '100,000 random and mutated frames from 4 connections: the server stays up, serves others, stores nothing of theirs (seed %i)',
    async (seed) => {
      const server = new SyncServer({
        db: await Database.open(),
        authenticate,
        limits: { messagesPerSecond: 1e9, burst: 1e9 },
      });
      await server.db.collection('products').upsert({ _id: 'p', storeId: 1, price: 1 });
      const legit = await client(server, { token: 'legit', subscriptions: [{ collection: 'products' }] });
      await legit.sync.synced();
      const rng = new SeededRng(seed);
      const open = async () => {
        const [a, b] = MemoryTransport.pair();
        server.accept(b);
        return a;
      };
      const writes = (async () => {
        for (let i = 0; i < 50; i++) {
          await legit.db.collection('products').upsert({ _id: `legit-${i}`, price: i });
          await new Promise((r) => setImmediate(r));
        }
      })();
      try {
        await Promise.all(
          [0, 1, 2, 3].map((k) => attack(new SeededRng(seed * 10 + k + rng.int(1000)), 25_000, open)),
        );
      } catch (e) {
        throw new Error(
          `hostile frames failed — replay with: SEED=${seed} npx vitest run packages/server/test/hostile.test.ts (${e})`,
        );
      }
      await writes;
      await legit.sync.synced();
      const docs = await contents(server.db, 'products');
      expect(docs.map((d) => (d as { _id: string })._id).sort()).toEqual(
        ['p', ...Array.from({ length: 50 }, (_, i) => `legit-${i}`)].sort(),
      );
      // Their pushes were refused (a reader's token): a refused change uses its dot so the log has
      // no gap, but nothing of its content is kept.
      const set = await server.db.changesSince(new VersionVector());
      const logged = set.kind === 'changes' ? set.changes.filter((c) => c.dot.replica === HOSTILE) : [];
      expect(logged.length).toBe(server.db.version().get(HOSTILE));
      for (const c of logged) expect(c.ops.equals(ORMap.empty())).toBe(true);
      // The server took in every frame: each connection it ended was ended for a reason it names.
      const ended = (await server.metrics.errors.get()).values.reduce((n, v) => n + v.value, 0);
      expect(ended).toBeGreaterThan(50_000);
      await legit.sync.close();
      await server.close();
    },
  );

  it('a change in another replica’s name (BAD_REPLICA), or a dot reused with other content (FORKED), ends the session and stores nothing', async () => {
    const server = new SyncServer({ db: await Database.open(), authenticate });
    const me = replicaId('me-replica');
    const other = replicaId('other-replica');
    const clock = new HybridLogicalClock(me);
    const change = (replica: typeof me, seq: number, docId: string): Change => ({
      dot: { replica, seq },
      hlc: clock.now(),
      collection: 'products',
      docId,
      ops: ORMap.empty(),
    });
    const session = async (frames: Uint8Array[]) => {
      const [a, b] = MemoryTransport.pair();
      server.accept(b);
      const closed = new Promise<number>((r) => a.onClose((i) => r(i.code)));
      a.send(
        encodeMessage({
          type: 'hello',
          protocol: PROTOCOL_VERSION,
          replica: me,
          token: 'legit',
          subscriptions: [{ collection: 'products' }],
        }),
      );
      for (const f of frames) a.send(f);
      return closed;
    };
    expect(await session([encodeMessage({ type: 'push', changes: [change(other, 1, 'x')] })])).toBe(4409);
    expect(server.db.version().get(other)).toBe(0);
    // A real change, acknowledged, then the same dot with other content.
    const db = await Database.open({ replicaId: me });
    await db.collection('products').upsert({ _id: 'y', price: 1 });
    const [real] = await core(db).ownChanges(0);
    await db.collection('products').upsert({ _id: 'z', price: 2 });
    const [, second] = await core(db).ownChanges(0);
    const forged = { ...second!, dot: real!.dot };
    const code = await session([
      encodeMessage({ type: 'push', changes: [real!] }),
      encodeMessage({ type: 'push', changes: [forged] }),
    ]);
    expect(code).toBe(new SyncError('FORKED', '').closeCode);
    expect(core(server.db).documentValue('products', 'y')).toMatchObject({ price: 1 });
    expect(core(server.db).documentValue('products', 'z')).toBeUndefined();
    await server.close();
  });

  it('over real WebSockets: text frames, oversized and garbage frames are refused; the server keeps serving', async () => {
    const sync = new SyncServer({
      db: await Database.open(),
      authenticate,
      limits: { maxMessageBytes: 64 * 1024 },
    });
    const http = await HttpServer.listen({ sync, port: 0 });
    const url = `ws://127.0.0.1:${http.port}/sync`;
    const connect = () =>
      WebSocketTransport.connect(url, (u) => new WebSocket(u) as unknown as WebSocketLike);
    const text = new WebSocket(url);
    await new Promise((r) => text.once('open', r));
    const textClosed = new Promise<number>((r) => text.once('close', (code) => r(code)));
    text.send('hello?');
    expect(await textClosed).toBe(1003);
    const big = new WebSocket(url);
    await new Promise((r) => big.once('open', r));
    const bigClosed = new Promise<number>((r) => big.once('close', (code) => r(code)));
    big.send(new Uint8Array(200 * 1024));
    expect(await bigClosed).toBe(1009);
    await attack(new SeededRng(42), 2000, connect);
    const legit = await Database.open();
    const s = legit.sync(url, { token: 'legit', subscriptions: [{ collection: 'products' }] });
    await legit.collection('products').upsert({ _id: 'after', price: 1 });
    await s.synced();
    await until(() => core(sync.db).documentValue('products', 'after') !== undefined, 'the legit write');
    expect((await fetch(`${http.url}/healthz`)).status).toBe(200);
    await s.close();
    await http.close();
  });
});
