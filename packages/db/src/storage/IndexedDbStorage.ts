/// <reference lib="dom" />
import type { ReplicaId } from '@concord/crdt';
import type { DBSchema, IDBPDatabase, IDBPTransaction, StoreNames } from 'idb';
import type { Commit, Storage, StoredChange, StoredDoc } from './Storage.js';

/** A document written on its own: `seq` orders it against runs (absent in version 1's rows: 0). */
interface DocRow extends StoredDoc {
  readonly seq?: number;
}

/**
 * The documents of one large commit, in one record: their keys (`<collection>\u0000<id>`) and
 * their states end to end (an empty state deletes). Its `seq` orders it against rows and other runs.
 */
interface DocRun {
  readonly seq: number;
  readonly keys: readonly string[];
  readonly states: Uint8Array;
  /** Where each state ends in `states`. */
  readonly ends: Uint32Array;
}

interface Schema extends DBSchema {
  meta: { key: string; value: Uint8Array };
  docs: { key: [string, string]; value: DocRow };
  runs: { key: number; value: DocRun };
  /** The last commit's sequence number, under `seq`. */
  counters: { key: string; value: number };
  changes: { key: [string, number]; value: StoredChange };
  attachments: { key: string; value: Uint8Array };
}

/**
 * Commits of at least this many documents are stored as one run: an initial sync's chunks of a
 * thousand documents each become one record instead of a thousand. IndexedDB's cost is per
 * record — a put structured-clones its value on the page's thread, ~30 µs each, and a load
 * deserialises each row — so a 100,000-product catalogue took 3.3 s of puts and 0.5 s to read
 * back in Chromium (profiled), where a hundred runs take milliseconds.
 */
const RUN = 64;

type StoreName = StoreNames<Schema>;

/**
 * The browser's IndexedDB through `idb`. A commit is one readwrite transaction over every store,
 * opened with `durability: 'strict'` so that it completes only once flushed to disk (browsers
 * default to 'relaxed'). Values are structured-cloned, so stored bytes never alias the caller's.
 *
 * Documents live in two forms: rows (`docs`, one per document, what small commits write) and
 * runs (`runs`, one per large commit). Every commit takes the next sequence number; a
 * document's state is the one written last — by sequence — in either form. Loading drops what
 * a later write superseded: rows older than a run holding their document, runs with nothing
 * left, deletions that no longer hide anything.
 */
export class IndexedDbStorage implements Storage {
  private constructor(
    private readonly db: IDBPDatabase<Schema>,
    private readonly unwrap: (tx: IDBPTransaction<Schema, StoreName[], 'readwrite'>) => IDBTransaction,
    /** The last commit's sequence number. */
    private seq: number,
  ) {}

  static async open(name: string): Promise<IndexedDbStorage> {
    const { openDB, unwrap } = await import('idb');
    const db = await openDB<Schema>(name, 2, {
      upgrade(db, from) {
        if (from < 1) {
          db.createObjectStore('meta');
          db.createObjectStore('docs', { keyPath: ['collection', 'id'] });
          db.createObjectStore('changes', { keyPath: ['replica', 'seq'] });
          db.createObjectStore('attachments');
        }
        if (from < 2) {
          db.createObjectStore('runs', { keyPath: 'seq' });
          db.createObjectStore('counters');
        }
      },
    });
    return new IndexedDbStorage(db, unwrap, (await db.get('counters', 'seq')) ?? 0);
  }

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    // Read-write: what the reads show superseded is deleted in the same transaction, before any
    // commit can write again.
    const tx = this.db.transaction(['meta', 'docs', 'runs'], 'readwrite');
    const [keys, values, rows, runs] = await Promise.all([
      tx.objectStore('meta').getAllKeys(),
      tx.objectStore('meta').getAll(),
      tx.objectStore('docs').getAll(),
      tx.objectStore('runs').getAll(),
    ]);
    const meta = new Map<string, Uint8Array>();
    for (const [i, k] of keys.entries()) meta.set(k, values[i]!);

    // The latest state of each document, runs in order of sequence, then rows where later.
    const latest = new Map<string, { seq: number; state: Uint8Array; collection: string; id: string }>();
    const live = new Map<number, number>();
    for (const run of runs) {
      let start = 0;
      for (const [i, key] of run.keys.entries()) {
        const end = run.ends[i]!;
        const sep = key.indexOf('\u0000');
        const was = latest.get(key);
        if (was) live.set(was.seq, (live.get(was.seq) ?? 0) - 1);
        latest.set(key, {
          seq: run.seq,
          state: run.states.subarray(start, end),
          collection: key.slice(0, sep),
          id: key.slice(sep + 1),
        });
        live.set(run.seq, (live.get(run.seq) ?? 0) + 1);
        start = end;
      }
    }
    const raw = this.unwrap(tx);
    const stale: Array<[string, string]> = [];
    for (const row of rows) {
      const key = `${row.collection}\u0000${row.id}`;
      const seq = row.seq ?? 0;
      const was = latest.get(key);
      if (was && was.seq > seq) stale.push([row.collection, row.id]);
      else if (was) {
        live.set(was.seq, (live.get(was.seq) ?? 0) - 1);
        latest.set(key, { seq, state: row.state, collection: row.collection, id: row.id });
      } else if (row.state.length === 0) stale.push([row.collection, row.id]);
      else latest.set(key, { seq, state: row.state, collection: row.collection, id: row.id });
    }
    for (const k of stale) raw.objectStore('docs').delete(k);
    for (const [seq, n] of live) if (n === 0) raw.objectStore('runs').delete(seq);
    await tx.done;

    const docs: StoredDoc[] = [];
    for (const d of latest.values())
      if (d.state.length > 0) docs.push({ collection: d.collection, id: d.id, state: d.state });
    return { meta, docs };
  }

  async commit(commit: Commit): Promise<void> {
    const tx = this.db.transaction(['meta', 'docs', 'runs', 'counters', 'changes'], 'readwrite', {
      durability: 'strict',
    });
    // Requests on the unwrapped stores: idb gives each request a promise and two listeners,
    // which cost 3.3 s of a 100,000-product initial sync in Chromium (profiled). Requests are
    // queued in order and the transaction's outcome is theirs: awaiting it is enough.
    const raw = this.unwrap(tx);
    const seq = this.seq + 1;
    const changes = raw.objectStore('changes');
    for (const c of commit.changes) changes.put({ replica: c.replica, seq: c.seq, bytes: own(c.bytes) });
    if (commit.docs.length >= RUN) raw.objectStore('runs').put(run(seq, commit.docs));
    else {
      const docs = raw.objectStore('docs');
      for (const d of commit.docs)
        docs.put({ collection: d.collection, id: d.id, state: own(d.state), seq } satisfies DocRow);
    }
    const meta = raw.objectStore('meta');
    for (const [k, v] of commit.meta) meta.put(v, k);
    raw.objectStore('counters').put(seq, 'seq');
    await tx.done;
    this.seq = seq;
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

/** `docs` as one run: their states copied end to end into one buffer. */
function run(seq: number, docs: readonly StoredDoc[]): DocRun {
  let size = 0;
  for (const d of docs) size += d.state.length;
  const states = new Uint8Array(size);
  const ends = new Uint32Array(docs.length);
  let at = 0;
  for (const [i, d] of docs.entries()) {
    states.set(d.state, at);
    at += d.state.length;
    ends[i] = at;
  }
  return { seq, keys: docs.map((d) => `${d.collection}\u0000${d.id}`), states, ends };
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
