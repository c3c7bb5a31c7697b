import { SCHEMA_LOCK } from '@concord/db/internal';
import type pg from 'pg';
import { type FeedMessage, latestPerProduct } from './FeedConsumer.js';
import type { FeedRecord } from './FeedRecord.js';

/** The SQL type of a projected column, and the JSON values it takes. */
export type ColumnType = 'text' | 'numeric' | 'bigint' | 'boolean' | 'jsonb';

export interface ProjectionOptions {
  /** The PostgreSQL schema of the table (default `public`). */
  readonly schema?: string;
  /** The table's name (default `products`). */
  readonly table?: string;
  /** Top-level fields that get a column of their own; every field is in `data` (jsonb) too. */
  readonly columns?: Readonly<Record<string, ColumnType>>;
}

const NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * Seed 000's "current implementation": the feed as a plain SQL table that existing systems
 * query — one row per product, its id the primary key, the mapped fields as columns and the
 * whole product as `data` (jsonb). Idempotent: every row keeps the stream sequence of the
 * message that wrote it, so a redelivered or older message never regresses a row, and a deleted
 * product's sequence is kept in `<table>_deleted` so an older upsert cannot bring it back.
 */
export class SqlProjection {
  private readonly table: string;
  private readonly deleted: string;
  private readonly columns: ReadonlyArray<[string, ColumnType]>;
  /** The batch upsert, built once from the mapping. */
  private readonly upsert: string;

  constructor(
    private readonly pool: pg.Pool,
    options: ProjectionOptions = {},
  ) {
    const schema = options.schema ?? 'public';
    const table = options.table ?? 'products';
    this.columns = Object.entries(options.columns ?? {});
    for (const name of [schema, table])
      if (!NAME.test(name)) throw new TypeError(`not a usable SQL name: ${name}`);
    for (const [c] of this.columns)
      if (!NAME.test(c) || ['id', 'seq', 'data'].includes(c))
        throw new TypeError(`not a usable column name: ${c}`);
    this.table = `"${schema}"."${table}"`;
    this.deleted = `"${schema}"."${table}_deleted"`;
    this.upsert = this.upsertSql();
  }

  /** Creates the schema and the tables if they are not there. */
  async ensure(): Promise<void> {
    const schema = this.table.split('.')[0]!;
    const cols = this.columns.map(([c, t]) => `, "${c}" ${t}`).join('');
    // One script, one transaction, under the schema lock: consumers on several nodes start together.
    await this.pool.query(`${SCHEMA_LOCK}
      CREATE SCHEMA IF NOT EXISTS ${schema};
      CREATE TABLE IF NOT EXISTS ${this.table} (id text PRIMARY KEY, seq bigint NOT NULL${cols}, data jsonb NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.deleted} (id text PRIMARY KEY, seq bigint NOT NULL);`);
  }

  /** Why `record` cannot be projected (a field of the wrong type for its column); undefined if it can. */
  check(record: FeedRecord): string | undefined {
    if (!record.product) return undefined;
    for (const [c, t] of this.columns) {
      const v = record.product[c];
      if (v === undefined || v === null || t === 'jsonb') continue;
      const ok =
        t === 'text'
          ? typeof v === 'string'
          : t === 'boolean'
            ? typeof v === 'boolean'
            : typeof v === 'number' && Number.isFinite(v) && (t === 'numeric' || Number.isSafeInteger(v));
      if (!ok) return `${c}: ${JSON.stringify(v)} is not ${t}`;
    }
    return undefined;
  }

  /** Applies a batch in one transaction: the latest message per product wins, older rows never win. */
  async apply(batch: readonly FeedMessage[]): Promise<void> {
    const latest = latestPerProduct(batch);
    const upserts = latest.filter((m) => m.record.product);
    const deletes = latest.filter((m) => !m.record.product);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (upserts.length > 0) await client.query(this.upsert, [this.upsertRows(upserts)]);
      if (deletes.length > 0) {
        const ids = deletes.map((m) => m.record.id);
        const seqs = deletes.map((m) => m.seq);
        await client.query(
          `DELETE FROM ${this.table} t USING unnest($1::text[], $2::bigint[]) AS x(id, seq) WHERE t.id = x.id AND t.seq < x.seq`,
          [ids, seqs],
        );
        await client.query(
          `INSERT INTO ${this.deleted} (id, seq) SELECT * FROM unnest($1::text[], $2::bigint[])
           ON CONFLICT (id) DO UPDATE SET seq = excluded.seq WHERE ${this.deleted}.seq < excluded.seq`,
          [ids, seqs],
        );
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  /** The rows the table holds (a test's and an operator's view). */
  async count(): Promise<number> {
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n FROM ${this.table}`);
    return rows[0].n as number;
  }

  /**
   * One statement for the batch, its rows one JSON parameter that PostgreSQL takes apart
   * (`jsonb_to_recordset`): a column of the mapping from the product's field of that name, the
   * whole product as `data`. Arrays per column made the pg client escape every value into an
   * array literal — more of the node's CPU than the statement cost PostgreSQL.
   */
  private upsertSql(): string {
    const quoted = ['id', 'seq', ...this.columns.map(([c]) => c), 'data'].map((n) => `"${n}"`);
    // A mapped field as its column's type: jsonb as it is, the others from the value's text.
    const fields = this.columns.map(([c, t]) =>
      t === 'jsonb' ? `v.data -> '${c}'` : `(v.data ->> '${c}')::${t}`,
    );
    const updates = quoted.slice(1).map((q) => `${q} = excluded.${q}`);
    return `INSERT INTO ${this.table} (${quoted.join(', ')})
      SELECT ${['v.id', 'v.seq', ...fields, 'v.data'].join(', ')}
      FROM jsonb_to_recordset($1::jsonb) AS v(id text, seq bigint, data jsonb)
      WHERE NOT EXISTS (SELECT 1 FROM ${this.deleted} d WHERE d.id = v.id AND d.seq > v.seq)
      ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')} WHERE ${this.table}.seq < excluded.seq`;
  }

  private upsertRows(upserts: readonly FeedMessage[]): string {
    return JSON.stringify(upserts.map((m) => ({ id: m.record.id, seq: m.seq, data: m.record.product })));
  }
}
