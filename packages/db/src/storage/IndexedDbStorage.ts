/// <reference lib="dom" />
import type { ReplicaId } from '@concord/crdt';
import type { DBSchema, IDBPDatabase } from 'idb';
import type { Commit, Storage, StoredChange, StoredDoc } from './Storage.js';

interface Schema extends DBSchema {
  meta: { key: string; value: Uint8Array };
  docs: { key: [string, string]; value: StoredDoc };
  changes: { key: [string, number]; value: StoredChange };
  attachments: { key: string; value: Uint8Array };
}

/**
 * The browser's IndexedDB through `idb`. A commit is one readwrite transaction over every store,
 * opened with `durability: 'strict'` so that it completes only once flushed to disk (browsers
 * default to 'relaxed'). Values are structured-cloned, so stored bytes never alias the caller's.
 */
export class IndexedDbStorage implements Storage {
  private constructor(private readonly db: IDBPDatabase<Schema>) {}

  static async open(name: string): Promise<IndexedDbStorage> {
    const { openDB } = await import('idb');
    const db = await openDB<Schema>(name, 1, {
      upgrade(db) {
        db.createObjectStore('meta');
        db.createObjectStore('docs', { keyPath: ['collection', 'id'] });
        db.createObjectStore('changes', { keyPath: ['replica', 'seq'] });
        db.createObjectStore('attachments');
      },
    });
    return new IndexedDbStorage(db);
  }

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    const tx = this.db.transaction(['meta', 'docs']);
    const meta = new Map<string, Uint8Array>();
    const [keys, values, docs] = await Promise.all([
      tx.objectStore('meta').getAllKeys(),
      tx.objectStore('meta').getAll(),
      tx.objectStore('docs').getAll(),
    ]);
    for (const [i, k] of keys.entries()) meta.set(k, values[i]!);
    return { meta, docs };
  }

  async commit(commit: Commit): Promise<void> {
    const tx = this.db.transaction(['meta', 'docs', 'changes'], 'readwrite', { durability: 'strict' });
    const changes = tx.objectStore('changes');
    const docs = tx.objectStore('docs');
    const meta = tx.objectStore('meta');
    // Requests are queued in order; awaiting only the transaction keeps them pipelined.
    for (const c of commit.changes) void changes.put({ replica: c.replica, seq: c.seq, bytes: own(c.bytes) });
    for (const d of commit.docs) {
      if (d.state.length === 0) void docs.delete([d.collection, d.id]);
      else void docs.put({ collection: d.collection, id: d.id, state: own(d.state) });
    }
    for (const [k, v] of commit.meta) void meta.put(v, k);
    await tx.done;
  }

  async changes(replica: ReplicaId, after: number, limit?: number): Promise<StoredChange[]> {
    return this.db.getAll(
      'changes',
      IDBKeyRange.bound([replica, after], [replica, Number.MAX_SAFE_INTEGER], true),
      limit,
    );
  }

  async compact(upTo: ReadonlyMap<ReplicaId, number>): Promise<void> {
    const tx = this.db.transaction('changes', 'readwrite', { durability: 'strict' });
    for (const [replica, seq] of upTo) void tx.store.delete(IDBKeyRange.bound([replica, 0], [replica, seq]));
    await tx.done;
  }

  async putAttachment(hash: string, bytes: Uint8Array): Promise<void> {
    if ((await this.db.getKey('attachments', hash)) === undefined)
      await this.db.put('attachments', own(bytes), hash);
  }

  async getAttachment(hash: string): Promise<Uint8Array | undefined> {
    return this.db.get('attachments', hash);
  }

  async deleteAttachment(hash: string): Promise<void> {
    await this.db.delete('attachments', hash);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * The bytes in a buffer of their own. Structured cloning keeps a view's whole buffer, and the
 * database hands over views: a snapshot's or a sync chunk's documents are views of one buffer
 * (`readStoredColumns`) — stored as they are, each would take all of it. A copy by the
 * constructor, not `slice`: a Node Buffer's `slice` is a view.
 */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : new Uint8Array(bytes);
}
