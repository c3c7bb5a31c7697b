import { Database, MemoryTransport, type SyncClient, type SyncOptions, type Transport } from '@concord/db';
import { SyncServer, type SyncServerOptions } from '@concord/server';

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

export { until } from '@concord/testkit';
