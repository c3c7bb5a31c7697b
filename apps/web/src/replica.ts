import { Database, IndexedDbStorage } from '@concord/db';

/**
 * This tab's replica of `kind` (the page's, or a store's): a database in IndexedDB named
 * `<kind>-<slot>` that no other tab uses at the same time. Two tabs
 * writing one database would both number their changes as the same replica, so each tab claims
 * a slot with the Web Locks API — the first one free — and keeps it until it closes. A reload
 * releases the slot and claims it again, so a tab keeps its replica (and its offline edits)
 * across reloads; a second tab gets a replica of its own.
 */
export async function openReplica(kind: string): Promise<{ db: Database; name: string }> {
  for (let slot = 0; ; slot++) {
    if (await claim(`${kind}-replica-${slot}`)) {
      const name = `${kind}-${slot}`;
      return { db: await Database.open({ storage: await IndexedDbStorage.open(name) }), name };
    }
  }
}

/** Takes the lock `name` if it is free, and holds it for the life of the page. */
function claim(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    void navigator.locks.request(name, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      // Held until the page goes away: the promise never settles.
      return lock ? new Promise<never>(() => undefined) : undefined;
    });
  });
}
