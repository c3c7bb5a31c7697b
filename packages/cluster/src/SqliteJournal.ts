import Database from 'better-sqlite3';
import type { EventJournal, Snapshot } from './EventJournal.js';
import type { JournalEvent } from './ReplicatedEvent.js';

/**
 * A replica's journal in a SQLite file (`synchronous = FULL`): appended events are on disk
 * when `append` resolves, so a replica killed mid-write recovers everything it acknowledged.
 */
export class SqliteJournal implements EventJournal {
  private readonly db: Database.Database;
  private readonly insertAll: (events: readonly JournalEvent[]) => void;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        persistence_id TEXT NOT NULL, position INTEGER NOT NULL,
        origin TEXT NOT NULL, seq INTEGER NOT NULL, event TEXT NOT NULL,
        PRIMARY KEY (persistence_id, position), UNIQUE (persistence_id, origin, seq));
      CREATE TABLE IF NOT EXISTS snapshots (persistence_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL);`);
    const next = this.db.prepare<[string], { n: number }>(
      'SELECT coalesce(max(position), 0) + 1 AS n FROM events WHERE persistence_id = ?',
    );
    const insert = this.db.prepare(
      'INSERT INTO events (persistence_id, position, origin, seq, event) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.insertAll = this.db.transaction((events: readonly JournalEvent[]) => {
      for (const e of events) {
        const { n } = next.get(e.persistenceId)!;
        insert.run(e.persistenceId, n, e.origin, e.seq, JSON.stringify(e));
      }
    });
  }

  async append(events: readonly JournalEvent[]): Promise<void> {
    this.insertAll(events);
  }

  async read(persistenceId: string, position = 0): Promise<JournalEvent[]> {
    return this.db
      .prepare<[string, number], { event: string }>(
        'SELECT event FROM events WHERE persistence_id = ? AND position > ? ORDER BY position',
      )
      .all(persistenceId, position)
      .map((r) => JSON.parse(r.event) as JournalEvent);
  }

  async saveSnapshot(persistenceId: string, snapshot: Snapshot): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO snapshots VALUES (?, ?) ON CONFLICT (persistence_id) DO UPDATE SET snapshot = excluded.snapshot',
      )
      .run(persistenceId, JSON.stringify(snapshot));
  }

  async loadSnapshot(persistenceId: string): Promise<Snapshot | undefined> {
    const row = this.db
      .prepare<[string], { snapshot: string }>('SELECT snapshot FROM snapshots WHERE persistence_id = ?')
      .get(persistenceId);
    return row && (JSON.parse(row.snapshot) as Snapshot);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
