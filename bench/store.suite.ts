// Issue 20's store app at the seed's scale: the page's store view (`?store=s1`) holding the
// retail catalogue in Debian's Chromium (bench/store-browser-worker.ts), beside the same tab
// fetching and parsing the catalogue as gzip JSON.
import { fileURLToPath } from 'node:url';
import { progress, type Result, runWorker } from './harness.js';

const WORKER = fileURLToPath(new URL('./store-browser-worker.ts', import.meta.url));

export function storeAppSuite(n: number, runs: number): Result[] {
  progress(`store app: ${n} products in Chromium`);
  return runWorker(WORKER, [n, runs], `store-app/${n / 1000}k`);
}
