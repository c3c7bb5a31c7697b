import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'fake-indexeddb/auto';
import { replicaId } from '@concord/crdt';
import {
  type AcceptanceCase,
  DEFERRING_ACCEPTANCE,
  IndexedDbStorage,
  MemoryStorage,
  STORAGE_ACCEPTANCE,
  type StorageFactory,
} from '@concord/db';
import { PostgresStorage } from '@concord/db/postgres';
import { SqliteStorage } from '@concord/db/sqlite';
import { requirePostgres } from '@concord/testkit';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

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
const postgres = requirePostgres();
postgres.catch(() => undefined);
const schemas: string[] = [];
afterAll(async () => {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: await postgres });
  await client.connect();
  for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await client.end();
});
acceptance('PostgreSQL', () => {
  const schema = `concord_test_${process.pid}_${n++}`;
  schemas.push(schema);
  return async () => PostgresStorage.open({ connectionString: await postgres, schema });
});

/** IndexedDB in Node through fake-indexeddb; the real-Chromium run comes with the web page. */
acceptance('IndexedDB', () => {
  const name = `concord-test-${n++}`;
  return () => IndexedDbStorage.open(name);
}, [...STORAGE_ACCEPTANCE, ...DEFERRING_ACCEPTANCE]);

it('IndexedDB stores a view of a larger buffer as its own bytes, not the whole buffer', async () => {
  const storage = await IndexedDbStorage.open(`concord-test-${n++}`);
  const buffer = new Uint8Array(1 << 20).fill(7);
  await storage.commit({
    changes: [{ replica: replicaId('r'), seq: 1, bytes: buffer.subarray(10, 20) }],
    docs: [{ collection: 'c', id: 'd', state: buffer.subarray(100, 110) }],
    meta: new Map(),
  });
  const { docs } = await storage.load();
  const [change] = await storage.changes(replicaId('r'), 0);
  for (const bytes of [docs[0]!.state, change!.bytes]) {
    expect([...bytes]).toEqual(Array(10).fill(7));
    expect(bytes.buffer.byteLength).toBe(10);
  }
  await storage.close();
});

it('memory storage folds the documents of its commits in order, however many it holds back', async () => {
  const storage = new MemoryStorage();
  const parity = (id: string) => (Number(id.slice(1)) % 2 ? 'odd' : 'even');
  const round = (r: number) =>
    storage.commit({
      changes: [],
      docs: Array.from({ length: 10_000 }, (_, i) => ({
        collection: parity(`d${i}`),
        id: `d${i}`,
        // Every tenth document removed (an empty state) in round 13, written again in 14.
        state: new Uint8Array(r === 13 && i % 10 === 0 ? [] : [r, i % 256]),
      })),
      meta: new Map(),
    });
  // Fourteen commits rewriting the same 10,000 documents: 140,000 records, past the point where
  // pending records are folded (2^17) at the last of them.
  for (let r = 0; r < 14; r++) await round(r);
  let { docs } = await storage.load();
  expect(docs).toHaveLength(9_000);
  expect(docs.every((d) => d.state[0] === 13 && d.collection === parity(d.id))).toBe(true);
  await round(14);
  ({ docs } = await storage.load());
  expect(docs).toHaveLength(10_000);
  expect(docs.every((d) => d.state[0] === 14 && d.collection === parity(d.id))).toBe(true);
});
