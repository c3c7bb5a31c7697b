import Database from 'better-sqlite3';
import type { EntryJson } from './Entry.js';
import type { ReplicatorStore } from './ReplicatorStore.js';

/**
 * A node's replicated entries in a SQLite file: one row per key, written in one transaction
 * per batch with `synchronous = FULL`, so an acknowledged write survives the process being
 * killed (and the machine losing power, as far as the disk keeps its word).
 */
export class SqliteReplicatorStore implements ReplicatorStore {
  private readonly db: Database.Database;
  private readonly put: Database.Statement<[string, string]>;
  private readonly saveAll: (entries: ReadonlyArray<readonly [string, EntryJson]>) => void;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS ddata (key TEXT PRIMARY KEY, entry TEXT NOT NULL) WITHOUT ROWID',
    );
    this.put = this.db.prepare(
      'INSERT INTO ddata (key, entry) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET entry = excluded.entry',
    );
    this.saveAll = this.db.transaction((entries: ReadonlyArray<readonly [string, EntryJson]>) => {
      for (const [key, entry] of entries) this.put.run(key, JSON.stringify(entry));
    });
  }

  *load(): Iterable<[string, EntryJson]> {
    for (const row of this.db.prepare('SELECT key, entry FROM ddata').iterate() as Iterable<{
      key: string;
      entry: string;
    }>) {
      yield [row.key, JSON.parse(row.entry) as EntryJson];
    }
  }

  save(entries: ReadonlyArray<readonly [string, EntryJson]>): void {
    this.saveAll(entries);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
