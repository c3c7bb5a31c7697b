// Child process of the text suite: `load-memory.ts <system> <file>` loads one encoded document
// and prints the bytes it holds (heap + external, see heldBytes), measured around the load.
import { readFileSync } from 'node:fs';
import { heldBytes } from './harness.js';
import { TEXT_SYSTEMS } from './text.suite.js';

const [system, file] = process.argv.slice(2);
const sys = TEXT_SYSTEMS.find((s) => s.name === system);
if (!sys || !file) throw new Error('usage: load-memory.ts <system> <file>');
const bytes = readFileSync(file);

// Warm up the system's code paths (and Loro's wasm instance) on the same input, then measure
// several copies held at once, so that allocator noise averages out.
const COPIES = 5;
sys.load(bytes);
const before = heldBytes();
const loaded = Array.from({ length: COPIES }, () => sys.load(bytes));
const after = heldBytes();
if (loaded.some((l) => l.text.length === 0) && bytes.length > 100) throw new Error('nothing loaded');
console.log(Math.round((after - before) / COPIES));
