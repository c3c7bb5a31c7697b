import type { ReplicaId } from '@concord/crdt';
import type BetterSqlite3 from 'better-sqlite3';
import { joinStored, splitStored } from '../StoredDocument.js';
import type { CollectionJson, Commit, DeferringStorage, StoredChange, StoredDoc } from './Storage.js';

/**
 * A document's JSON and CRDT state are columns of their own: opening reads the JSON of a whole
 * collection as one string and leaves the states for later (see DeferringStorage). An empty
 * JSON is a removed document.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL, id TEXT NOT NULL, json BLOB NOT NULL, state BLOB NOT NULL,
    PRIMARY KEY (collection, id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS removed ON documents (collection, id) WHERE length(json) = 0;
  CREATE TABLE IF NOT EXISTS changes (
    replica TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (replica, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS attachments (hash TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
`;

/** Documents whose JSON `loadJson` reads as one string. */
const JSON_RUN = 10_000;

/** A plain Uint8Array over a Buffer's bytes (a Buffer is one, but compares unlike one in tests). */
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * One SQLite file through better-sqlite3: WAL journal, `synchronous = FULL`, so a commit has
 * reached the disk when `commit` returns — the write-ahead log is fsynced at every transaction
 * (https://www.sqlite.org/pragma.html#pragma_synchronous). better-sqlite3 is loaded on first
 * open, so this module costs a browser bundle nothing.
 */
export class SqliteStorage implements DeferringStorage {
  private readonly insertChange: BetterSqlite3.Statement;
  private readonly putDoc: BetterSqlite3.Statement;
  private readonly deleteDoc: BetterSqlite3.Statement;
  private readonly putMeta: BetterSqlite3.Statement;
  private readonly getDoc: BetterSqlite3.Statement;
  private readonly getDocs: BetterSqlite3.Statement;

  private constructor(private readonly db: BetterSqlite3.Database) {
    this.insertChange = db.prepare('INSERT OR IGNORE INTO changes (replica, seq, data) VALUES (?, ?, ?)');
    this.putDoc = db.prepare(
      'INSERT OR REPLACE INTO documents (collection, id, json, state) VALUES (?, ?, ?, ?)',
    );
    this.deleteDoc = db.prepare('DELETE FROM documents WHERE collection = ? AND id = ?');
    this.putMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    this.getDoc = db.prepare('SELECT json, state FROM documents WHERE collection = ? AND id = ?').raw();
    this.getDocs = db
      .prepare('SELECT id, json, state FROM documents WHERE collection = ? AND id > ? ORDER BY id LIMIT ?')
      .raw();
  }

  static async open(path: string): Promise<SqliteStorage> {
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    const storage = new SqliteStorage(db);
    storage.migrate();
    return storage;
  }

  /** A file from before the JSON had its own column (table `docs`, whole stored forms): moved over, in one transaction. */
  private migrate(): void {
    const old = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'docs'").get();
    if (!old) return;
    this.db.transaction(() => {
      const rows = this.db.prepare('SELECT collection, id, state FROM docs').raw().all() as Array<
        [string, string, Buffer]
      >;
      for (const [collection, id, stored] of rows) this.put({ collection, id, state: bytes(stored) });
      this.db.exec('DROP TABLE docs');
    })();
  }

  private put(d: StoredDoc): void {
    const [json, state] = splitStored(d.state);
    this.putDoc.run(d.collection, d.id, json, state);
  }

  private readMeta(): Map<string, Uint8Array> {
    const meta = new Map<string, Uint8Array>();
    for (const [key, value] of this.db.prepare('SELECT key, value FROM meta').raw().all() as Array<
      [string, Buffer]
    >) {
      meta.set(key, bytes(value));
    }
    return meta;
  }

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    const rows = this.db.prepare('SELECT collection, id, json, state FROM documents').raw().all() as Array<
      [string, string, Buffer, Buffer]
    >;
    const docs = rows.map(([collection, id, json, state]) => ({
      collection,
      id,
      state: joinStored(bytes(json), bytes(state)),
    }));
    return { meta: this.readMeta(), docs };
  }

  async loadJson(): Promise<{ meta: Map<string, Uint8Array>; collections: CollectionJson[] }> {
    const collections: Array<{ collection: string; live: string[]; removed: string[] }> = [];
    const next = this.db
      .prepare('SELECT collection FROM documents WHERE collection > ? ORDER BY collection LIMIT 1')
      .pluck();
    // SQLite joins a run of documents' JSON (the BLOBs' bytes cast to the UTF-8 text they are):
    // one string per run crosses into JavaScript, not a row and two buffers per document. Runs,
    // not the whole collection: a string has a limit (SQLite's 1 GB, V8's 512 MB), a catalogue
    // of millions of products would pass it. The brackets are added here: in SQL, each || copies
    // the string again (15–20 ms more for 100,000 products when measured by hand).
    const run = this.db
      .prepare(
        `SELECT group_concat(CAST(json AS TEXT), ','), count(*), max(id) FROM (
           SELECT id, json FROM documents WHERE collection = ? AND id > ? AND length(json) > 0 ORDER BY id LIMIT ?)`,
      )
      .raw();
    // All collections' removed ids in one query through the partial index: asked per collection
    // (collection = ?), SQLite walks the collection's rows by primary key instead (~20 ms at
    // 100,000 documents, measured by hand).
    const removed = new Map<string, string[]>();
    for (const [c, id] of this.db
      .prepare('SELECT collection, id FROM documents WHERE length(json) = 0')
      .raw()
      .all() as Array<[string, string]>) {
      const ids = removed.get(c);
      if (ids) ids.push(id);
      else removed.set(c, [id]);
    }
    // Collection by collection, each found from the last through the primary key.
    for (let c = next.get('') as string | undefined; c !== undefined; c = next.get(c) as string | undefined) {
      const live: string[] = [];
      for (let after = ''; ; ) {
        const [json, count, last] = run.get(c, after, JSON_RUN) as [string | null, number, string | null];
        if (count > 0) live.push(`[${json}]`);
        if (count < JSON_RUN) break;
        after = last!;
      }
      collections.push({ collection: c, live, removed: removed.get(c) ?? [] });
    }
    return { meta: this.readMeta(), collections };
  }

  storedForm(collection: string, id: string): Uint8Array | undefined {
    const row = this.getDoc.get(collection, id) as [Buffer, Buffer] | undefined;
    return row && joinStored(bytes(row[0]), bytes(row[1]));
  }

  storedForms(collection: string, after: string, limit: number): StoredDoc[] {
    return (this.getDocs.all(collection, after, limit) as Array<[string, Buffer, Buffer]>).map(
      ([id, json, state]) => ({ collection, id, state: joinStored(bytes(json), bytes(state)) }),
    );
  }

  async commit(commit: Commit): Promise<void> {
    this.db.transaction(() => {
      for (const c of commit.changes) this.insertChange.run(c.replica, c.seq, c.bytes);
      for (const d of commit.docs) {
        if (d.state.length === 0) this.deleteDoc.run(d.collection, d.id);
        else this.put(d);
      }
      for (const [k, v] of commit.meta) this.putMeta.run(k, v);
    })();
  }

  async changes(replica: ReplicaId, after: number, limit = -1): Promise<StoredChange[]> {
    const rows = this.db
      .prepare('SELECT seq, data FROM changes WHERE replica = ? AND seq > ? ORDER BY seq LIMIT ?')
      .raw()
      .all(replica, after, limit) as Array<[number, Buffer]>;
    return rows.map(([seq, data]) => ({ replica, seq, bytes: bytes(data) }));
  }

  async compact(upTo: ReadonlyMap<ReplicaId, number>): Promise<void> {
    const del = this.db.prepare('DELETE FROM changes WHERE replica = ? AND seq <= ?');
    this.db.transaction(() => {
      for (const [replica, seq] of upTo) del.run(replica, seq);
    })();
  }

  async putAttachment(hash: string, data: Uint8Array): Promise<void> {
    this.db.prepare('INSERT OR IGNORE INTO attachments (hash, data) VALUES (?, ?)').run(hash, data);
  }

  async getAttachment(hash: string): Promise<Uint8Array | undefined> {
    const row = this.db.prepare('SELECT data FROM attachments WHERE hash = ?').raw().get(hash) as
      | [Buffer]
      | undefined;
    return row ? bytes(row[0]) : undefined;
  }

  async deleteAttachment(hash: string): Promise<void> {
    this.db.prepare('DELETE FROM attachments WHERE hash = ?').run(hash);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
