// How fast the machine is while the bench runs, so records made on different days can be read
// side by side: this VM's cost of touching fresh memory swings between sessions and within one
// (a 64 MB touch took 200 to 750 ms on the same day), and rows that allocate much follow it —
// the store app's gzip JSON baseline, which runs none of our code, went 214 -> 1,167 ms between
// two records — while plain arithmetic runs at the same speed throughout.
import { median } from './harness.js';

/** Bytes touched by the memory probe, and the page size it steps by. */
const TOUCHED = 64 * 1024 * 1024;
const PAGE = 4096;
const ROUNDS = 3;

export interface MachineSpeed {
  /** Milliseconds to write one byte into every page of 64 MB just allocated (the median of 3). */
  readonly freshMemoryMs: number;
  /** Milliseconds of a fixed integer loop (the median of 3): the CPU's speed alone. */
  readonly loopMs: number;
}

/** Measures the machine now (~1 s). */
export function probeMachine(): MachineSpeed {
  const memory: number[] = [];
  const loop: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Not zeroed by Node, and too large for malloc's heap: pages the kernel hands over fresh.
    const bytes = Buffer.allocUnsafeSlow(TOUCHED);
    let start = performance.now();
    for (let i = 0; i < TOUCHED; i += PAGE) bytes[i] = i & 255;
    memory.push(performance.now() - start);
    start = performance.now();
    // xorshift32: nothing to allocate, nothing the compiler can fold away (the result is used).
    let x = 2463534242;
    for (let i = 0; i < 50_000_000; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
    }
    loop.push(performance.now() - start);
    if (x === 0) throw new Error('xorshift reached 0');
  }
  return { freshMemoryMs: median(memory), loopMs: median(loop) };
}
