import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'fake-indexeddb/auto';
import {
  type AcceptanceCase,
  DEFERRING_ACCEPTANCE,
  IndexedDbStorage,
  MemoryStorage,
  PostgresStorage,
  SqliteStorage,
  STORAGE_ACCEPTANCE,
  type StorageFactory,
} from '@concord/db';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';

/** Runs the acceptance suite against one adapter; `fresh()` gives a factory for a new, empty store. */
export function acceptance(
  adapter: string,
  fresh: () => StorageFactory,
  cases: readonly AcceptanceCase[] = STORAGE_ACCEPTANCE,
): void {
  describe(`storage acceptance: ${adapter}`, () => {
    for (const c of cases) it(c.name, () => c.run(fresh()));
  });
}

acceptance('memory', () => {
  const s = new MemoryStorage();
  return async () => s;
});

const dir = mkdtempSync(join(tmpdir(), 'concord-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
acceptance('SQLite', () => {
  const file = join(dir, `s${n++}.sqlite`);
  return () => SqliteStorage.open(file);
}, [...STORAGE_ACCEPTANCE, ...DEFERRING_ACCEPTANCE]);

/** The machine's PostgreSQL (trust auth); every store gets its own schema, dropped after the run. */
const PG_URL = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];
afterAll(async () => {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});
acceptance('PostgreSQL', () => {
  const schema = `concord_test_${process.pid}_${n++}`;
  schemas.push(schema);
  return () => PostgresStorage.open({ connectionString: PG_URL, schema });
});

/** IndexedDB in Node through fake-indexeddb; the real-Chromium run comes with the web page. */
acceptance('IndexedDB', () => {
  const name = `concord-test-${n++}`;
  return () => IndexedDbStorage.open(name);
});
