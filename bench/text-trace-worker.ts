// Child process of the text suite: `text-trace-worker.ts <system> <trace> <runs>` measures one
// system on one trace and prints its results as JSON lines.
import type { SEQUENTIAL_TRACES } from '@concord/testkit';
import { measureTrace, TEXT_SYSTEMS } from './text.suite.js';

const [system, trace, runs] = process.argv.slice(2);
const sys = TEXT_SYSTEMS.find((s) => s.name === system);
if (!sys || !trace) throw new Error('usage: text-trace-worker.ts <system> <trace> <runs>');
for (const r of measureTrace(sys, trace as (typeof SEQUENTIAL_TRACES)[number], Number(runs ?? 3))) {
  console.log(JSON.stringify(r));
}
