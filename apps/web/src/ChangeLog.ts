import type { Change, ChangeEvent, Database } from '@concord/db';
import { Store } from './Store.js';

/** One line of the sync inspector's recent changes. */
export interface LoggedChange {
  readonly origin: ChangeEvent['origin'];
  readonly collection: string;
  readonly docId: string;
  /** The change itself; absent for a whole state the server sent (an initial sync, a document entering). */
  readonly change: Change | undefined;
}

/** The last `keep` changes this page saw, local and remote, newest first, from the moment it opened. */
export class ChangeLog extends Store<readonly LoggedChange[]> {
  constructor(db: Database, keep = 50) {
    super([]);
    db.onChange((e) => {
      const fresh: LoggedChange[] = e.changes.map((change) => ({
        origin: e.origin,
        collection: change.collection,
        docId: change.docId,
        change,
      }));
      // Documents the event changed without a change of their own: whole states from the server.
      const covered = new Set(e.changes.map((c) => `${c.collection}/${c.docId}`));
      for (const d of e.docs)
        if (!covered.has(`${d.collection}/${d.docId}`))
          fresh.push({ origin: e.origin, collection: d.collection, docId: d.docId, change: undefined });
      this.set([...fresh.reverse(), ...this.state()].slice(0, keep));
    });
  }
}
