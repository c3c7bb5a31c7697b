import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VersionVector } from '@concord/crdt';
import { Database } from '@concord/db';
import { SqliteStorage } from '@concord/db/sqlite';
import { SeededRng, seeds } from '@concord/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const WRITER = fileURLToPath(new URL('./support/crash-writer.ts', import.meta.url));
const ROUNDS = 20;
const dir = mkdtempSync(join(tmpdir(), 'concord-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until `delayMs` after its first acknowledged write, then SIGKILLs it; returns the acknowledged numbers. */
async function writeAndKill(file: string, delayMs: number): Promise<{ start: number; acked: number[] }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', WRITER, file],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (/^ack \d+$/m.test(out)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`writer exited (${code}) before writing: ${err}`)));
  });
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  await exited;
  expect(child.signalCode).toBe('SIGKILL');
  const lines = out.split('\n');
  const start = Number(/^ready (\d+)$/.exec(lines[0]!)?.[1]);
  const acked = lines.flatMap((l) => (/^ack (\d+)$/.exec(l) ? [Number(l.slice(4))] : []));
  return { start, acked };
}

describe('crash: SIGKILL while writing to SQLite', () => {
  for (const seed of seeds(1)) {
    it(`every acknowledged write survives ${ROUNDS} kills, and each transaction is whole (seed ${seed})`, async () => {
      const rng = new SeededRng(seed);
      const file = join(dir, `crash-${seed}.sqlite`);
      let acknowledged = 0;
      try {
        for (let round = 0; round < ROUNDS; round++) {
          const { start, acked } = await writeAndKill(file, rng.int(250));
          // The writer resumes after what it found on disk, which includes every acknowledged write.
          expect(start).toBeGreaterThanOrEqual(acknowledged);
          expect(acked[0]).toBe(start);
          acknowledged = acked.at(-1)! + 1;

          const db = await Database.open({ storage: await SqliteStorage.open(file) });
          const products = db.collection('products');
          for (const n of acked) expect(await products.get(`w-${n}`), `w-${n}`).toMatchObject({ n });
          // Whole transactions only: the count, the last pointer and the documents agree.
          const total = (await products.get('total'))!.count as number;
          expect(total).toBeGreaterThanOrEqual(acknowledged);
          expect(await products.count()).toBe(total + 2);
          expect((await products.get('last'))!.n).toBe(total - 1);
          expect(await products.get(`w-${total}`)).toBeUndefined();
          // The log agrees with the documents: three changes per transaction, all readable.
          expect(db.version().get(db.replicaId)).toBe(3 * total);
          const log = await db.changesSince(new VersionVector());
          expect(log.kind === 'changes' && log.changes.length).toBe(3 * total);
          await db.close();
        }
      } catch (e) {
        throw new Error(`crash test failed (replay with SEED=${seed}): ${(e as Error).message}`, {
          cause: e,
        });
      }
    });
  }
});
