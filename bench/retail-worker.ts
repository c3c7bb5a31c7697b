// Child process of the retail suite: `retail-worker.ts <system> <n> <runs> [with-memory]` measures
// one system on a catalogue of n products and prints JSON lines (with the memory a cold load
// holds, measured in yet another process, if asked); `retail-worker.ts <system> <n> memory
// <file>` loads an encoded catalogue and prints the bytes it holds.
// `retail-worker.ts database <n> <runs>` measures what only Concord's database does.
import { holdLoaded, measureDatabase, measureRetail, RETAIL_SYSTEMS } from './retail.suite.js';

const [system, n, runs, fourth] = process.argv.slice(2);
const sys = RETAIL_SYSTEMS.find((s) => s.name === system);
if ((!sys && system !== 'database') || !n || !runs)
  throw new Error('usage: retail-worker.ts <system | database> <n> <runs [with-memory] | memory <file>>');
const results = !sys
  ? await measureDatabase(Number(n), Number(runs))
  : runs === 'memory'
    ? [await holdLoaded(sys, Number(n), fourth!)]
    : await measureRetail(sys, Number(n), Number(runs), fourth === 'with-memory');
for (const r of results) console.log(typeof r === 'number' ? r : JSON.stringify(r));
