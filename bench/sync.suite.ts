// Issue 5's sync benchmarks, each in its own process (bench/sync-worker.ts, which starts the
// server it measures against in another): initial sync and reconnect on the retail catalogue
// beside gzip JSON over HTTP, and fan-out latency beside y-websocket (the median of `runs`), for
// one server and for three nodes of a deployment (NATS JetStream and PostgreSQL).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FAILURES, medians, progress, type Result } from './harness.js';

const WORKER = fileURLToPath(new URL('./sync-worker.ts', import.meta.url));

function worker(args: string[]): Result[] {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', '--conditions=source', '--import', 'tsx', WORKER, ...args],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 26,
    },
  );
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
    progress(`initial-sync/20 stores × ${n / 1000}k`);
    results.push(...worker(['stores', String(n), '20']));
  }
  // A p99 over 50 writes rests on a few slow rounds (a collection, a neighbour on the machine):
  // each system runs `runs` times, interleaved so that drift hits both alike, and its median is kept.
  const fanout: Result[] = [];
  const failed = new Set<string>();
  for (let run = 0; run < runs; run++)
    for (const system of ['concord', 'concord-3-nodes', 'yjs']) {
      if (failed.has(system)) continue;
      progress(`fan-out/${clients} ${system} (run ${run + 1} of ${runs})`);
      try {
        fanout.push(...worker(['fanout', system, String(clients), '50']));
      } catch (e) {
        // Three nodes need NATS and PostgreSQL: without them the other rows still report.
        failed.add(system);
        FAILURES.push(`fan-out/${clients}: ${system} failed (${String(e).split('\n')[0]})`);
      }
    }
  results.push(...medians(fanout));
  // Acknowledged writes per second, one durable server beside three nodes, interleaved.
  const writes: Result[] = [];
  for (let run = 0; run < runs; run++)
    for (const system of ['concord-1-node', 'concord-3-nodes']) {
      if (failed.has(system)) continue;
      progress(`writes/30 clients ${system} (run ${run + 1} of ${runs})`);
      try {
        writes.push(...worker(['writes', system, '30', '10']));
      } catch (e) {
        failed.add(system);
        FAILURES.push(`writes/30 clients: ${system} failed (${String(e).split('\n')[0]})`);
      }
    }
  results.push(...medians(writes));
  return results;
}
