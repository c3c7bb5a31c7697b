import { SyncError } from '@concord/db';
import { pgIdent, SCHEMA_LOCK } from '@concord/db/internal';
import type pg from 'pg';
import type { Bindings } from './ReplicaBindings.js';

/**
 * Replica ↔ principal bindings shared by the nodes of a deployment (DESIGN.md: PostgreSQL holds
 * them), in `<schema>.replica_bindings`: the first principal to connect under a replica id on
 * any node owns it on every node. A claim is one `INSERT … ON CONFLICT DO NOTHING`, so two
 * nodes claiming at once agree on one owner; owners are cached (a binding never changes).
 */
export class PostgresBindings implements Bindings {
  private readonly owners = new Map<string, string>();
  private readonly table: string;

  private constructor(
    private readonly pool: pg.Pool,
    schema: string,
  ) {
    this.table = `${pgIdent(schema)}.replica_bindings`;
  }

  static async open(pool: pg.Pool, schema: string): Promise<PostgresBindings> {
    const b = new PostgresBindings(pool, schema);
    // One script, one transaction, under the schema lock: the nodes of a deployment start together.
    await pool.query(`${SCHEMA_LOCK}
      CREATE SCHEMA IF NOT EXISTS ${pgIdent(schema)};
      CREATE TABLE IF NOT EXISTS ${b.table} (replica text PRIMARY KEY, subject text NOT NULL);`);
    return b;
  }

  async bind(replica: string, subject: string): Promise<void> {
    let owner = this.owners.get(replica);
    if (owner === undefined) {
      await this.pool.query(
        `INSERT INTO ${this.table} (replica, subject) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [replica, subject],
      );
      const { rows } = await this.pool.query(`SELECT subject FROM ${this.table} WHERE replica = $1`, [
        replica,
      ]);
      owner = rows[0].subject as string;
      this.owners.set(replica, owner);
    }
    if (owner !== subject)
      throw new SyncError('BAD_REPLICA', `replica ${replica} belongs to another principal`);
  }
}
