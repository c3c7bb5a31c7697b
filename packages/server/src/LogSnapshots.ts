import { pgIdent, SCHEMA_LOCK } from '@concord/db/internal';
import type pg from 'pg';

/** A node's database, whole, once it had applied the change log up to `seq`. */
export interface LogSnapshot {
  readonly seq: number;
  /** `encodeSnapshot` of the database. */
  readonly bytes: Uint8Array;
}

/**
 * A node's turn at taking a snapshot: another node holds the turn; the newest snapshot is
 * recent enough; or one was stored (and the log trimmed to `trimTo`, if more than 0).
 */
export type Turn =
  | { readonly kind: 'busy' }
  | { readonly kind: 'fresh'; readonly newest: number }
  | { readonly kind: 'stored'; readonly seq: number; readonly trimTo: number };

/** How many snapshots a deployment keeps: the stream is trimmed up to the oldest of them. */
const KEPT = 2;

/**
 * The compacted states of a deployment (DESIGN.md, Scale-out: PostgreSQL holds them), in
 * `<schema>.log_snapshots`: a node's database whole, with the change log's sequence it stands
 * for. They let the change log be trimmed — everything up to the older of the two kept is
 * purged from the stream — and a node that starts (or fell behind the trim) loads one and
 * replays only the stream's tail. Nodes take turns by a PostgreSQL advisory lock, so one node
 * at a time spends the CPU on a snapshot.
 */
export class LogSnapshots {
  private readonly table: string;
  private readonly lockKey: string;

  private constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.table = `${pgIdent(schema)}.log_snapshots`;
    this.lockKey = `concord log snapshots ${schema}`;
  }

  static async open(pool: pg.Pool, schema: string): Promise<LogSnapshots> {
    const s = new LogSnapshots(pool, schema);
    await pool.query(`${SCHEMA_LOCK}
      CREATE SCHEMA IF NOT EXISTS ${pgIdent(schema)};
      CREATE TABLE IF NOT EXISTS ${s.table} (
        seq bigint PRIMARY KEY, bytes bytea NOT NULL, taken_at timestamptz NOT NULL DEFAULT now());`);
    return s;
  }

  /** The sequence of the newest snapshot (0 if none), read on `on` (a pooled client in a turn). */
  async newest(on: pg.Pool | pg.PoolClient = this.pool): Promise<number> {
    const { rows } = await on.query(`SELECT coalesce(max(seq), 0)::text AS seq FROM ${this.table}`);
    return Number(rows[0].seq);
  }

  /**
   * The oldest snapshot a log whose first message is `firstSeq` continues: the one a node
   * loads to keep the longest tail of the log (clients' cursors within it catch up by delta).
   */
  async continuedAt(firstSeq: number): Promise<LogSnapshot | undefined> {
    // Ordered by the bigint column (node-postgres reads it as a string, hence `Number`): an
    // order by its text put 1206 before 903, and nodes loaded a snapshot past the stream's start.
    const { rows } = await this.pool.query(
      `SELECT seq, bytes FROM ${this.table} WHERE seq >= $1 ORDER BY seq LIMIT 1`,
      [firstSeq - 1],
    );
    if (rows.length === 0) return undefined;
    return { seq: Number(rows[0].seq), bytes: new Uint8Array(rows[0].bytes as Buffer) };
  }

  /**
   * Runs `take` if no other node is taking a snapshot and `due` says the newest is too old;
   * `take` returns the snapshot, which is stored; then `trim` purges the stream up to the older
   * of the newest two, and only once it has are the snapshots before that one dropped. The other
   * order lost the tail: snapshots dropped, then the purge failed (NATS away) or the node was
   * killed, and a node starting later found no snapshot at the stream's start — it loaded a
   * newer one, and every cursor in between was sent its subscriptions whole again. A failed
   * trim leaves the rows for the next turn, whose trim covers them.
   */
  async takeTurn(
    due: (newest: number) => boolean,
    take: () => Promise<LogSnapshot>,
    trim: (to: number) => Promise<void>,
  ): Promise<Turn> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query('SELECT pg_try_advisory_lock(hashtext($1)) AS got', [this.lockKey]);
      if (!rows[0].got) return { kind: 'busy' };
      try {
        const newest = await this.newest(client);
        if (!due(newest)) return { kind: 'fresh', newest };
        const s = await take();
        await client.query(
          `INSERT INTO ${this.table} (seq, bytes) VALUES ($1, $2) ON CONFLICT (seq) DO NOTHING`,
          [s.seq, Buffer.from(s.bytes.buffer, s.bytes.byteOffset, s.bytes.byteLength)],
        );
        const { rows: kept } = await client.query(
          `SELECT seq FROM ${this.table} ORDER BY seq DESC LIMIT ${KEPT}`,
        );
        const oldest = kept.length < KEPT ? 0 : Number(kept[KEPT - 1].seq);
        if (oldest > 0) {
          await trim(oldest);
          await client.query(`DELETE FROM ${this.table} WHERE seq < $1`, [oldest]);
        }
        return { kind: 'stored', seq: s.seq, trimTo: oldest };
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [this.lockKey]);
      }
    } finally {
      client.release();
    }
  }
}
