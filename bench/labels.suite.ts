// Issue 20's labels: shelf labels rendered per second in Node, in a process of its own
// (bench/labels-worker.ts). No public figure exists to compare with; the target is ours: at
// least 1,000 strip labels with barcodes a second on one core.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { progress, type Result } from './harness.js';

const WORKER = fileURLToPath(new URL('./labels-worker.ts', import.meta.url));

export function labelsSuite(n: number, runs: number): Result[] {
  progress(`labels: ${n} in Node`);
  const out = execFileSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', WORKER, String(n), String(runs)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Result);
}
