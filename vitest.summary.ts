import type { Reporter, TestModule } from 'vitest/node';

/** Ends the run with the plain `N passed, N failed` line that CI reads, whatever else printed. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const count = { passed: 0, failed: 0, skipped: 0, pending: 0 };
    let failedModules = 0; // a file that failed to load has no failed test of its own
    for (const m of testModules) {
      const before = count.failed;
      for (const t of m.children.allTests()) count[t.result().state]++;
      if (m.state() === 'failed' && count.failed === before) failedModules++;
    }
    const skipped = count.skipped + count.pending;
    console.log(
      `\n${count.passed} passed, ${count.failed + failedModules} failed${skipped ? `, ${skipped} skipped` : ''}`,
    );
  }
}
