import { Database, MemoryTransport, type SyncClient, type SyncOptions, type Transport } from '@concord/db';
import { type HttpServer, SyncServer, type SyncServerOptions } from '@concord/server';

/** A transport factory that connects to `server` in memory (what `db.sync` takes instead of a URL). */
export function linkTo(server: () => SyncServer): () => Promise<Transport> {
  return async () => {
    const [client, end] = MemoryTransport.pair();
    server().accept(end);
    return client;
  };
}

export async function serverWith(options: Partial<SyncServerOptions> = {}): Promise<SyncServer> {
  return new SyncServer({ db: await Database.open(), ...options });
}

/** A client database syncing with `server` over memory; fast reconnects. */
export async function client(
  server: SyncServer | (() => SyncServer),
  options: Partial<SyncOptions> & Pick<SyncOptions, 'subscriptions'>,
  db?: Database,
): Promise<{ db: Database; sync: SyncClient }> {
  const d = db ?? (await Database.open());
  const get = typeof server === 'function' ? server : () => server;
  const sync = d.sync(linkTo(get), { backoff: { minMs: 1, maxMs: 20 }, ...options });
  return { db: d, sync };
}

/** Every document of a collection, sorted by id: what replicas compare. */
export async function contents(db: Database, collection: string): Promise<unknown[]> {
  return db.collection(collection).find({ sort: { _id: 'asc' } });
}

/** A product catalogue over two stores' assortments: s1 carries every other product, s2 all. */
export const storeProducts = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    _id: `sku-${String(i).padStart(4, '0')}`,
    name: `Product ${i}`,
    price: 1 + i / 100,
    stores: i % 2 === 0 ? ['s1', 's2'] : ['s2'],
  }));

/** Reads a counter of the server's `/metrics`. */
export const metric = async (server: HttpServer, name: string) =>
  Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await server.sync.metrics.text())?.[1] ?? 0);

export { until } from '@concord/testkit';
