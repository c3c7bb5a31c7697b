import { counter, Database, MemoryStorage, type SyncClient, type Transport } from '@concord/db';
import { core } from '@concord/db/internal';
import { SyncServer } from '@concord/server';
import { replicaContents, SeededRng, seeds } from '@concord/testkit';
import { SimClock, SimLink } from '@concord/testkit/simulation';
import { describe, expect, it } from 'vitest';

const CLIENTS = 10;
const STEPS = 120;
const IDS = Array.from({ length: 12 }, (_, i) => `p${i}`);
/** Documents with a counter: incremented by whoever holds them, moved between stores, never removed. */
const COUNTERS = Array.from({ length: 4 }, (_, i) => `c${i}`);
/** Clients 0 and 1 replicate one store's products only; the rest the whole collection. */
const partial = (i: number) => i < 2;
const STORE = { storeId: 1 };

interface Client {
  db: Database;
  sync: SyncClient;
  readonly storage: MemoryStorage;
}

/**
 * A server and ten clients over simulated links (sync/Protocol end to end): random writes,
 * removals and store moves; links cut at random (losing frames in flight), delays that let an
 * old connection's frames arrive after a new one's, resends after reconnects, clients restarting
 * from their storage (outbox and cursors survive), and one server restart from its storage.
 * Counters are incremented while their documents move in and out of the filtered clients'
 * subscriptions. Then the network heals: everyone must agree, and every counter must hold
 * exactly the increments its writers made.
 */
async function simulate(seed: number): Promise<void> {
  const rng = new SeededRng(seed);
  const clock = new SimClock();
  const storage = new MemoryStorage();
  const links = new Set<SimLink>();
  const openServer = async () =>
    new SyncServer({
      db: await Database.open({ storage, replicaId: 'server', now: clock.now }),
      timers: clock,
      now: clock.now,
      limits: { heartbeatMs: 5_000, chunkBytes: 512 },
    });
  let server = await openServer();
  const connect = async (): Promise<Transport> => {
    const link = new SimLink(clock, rng, 20);
    links.add(link);
    link.client.onClose(() => links.delete(link));
    server.accept(link.server);
    return link.client;
  };
  const start = async (i: number, storage: MemoryStorage): Promise<Client> => {
    const db = await Database.open({ storage, replicaId: `client-${i}`, now: clock.now });
    const sync = db.sync(connect, {
      subscriptions: [partial(i) ? { collection: 'products', where: STORE } : { collection: 'products' }],
      timers: clock,
      random: () => rng.int(1000) / 1000,
      backoff: { minMs: 10, maxMs: 2_000 },
      idleTimeoutMs: 12_000,
    });
    return { db, sync, storage };
  };
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await start(i, new MemoryStorage()));
  await server.db
    .collection('products')
    .upsertMany([
      ...IDS.slice(0, 6).map((id, k) => ({ _id: id, storeId: 1 + (k % 2), price: k })),
      ...COUNTERS.map((id, k) => ({ _id: id, storeId: 1 + (k % 2), n: counter(0) })),
    ]);
  const sums = new Map(COUNTERS.map((id) => [id, 0]));

  const restartAt = rng.int(STEPS);
  for (let step = 0; step < STEPS; step++) {
    const r = rng.int(100);
    const c = rng.pick(clients);
    const products = c.db.collection('products');
    const id = rng.pick(IDS);
    if (r < 40) await products.upsert({ _id: id, price: rng.int(100), [`f${rng.int(3)}`]: rng.int(10) });
    else if (r < 48) await products.upsert({ _id: id, storeId: 1 + rng.int(2) });
    else if (r < 52) await products.remove(id);
    else if (r < 58)
      await server.db
        .collection('products')
        .upsert({ _id: id, price: rng.int(100), storeId: 1 + rng.int(2) });
    else if (r < 72) {
      // Half the counter work is the filtered clients': their documents come and go as they move.
      const mine = rng.int(2) === 0 ? clients[rng.int(2)]!.db.collection('products') : products;
      const cid = rng.pick(COUNTERS);
      const by = 1 + rng.int(5);
      if (rng.int(3) === 0)
        await rng
          .pick([mine, server.db.collection('products')])
          .upsert({ _id: cid, storeId: 1 + rng.int(2) });
      // A filtered client that moved a document it did not hold has only what it wrote of it.
      else if (typeof (await mine.get(cid))?.n === 'number') {
        await mine.update(cid, (d) => {
          d.n = (d.n as number) + by;
        });
        sums.set(cid, sums.get(cid)! + by);
      }
    } else if (r < 82 && links.size > 0) rng.pick([...links]).cut();
    else if (r < 86) {
      // A device restarts: whatever it had not sent yet must still be sent, from its storage.
      const i = clients.indexOf(c);
      await c.sync.close();
      await c.db.close();
      clients[i] = await start(i, c.storage);
    }
    if (step === restartAt) {
      for (const l of [...links]) l.cut();
      await SimClock.settle();
      await server.close();
      await server.db.close();
      server = await openServer();
    }
    await clock.run(() => false, rng.int(200));
  }

  // Heal: no more cuts; run until every client is live and acknowledged, and nothing is in flight.
  const synced = clients.map(() => false);
  clients.forEach((c, i) => void c.sync.synced().then(() => (synced[i] = true)));
  const healed = await clock.run(() => synced.every(Boolean), 600_000);
  const stuck = clients.flatMap((c, i) =>
    synced[i]
      ? []
      : [
          `${i}: ${c.sync.status}, acked ${c.sync.acknowledged} of ${c.db.version().get(c.db.replicaId)}, ${c.sync.lastError?.code} ${c.sync.lastError?.message}`,
        ],
  );
  expect(healed, `clients not synced: ${stuck.join('; ')}`).toBe(true);
  await clock.run(() => false, 1_000);

  for (const [cid, sum] of sums)
    expect(core(server.db).documentValue('products', cid)?.n, `${cid}'s sum`).toBe(sum);
  // Documents, conflicts and property kinds: the CRDT states agree, not only their values.
  const serverHolds = await replicaContents(server.db, ['products']);
  const storeHolds = await replicaContents(server.db, ['products'], STORE);
  for (const [i, c] of clients.entries()) {
    // Every change a client made is on the server.
    expect(server.db.version().get(c.db.replicaId), `client ${i}'s changes`).toBe(
      c.db.version().get(c.db.replicaId),
    );
    const mine = await replicaContents(c.db, ['products']);
    expect(mine, `client ${i}`).toEqual(partial(i) ? storeHolds : serverHolds);
  }
  for (const c of clients) await c.sync.close();
  await server.close();
}

describe('seeded simulation: a server and ten clients over faulty links', () => {
  it.each(seeds(100))('seed %i converges', async (seed) => {
    try {
      await simulate(seed);
    } catch (e) {
      throw new Error(
        `sync simulation failed — replay with: SEED=${seed} npx vitest run packages/server/test/simulation.test.ts\n${(e as Error).message}`,
      );
    }
  });
});
