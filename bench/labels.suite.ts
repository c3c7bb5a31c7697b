// Issue 20's labels: shelf labels rendered per second in Node, in a process of its own
// (bench/labels-worker.ts), and the time to render 100 in Chromium (labels-browser-worker.ts).
// No public figure exists to compare with; the target is ours: at least 1,000 strip labels with
// barcodes a second on one core.
import { fileURLToPath } from 'node:url';
import { progress, type Result, runWorker } from './harness.js';

const NODE = fileURLToPath(new URL('./labels-worker.ts', import.meta.url));
const CHROMIUM = fileURLToPath(new URL('./labels-browser-worker.ts', import.meta.url));

/** `n` labels in Node, and `inBrowser` in Chromium (the page built with @concord/labels). */
export function labelsSuite(n: number, inBrowser: number, runs: number): Result[] {
  progress(`labels: ${n} in Node, ${inBrowser} in Chromium`);
  return [
    ...runWorker(NODE, [n, runs], 'labels in Node'),
    ...runWorker(CHROMIUM, [inBrowser, runs], 'labels in Chromium'),
  ];
}
