// Issue 18's feed pipeline on NATS JetStream and PostgreSQL (bench/feed-worker.ts, which runs
// `concord serve --ingest` and the stores in processes of their own): the full feed's
// throughput and the hourly update's latency to the stores.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FAILURES, progress, type Result } from './harness.js';

const WORKER = fileURLToPath(new URL('./feed-worker.ts', import.meta.url));

export function feedSuite(n: number, stores: number): Result[] {
  progress(`feed/${n / 1000}k with ${stores} stores`);
  try {
    const out = execFileSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', WORKER, String(n), String(stores)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 },
    );
    return out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Result);
  } catch (e) {
    // No NATS or PostgreSQL on this machine, say: the other suites still report.
    const why = String((e as { stderr?: string }).stderr ?? e).match(/(MissingService|Error)[^\n]*/)?.[0];
    progress(`feed/${n / 1000}k failed: ${why}`);
    FAILURES.push(`feed/${n / 1000}k: failed (${why})`);
    return [];
  }
}
