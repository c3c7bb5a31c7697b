import type { ReplicaId } from '@concord/crdt';
import type BetterSqlite3 from 'better-sqlite3';
import type { Commit, Storage, StoredChange, StoredDoc } from './Storage.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS docs (
    collection TEXT NOT NULL, id TEXT NOT NULL, state BLOB NOT NULL, PRIMARY KEY (collection, id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS changes (
    replica TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (replica, seq)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS attachments (hash TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;
`;

/** A plain Uint8Array over a Buffer's bytes (a Buffer is one, but compares unlike one in tests). */
const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

/**
 * One SQLite file through better-sqlite3: WAL journal, `synchronous = FULL`, so a commit has
 * reached the disk when `commit` returns — the write-ahead log is fsynced at every transaction
 * (https://www.sqlite.org/pragma.html#pragma_synchronous). better-sqlite3 is loaded on first
 * open, so this module costs a browser bundle nothing.
 */
export class SqliteStorage implements Storage {
  private readonly insertChange: BetterSqlite3.Statement;
  private readonly putDoc: BetterSqlite3.Statement;
  private readonly deleteDoc: BetterSqlite3.Statement;
  private readonly putMeta: BetterSqlite3.Statement;

  private constructor(private readonly db: BetterSqlite3.Database) {
    this.insertChange = db.prepare('INSERT OR IGNORE INTO changes (replica, seq, data) VALUES (?, ?, ?)');
    this.putDoc = db.prepare('INSERT OR REPLACE INTO docs (collection, id, state) VALUES (?, ?, ?)');
    this.deleteDoc = db.prepare('DELETE FROM docs WHERE collection = ? AND id = ?');
    this.putMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  }

  static async open(path: string): Promise<SqliteStorage> {
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    return new SqliteStorage(db);
  }

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    const meta = new Map<string, Uint8Array>();
    for (const row of this.db.prepare('SELECT key, value FROM meta').all() as Array<{
      key: string;
      value: Buffer;
    }>) {
      meta.set(row.key, bytes(row.value));
    }
    const docs = (
      this.db.prepare('SELECT collection, id, state FROM docs').raw().all() as Array<[string, string, Buffer]>
    ).map(([collection, id, state]) => ({ collection, id, state }));
    return { meta, docs };
  }

  async commit(commit: Commit): Promise<void> {
    this.db.transaction(() => {
      for (const c of commit.changes) this.insertChange.run(c.replica, c.seq, c.bytes);
      for (const d of commit.docs) {
        if (d.state.length === 0) this.deleteDoc.run(d.collection, d.id);
        else this.putDoc.run(d.collection, d.id, d.state);
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

  async close(): Promise<void> {
    this.db.close();
  }
}
