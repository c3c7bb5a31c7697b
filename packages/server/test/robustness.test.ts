import { Database, MemoryTransport, type Transport } from '@concord/db';
import { core, decodeMessage, encodeMessage, PROTOCOL_VERSION } from '@concord/db/internal';
import { SimClock } from '@concord/testkit/simulation';
import { describe, expect, it } from 'vitest';
import { client, contents, serverWith } from './support.js';

/** A client end whose socket claims a large unread backlog (a peer that stopped reading). */
class Stalled extends MemoryTransport {
  override get buffered(): number {
    return 1e9;
  }
}

function raw(
  server: { accept(t: Transport): void },
  Server = MemoryTransport,
): { client: MemoryTransport; closed: Promise<number> } {
  const [a, b] = MemoryTransport.pair();
  const end = Object.setPrototypeOf(b, Server.prototype) as MemoryTransport;
  server.accept(end);
  return { client: a, closed: new Promise((r) => a.onClose((i) => r(i.code))) };
}

const hello = (replica: string) =>
  encodeMessage({
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    replica,
    token: '',
    subscriptions: [{ collection: 'products' }],
  });

describe('server robustness', () => {
  it('an interrupted initial snapshot resumes after the last chunk received', async () => {
    const server = await serverWith({ limits: { chunkBytes: 1000 } });
    await server.db.collection('products').upsertMany(
      Array.from({ length: 400 }, (_, i) => ({
        _id: `p${String(i).padStart(3, '0')}`,
        name: `product ${i}`,
        price: i,
      })),
    );
    let current: MemoryTransport | undefined;
    const db = await Database.open();
    const sync = db.sync(
      async () => {
        const [a, b] = MemoryTransport.pair();
        server.accept(b);
        current = a;
        return a;
      },
      { subscriptions: [{ collection: 'products' }], backoff: { minMs: 1, maxMs: 5 } },
    );
    const progress: number[] = [];
    let cut = false;
    sync.on('progress', (p) => {
      progress.push(p.docs);
      if (!cut && p.docs >= 100) {
        cut = true;
        current!.close({ code: 1006, reason: 'cable pulled' });
      }
    });
    await sync.synced();
    expect(await contents(db, 'products')).toEqual(await contents(server.db, 'products'));
    const firstAfterCut = progress.findIndex((d, i) => i > 0 && d <= progress[i - 1]!);
    expect(firstAfterCut, `progress: ${progress.join(',')}`).toBe(-1); // never restarted from 0
    const sent = (await server.metrics.changesOut.get()).values[0]!.value;
    expect(sent).toBeLessThan(400 + 40); // at most a chunk or so sent twice
    await sync.close();
    await server.close();
  });

  it('a client that stops reading is dropped with SLOW_CONSUMER; others are not delayed', async () => {
    // The server's waiting runs on a simulated clock: a heartbeat period passes in no time.
    const clock = new SimClock();
    const server = await serverWith({
      db: await Database.open({ now: clock.now }),
      limits: { heartbeatMs: 100 },
      timers: clock,
      now: clock.now,
    });
    await server.db.collection('products').upsert({ _id: 'x', price: 1 });
    const stalled = raw(server, Stalled);
    let stalledCode: number | undefined;
    void stalled.closed.then((code) => (stalledCode = code));
    stalled.client.send(hello('stalled-replica'));
    const healthy = await client(server, { subscriptions: [{ collection: 'products' }], timers: clock });
    let synced = false;
    void healthy.sync.synced().then(() => (synced = true));
    expect(await clock.run(() => synced, 1_000)).toBe(true);
    expect(await clock.run(() => stalledCode !== undefined, 1_000)).toBe(true);
    expect(stalledCode).toBe(4503);
    let price: unknown;
    healthy.db.collection('products').observe({ where: { _id: 'x' } }, (docs) => (price = docs[0]?.price));
    await server.db.collection('products').upsert({ _id: 'x', price: 2 });
    expect(await clock.run(() => price === 2, 1_000), 'healthy client served').toBe(true);
    await healthy.sync.close();
    await server.close();
  });

  it('another protocol version gets UNSUPPORTED_VERSION and a close', async () => {
    const server = await serverWith();
    const { client: c, closed } = raw(server);
    const said: string[] = [];
    c.onMessage((f) => {
      const m = decodeMessage(f);
      if (m.type === 'error') said.push(m.code);
    });
    c.send(
      encodeMessage({
        type: 'hello',
        protocol: PROTOCOL_VERSION + 1,
        replica: 'future-replica',
        token: '',
        subscriptions: [{ collection: 'products' }],
      }),
    );
    expect(await closed).toBe(4426);
    expect(said).toEqual(['UNSUPPORTED_VERSION']);
    await server.close();
  });

  it('a silent connection is dropped after two heartbeats', async () => {
    const clock = new SimClock();
    const server = await serverWith({ limits: { heartbeatMs: 30_000 }, timers: clock, now: clock.now });
    const { client: c, closed } = raw(server);
    let code: number | undefined;
    void closed.then((k) => (code = k));
    c.send(hello('silent-replica'));
    // Not after one period, which a ping answers for a live client; after two of silence.
    await clock.run(() => false, 45_000);
    expect(code).toBeUndefined();
    expect(await clock.run(() => code !== undefined, 60_000)).toBe(true);
    expect(code).toBe(4408);
    expect(server.connections).toBe(0);
    await server.close();
  });

  it('a connection over its message rate is closed with RATE_LIMITED', async () => {
    const server = await serverWith({ limits: { messagesPerSecond: 10, burst: 20 } });
    const { client: c, closed } = raw(server);
    c.send(hello('chatty-replica'));
    for (let i = 0; i < 50; i++) c.send(encodeMessage({ type: 'ping', n: i }));
    expect(await closed).toBe(4429);
    await server.close();
  });

  it('graceful shutdown answers what is being handled, then closes with SHUTDOWN; clients reconnect to the next server', async () => {
    let server = await serverWith();
    const c = await client(() => server, { subscriptions: [{ collection: 'products' }] });
    await c.sync.synced();
    const statuses: string[] = [];
    c.sync.on('status', (s) => statuses.push(s));
    await c.db.collection('products').upsert({ _id: 'late', price: 1 });
    const old = server;
    const db = old.db;
    await old.close();
    server = await serverWith({ db });
    await c.sync.synced();
    expect(statuses).toContain('offline');
    expect(core(db).documentValue('products', 'late')).toMatchObject({ price: 1 });
    await c.sync.close();
    await server.close();
  });
});
