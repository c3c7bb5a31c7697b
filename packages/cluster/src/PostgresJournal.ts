import type { Pool } from 'pg';
import type { EventJournal, Snapshot } from './EventJournal.js';
import type { JournalEvent } from './ReplicatedEvent.js';

export interface PostgresJournalOptions {
  readonly connectionString?: string;
  /** The schema its tables go in (created if absent). */
  readonly schema: string;
  /** Whose journal this is: replicas of several servers may share one database. */
  readonly replica: string;
}

const ident = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * A replica's journal in PostgreSQL, for servers: `<schema>.res_events` (one row per event,
 * in this replica's order) and `<schema>.res_snapshots`. An append is one transaction,
 * committed (durable) before it resolves; events it already holds are skipped.
 */
export class PostgresJournal implements EventJournal {
  private constructor(
    private readonly pool: Pool,
    private readonly s: string,
    private readonly replica: string,
  ) {}

  static async open(options: PostgresJournalOptions): Promise<PostgresJournal> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool(options.connectionString ? { connectionString: options.connectionString } : {});
    const s = ident(options.schema);
    // The advisory lock serialises replicas creating the tables at once (PostgreSQL's catalogue
    // races on concurrent CREATE … IF NOT EXISTS); the script runs as one transaction.
    await pool.query(`
      SELECT pg_advisory_xact_lock(hashtext('concord schema'));
      CREATE SCHEMA IF NOT EXISTS ${s};
      CREATE TABLE IF NOT EXISTS ${s}.res_events (
        replica text NOT NULL, persistence_id text NOT NULL, position bigint NOT NULL,
        origin text NOT NULL, seq bigint NOT NULL, event jsonb NOT NULL,
        PRIMARY KEY (replica, persistence_id, position), UNIQUE (replica, persistence_id, origin, seq));
      CREATE TABLE IF NOT EXISTS ${s}.res_snapshots (
        replica text NOT NULL, persistence_id text NOT NULL, snapshot jsonb NOT NULL,
        PRIMARY KEY (replica, persistence_id));
    `);
    return new PostgresJournal(pool, s, options.replica);
  }

  async append(events: readonly JournalEvent[]): Promise<void> {
    if (events.length === 0) return;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const e of events) {
        // One writer per replica (the entity runs one command or delivery at a time).
        await client.query(
          `INSERT INTO ${this.s}.res_events (replica, persistence_id, position, origin, seq, event)
           SELECT $1, $2, coalesce(max(position), 0) + 1, $3, $4, $5 FROM ${this.s}.res_events
           WHERE replica = $1 AND persistence_id = $2
           ON CONFLICT DO NOTHING`,
          [this.replica, e.persistenceId, e.origin, e.seq, JSON.stringify(e)],
        );
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async read(persistenceId: string, position = 0): Promise<JournalEvent[]> {
    const r = await this.pool.query<{ event: JournalEvent }>(
      `SELECT event FROM ${this.s}.res_events WHERE replica = $1 AND persistence_id = $2 AND position > $3 ORDER BY position`,
      [this.replica, persistenceId, position],
    );
    return r.rows.map((row) => row.event);
  }

  async saveSnapshot(persistenceId: string, snapshot: Snapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.res_snapshots VALUES ($1, $2, $3)
       ON CONFLICT (replica, persistence_id) DO UPDATE SET snapshot = excluded.snapshot`,
      [this.replica, persistenceId, JSON.stringify(snapshot)],
    );
  }

  async loadSnapshot(persistenceId: string): Promise<Snapshot | undefined> {
    const r = await this.pool.query<{ snapshot: Snapshot }>(
      `SELECT snapshot FROM ${this.s}.res_snapshots WHERE replica = $1 AND persistence_id = $2`,
      [this.replica, persistenceId],
    );
    return r.rows[0]?.snapshot;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
