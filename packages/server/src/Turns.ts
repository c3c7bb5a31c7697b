import type { Timers } from '@concord/db';

/**
 * Turns of the event loop handed out one at a time, in order of asking. Work that runs in
 * slices (matching a large filter, streaming a snapshot) waits for a turn between two slices:
 * each turn runs one slice, whoever's it is, and the event loop polls for I/O between any two
 * turns. Ten sessions each sleeping `setTimeout(0)` between slices would instead all run a slice
 * in every loop iteration, and a health check that needs a few iterations would wait for
 * dozens of slices (issue 16, item 6: /healthz took 0.5 s behind ten hostile filters).
 */
export class Turns {
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly timers: Timers) {}

  /** Resolves at the caller's turn. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length === 1) this.schedule();
    });
  }

  private schedule(): void {
    this.timers.setTimeout(() => {
      const run = this.waiting.shift();
      if (this.waiting.length > 0) this.schedule();
      run?.();
    }, 0);
  }
}
