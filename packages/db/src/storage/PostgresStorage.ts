import type { ReplicaId } from '@concord/crdt';
import type { Pool } from 'pg';
import { pgIdent as ident } from './pgIdent.js';
import type { Commit, Storage, StoredChange, StoredDoc } from './Storage.js';
import { SCHEMA_LOCK } from './schemaLock.js';

export interface PostgresOptions {
  /** libpq connection string; defaults to the PG* environment variables, as `pg` reads them. */
  readonly connectionString?: string;
  /** The schema holding this store's tables (created if absent): one store per schema. */
  readonly schema: string;
}

const bytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const buffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * PostgreSQL through `pg`: the server-side store. A commit is one SQL transaction; PostgreSQL's
 * default `synchronous_commit = on` makes COMMIT return only once the WAL is flushed, so the
 * commit is durable when `commit` resolves. Rows are written in bulk with `unnest`, one
 * statement per table however large the commit. `pg` is loaded on first open.
 */
export class PostgresStorage implements Storage {
  private constructor(
    private readonly pool: Pool,
    private readonly s: string,
  ) {}

  static async open(options: PostgresOptions): Promise<PostgresStorage> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool(options.connectionString ? { connectionString: options.connectionString } : {});
    const s = ident(options.schema);
    await pool.query(`
      ${SCHEMA_LOCK}
      CREATE SCHEMA IF NOT EXISTS ${s};
      CREATE TABLE IF NOT EXISTS ${s}.meta (key text PRIMARY KEY, value bytea NOT NULL);
      CREATE TABLE IF NOT EXISTS ${s}.docs (
        collection text NOT NULL, id text NOT NULL, state bytea NOT NULL, PRIMARY KEY (collection, id));
      CREATE TABLE IF NOT EXISTS ${s}.changes (
        replica text NOT NULL, seq bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (replica, seq));
      CREATE TABLE IF NOT EXISTS ${s}.attachments (hash text PRIMARY KEY, data bytea NOT NULL);
    `);
    return new PostgresStorage(pool, s);
  }

  async load(): Promise<{ meta: Map<string, Uint8Array>; docs: StoredDoc[] }> {
    const meta = new Map<string, Uint8Array>();
    const m = await this.pool.query<{ key: string; value: Buffer }>(`SELECT key, value FROM ${this.s}.meta`);
    for (const row of m.rows) meta.set(row.key, bytes(row.value));
    const d = await this.pool.query<{ collection: string; id: string; state: Buffer }>(
      `SELECT collection, id, state FROM ${this.s}.docs`,
    );
    return { meta, docs: d.rows.map((r) => ({ collection: r.collection, id: r.id, state: bytes(r.state) })) };
  }

  async commit(commit: Commit): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (commit.changes.length > 0) {
        await client.query(
          `INSERT INTO ${this.s}.changes (replica, seq, data)
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[]) ON CONFLICT DO NOTHING`,
          [
            commit.changes.map((c) => c.replica),
            commit.changes.map((c) => c.seq),
            commit.changes.map((c) => buffer(c.bytes)),
          ],
        );
      }
      if (commit.docs.length > 0) {
        // One row per document: the last state given for a document is the one kept.
        const last = new Map(commit.docs.map((d) => [`${d.collection}\u0000${d.id}`, d]));
        const gone = [...last.values()].filter((d) => d.state.length === 0);
        const docs = [...last.values()].filter((d) => d.state.length > 0);
        if (gone.length > 0)
          await client.query(
            `DELETE FROM ${this.s}.docs d USING unnest($1::text[], $2::text[]) AS g(collection, id)
             WHERE d.collection = g.collection AND d.id = g.id`,
            [gone.map((d) => d.collection), gone.map((d) => d.id)],
          );
        if (docs.length > 0)
          await client.query(
            `INSERT INTO ${this.s}.docs (collection, id, state)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])
           ON CONFLICT (collection, id) DO UPDATE SET state = excluded.state`,
            [docs.map((d) => d.collection), docs.map((d) => d.id), docs.map((d) => buffer(d.state))],
          );
      }
      for (const [k, v] of commit.meta) {
        await client.query(
          `INSERT INTO ${this.s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
          [k, buffer(v)],
        );
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK');
      throw e;
    } finally {
      client.release();
    }
  }

  async changes(replica: ReplicaId, after: number, limit?: number): Promise<StoredChange[]> {
    const r = await this.pool.query<{ seq: string; data: Buffer }>(
      `SELECT seq, data FROM ${this.s}.changes WHERE replica = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [replica, after, limit ?? null],
    );
    return r.rows.map((row) => ({ replica, seq: Number(row.seq), bytes: bytes(row.data) }));
  }

  async compact(upTo: ReadonlyMap<ReplicaId, number>): Promise<void> {
    if (upTo.size === 0) return;
    await this.pool.query(
      `DELETE FROM ${this.s}.changes c USING unnest($1::text[], $2::bigint[]) AS h(replica, seq)
       WHERE c.replica = h.replica AND c.seq <= h.seq`,
      [[...upTo.keys()], [...upTo.values()]],
    );
  }

  async putAttachment(hash: string, data: Uint8Array): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.attachments (hash, data) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [hash, buffer(data)],
    );
  }

  async getAttachment(hash: string): Promise<Uint8Array | undefined> {
    const r = await this.pool.query<{ data: Buffer }>(
      `SELECT data FROM ${this.s}.attachments WHERE hash = $1`,
      [hash],
    );
    return r.rows[0] ? bytes(r.rows[0].data) : undefined;
  }

  async deleteAttachment(hash: string): Promise<void> {
    await this.pool.query(`DELETE FROM ${this.s}.attachments WHERE hash = $1`, [hash]);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
