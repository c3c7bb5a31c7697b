// Issue 20's labels: shelf labels rendered per second in Node, in a process of its own
// (bench/labels-worker.ts), and the time to render 100 in Chromium (labels-browser-worker.ts).
// No public figure exists to compare with; the target is ours: at least 1,000 strip labels with
// barcodes a second on one core.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FAILURES, progress, type Result } from './harness.js';

const NODE = fileURLToPath(new URL('./labels-worker.ts', import.meta.url));
const CHROMIUM = fileURLToPath(new URL('./labels-browser-worker.ts', import.meta.url));

/** `n` labels in Node, and `inBrowser` in Chromium (the page built with @concord/labels). */
export function labelsSuite(n: number, inBrowser: number, runs: number): Result[] {
  progress(`labels: ${n} in Node, ${inBrowser} in Chromium`);
  return [...worker(NODE, n, runs), ...worker(CHROMIUM, inBrowser, runs)];
}

function worker(script: string, n: number, runs: number): Result[] {
  try {
    const out = execFileSync(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', script, String(n), String(runs)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return out
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Result);
  } catch (e) {
    // No Chromium on this machine, say: the other results still report.
    const why = String((e as { stderr?: string }).stderr ?? e).match(/(MissingService|Error)[^\n]*/)?.[0];
    const where = script === CHROMIUM ? 'Chromium' : 'Node';
    progress(`labels in ${where} failed: ${why}`);
    FAILURES.push(`labels/shelf-strip: ${where} failed (${why})`);
    return [];
  }
}
