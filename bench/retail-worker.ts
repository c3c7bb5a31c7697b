// Child process of the retail suite: `retail-worker.ts <system> <n> <runs>` measures one system
// on a catalogue of n products and prints JSON lines; `retail-worker.ts <system> <n> memory
// <file>` loads an encoded catalogue and prints the bytes it holds.
import { holdLoaded, measureRetail, RETAIL_SYSTEMS } from './retail.suite.js';

const [system, n, runs, file] = process.argv.slice(2);
const sys = RETAIL_SYSTEMS.find((s) => s.name === system);
if (!sys || !n || !runs) throw new Error('usage: retail-worker.ts <system> <n> <runs | memory <file>>');
if (runs === 'memory') console.log(await holdLoaded(sys, Number(n), file!));
else for (const r of await measureRetail(sys, Number(n), Number(runs))) console.log(JSON.stringify(r));
