// Issue 5's sync benchmarks, each in its own process (bench/sync-worker.ts, which starts the
// server it measures against in another): initial sync and reconnect on the retail catalogue
// beside gzip JSON over HTTP, and fan-out latency beside y-websocket.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progress, type Result } from './harness.js';

const WORKER = fileURLToPath(new URL('./sync-worker.ts', import.meta.url));

function worker(args: string[]): Result[] {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', WORKER, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 26,
  });
  return out
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Result);
}

export function syncSuite(sizes: readonly number[], clients: number, runs: number): Result[] {
  const results: Result[] = [];
  for (const n of sizes) {
    progress(`sync/${n / 1000}k`);
    results.push(...worker(['initial', String(n), String(runs)]));
  }
  for (const system of ['concord', 'yjs']) {
    progress(`fan-out/${clients} ${system}`);
    results.push(...worker(['fanout', system, String(clients), '50']));
  }
  return results;
}
