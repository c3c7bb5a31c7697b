import type { Database } from './Database.js';
import type { Replica } from './Replica.js';

/** The replica core of each open database (`Database` registers its own). */
const cores = new WeakMap<Database, Replica>();

export function registerCore(db: Database, replica: Replica): void {
  cores.set(db, replica);
}

/**
 * `@concord/db/internal`: the replica core under `db` — what a sync client or a sync server
 * needs beyond the user's API (a server's batches, stored forms, previews, the log). Unstable.
 */
export function core(db: Database): Replica {
  const replica = cores.get(db);
  if (!replica) throw new TypeError('not a Database');
  return replica;
}
