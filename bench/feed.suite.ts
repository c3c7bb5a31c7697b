// Issue 18's feed pipeline on NATS JetStream and PostgreSQL (bench/feed-worker.ts, which runs
// `concord serve --ingest` and the stores in processes of their own): the full feed's
// throughput and the hourly update's latency to the stores.
import { fileURLToPath } from 'node:url';
import { progress, type Result, runWorker } from './harness.js';

const WORKER = fileURLToPath(new URL('./feed-worker.ts', import.meta.url));

export function feedSuite(n: number, stores: number): Result[] {
  progress(`feed/${n / 1000}k with ${stores} stores`);
  return runWorker(WORKER, [n, stores], `feed/${n / 1000}k`);
}
